"""Fill a database with realistic synthetic patients and plans, fast, with bulk inserts.

    python -m bench.datagen --url sqlite:///bench/results/bench.sqlite3 --patients 100000

Every row is built as a plain dict and written with Core ``insert()`` in large batches (SQLAlchemy
turns them into multi-row INSERTs), so 100,000 patients take well under two minutes. The data
is deterministic for a given seed. All generated accounts share one password,
``bench-password-2026``.
"""

import argparse
import json
import random
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, insert, text

from portal.auth.services import hash_password
from portal.conditions import CONDITIONS
from portal.models import (
    AccessGrant,
    AuditEvent,
    Base,
    CarePlan,
    Condition,
    ConsentRecord,
    Contact,
    CrisisStep,
    Goal,
    NeedsSection,
    Organisation,
    Patient,
    PlanVersion,
    ReviewMeeting,
    User,
    UsualState,
    patient_conditions,
)
from portal.nhs_number import synthetic

PASSWORD = "bench-password-2026"  # noqa: S105 - synthetic accounts only
MFA_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH23"  # staff's two-step key (synthetic)
BATCH = 5000
PATIENTS_PER_PRACTICE = 8000
DOMAINS = ["health", "personal", "family", "social", "home", "economic", "educational",
           "mental_health", "cultural"]
ETHNICITY = ["white_british", "white_other", "asian_indian", "asian_pakistani",
             "asian_bangladeshi", "black_african", "black_caribbean", "mixed_other", "chinese",
             "other", "not_stated"]
LANGS = ["en"] * 12 + ["cy", "pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "gu", "so", "zh_Hans"]
LEVELS = ["red", "amber", "amber", "green"]
AUDIT_ACTIONS = ["plan.view"] * 6 + ["crisis.view", "goal.edit", "pdf.plan", "auth.sign_in"]


def _cell(value):
    return json.dumps(value) if isinstance(value, dict) else value


class Writer:
    """Buffers rows per table and flushes them in batches, in dependency order."""

    def __init__(self, conn):
        self.conn = conn
        self.copy = conn.dialect.name == "postgresql"  # COPY is several times faster there
        self.rows: dict = {}
        self.counts: dict[str, int] = {}

    def add(self, table, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)
        if len(self.rows[table]) >= BATCH:
            self.flush()

    def _copy(self, table, keys: list[str], batch: list[dict]) -> None:
        # COPY skips the column defaults that insert() would apply: fill them in here.
        defaults = {
            c.key: (c.default.arg if c.default.is_scalar else c.default.arg(None))
            for c in table.columns
            if c.key not in keys and c.default is not None and not c.primary_key
        }
        keys = keys + sorted(defaults)
        batch = [{**defaults, **row} for row in batch]
        columns = ", ".join(f'"{k}"' for k in keys)
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in batch:
                copy.write_row([_cell(row.get(k)) for k in keys])

    def flush(self) -> None:
        for table in Base.metadata.sorted_tables:
            batch = self.rows.pop(table, None)
            if batch:
                keys = sorted(set().union(*batch))  # the same columns in every row
                if self.copy:
                    self._copy(table, keys, batch)
                else:
                    self.conn.execute(insert(table), [{k: r.get(k) for k in keys} for r in batch])
                self.counts[table.name] = self.counts.get(table.name, 0) + len(batch)


def generate(url: str, patients: int, seed: int = 2026, create: bool = True) -> dict[str, int]:
    rng = random.Random(seed)
    engine = create_engine(url)
    if create:
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
    password_hash = hash_password(PASSWORD)
    now = datetime.now(UTC)
    today = now.date()
    t = {m.__name__: m.__table__ for m in (
        Organisation, User, Patient, CarePlan, NeedsSection, Goal, CrisisStep, UsualState,
        Contact, ReviewMeeting, PlanVersion, AccessGrant, ConsentRecord, AuditEvent, Condition,
    )}
    with engine.begin() as conn:
        if url.startswith("sqlite"):
            conn.execute(text("PRAGMA foreign_keys=OFF"))
        w = Writer(conn)
        for c in CONDITIONS:
            w.add(t["Condition"], {"code": c.code, "name": c.name})
        practices = max(1, patients // PATIENTS_PER_PRACTICE)
        user_id = 0
        staff_by_org: dict[int, list[int]] = {}
        for org in range(1, practices + 1):
            w.add(t["Organisation"], {"id": org, "ods_code": f"B{org:05d}",
                                      "name": f"Practice {org}", "created_at": now})
            staff_by_org[org] = []
            for role in ("professional", "professional", "professional"):
                user_id += 1
                staff_by_org[org].append(user_id)
                w.add(t["User"], {"id": user_id, "email": f"staff{user_id}@bench.invalid",
                                  "password_hash": password_hash, "role": role,
                                  "display_name": f"Nurse {user_id}", "organisation_id": org,
                                  "session_token": f"t{user_id}", "can_audit": False,
                                  "active": True, "mfa_enabled": True,
                                  "mfa_secret": MFA_SECRET, "created_at": now})
        w.add(t["User"], {"id": user_id + 1, "email": "commissioner@bench.invalid",
                          "password_hash": password_hash, "role": "commissioner",
                          "display_name": "Commissioner", "session_token": "tc",
                          "can_audit": False, "active": True, "mfa_enabled": True,
                          "mfa_secret": MFA_SECRET,
                          "created_at": now})
        user_id += 1
        ids = {"goal": 0, "step": 0, "need": 0, "contact": 0, "meeting": 0, "version": 0,
               "audit": 0, "grant": 0}
        codes = [c.code for c in CONDITIONS]
        for pid in range(1, patients + 1):
            org = 1 + (pid - 1) % practices
            nurse = rng.choice(staff_by_org[org])
            has_account = rng.random() < 0.8
            patient_user = None
            if has_account:
                user_id += 1
                patient_user = user_id
                w.add(t["User"], {"id": user_id, "email": f"patient{pid}@bench.invalid",
                                  "password_hash": password_hash, "role": "patient",
                                  "display_name": f"Patient {pid}", "session_token": f"p{pid}",
                                  "can_audit": False, "active": True, "mfa_enabled": False,
                                  "created_at": now})
            assessed = today - timedelta(days=rng.randint(10, 3000))
            w.add(t["Patient"], {
                "id": pid, "user_id": patient_user, "organisation_id": org,
                "nhs_number": synthetic(pid, start=100_000_000, step=3),
                "given_name": "Pat", "family_name": f"Ient{pid}",
                "date_of_birth": date(1930, 1, 1) + timedelta(days=rng.randint(0, 25000)),
                "sex": rng.choice(["female", "male"]), "ethnicity_category": rng.choice(ETHNICITY),
                "preferred_language": rng.choice(LANGS), "interpreter_needed": False,
                "initial_assessment_date": assessed, "care_team_consent": rng.random() < 0.9,
                "created_at": now})
            for code in rng.sample(codes, rng.choice([1, 1, 2, 3])):
                w.add(patient_conditions, {"patient_id": pid, "condition_code": code})
            reviewed = today - timedelta(days=rng.randint(0, 500))
            w.add(t["CarePlan"], {
                "id": pid, "patient_id": pid, "status": "active", "named_contact_id": nurse,
                "last_review_date": reviewed, "next_review_date": reviewed + timedelta(days=365),
                "complex_needs": False, "review_interval_months": 12,
                "preferred_format": "electronic", "contingency_reviewed_on": reviewed,
                "patient_feedback": "I felt listened to.", "agreed_version": 1, "version": 1,
                "created_at": now, "updated_at": now})
            common = {"plan_id": pid, "pending_review": False, "language": "en",
                      "updated_at": now, "version": 1, "updated_by_id": nurse}
            for domain in rng.sample(DOMAINS, rng.randint(3, 9)):
                ids["need"] += 1
                w.add(t["NeedsSection"], {"id": ids["need"], "domain": domain,
                                          "text": f"In my own words about {domain}.", **common})
            for g in range(rng.randint(1, 5)):
                ids["goal"] += 1
                agreed = g > 0 or rng.random() < 0.8
                w.add(t["Goal"], {"id": ids["goal"], "title": f"Goal {g + 1}",
                                  "why_it_matters": "So I can stay independent.",
                                  "steps": "Walk every day with help from my family.",
                                  "status": "agreed" if agreed else "proposed",
                                  "proposed_by_id": patient_user, "agreed_by_id": nurse,
                                  "agreed_at": now if agreed else None, "created_at": now,
                                  **common})
            for s in range(rng.randint(1, 5)):
                ids["step"] += 1
                w.add(t["CrisisStep"], {"id": ids["step"], "level": LEVELS[s % 4],
                                        "signs": "More breathless than usual.",
                                        "actions": "Start the rescue pack; ring the practice.",
                                        "who_to_call": "GP practice", "position": s, **common})
            w.add(t["UsualState"], {"id": pid, "mobility": "Walks with a stick",
                                    "breathing": "Breathless on stairs", "medicines": "Inhalers",
                                    "allergies": "None known", **common})
            for c in range(2):
                ids["contact"] += 1
                w.add(t["Contact"], {"id": ids["contact"], "kind": "next_of_kin" if c == 0
                                     else "practice", "name": f"Contact {c}",
                                     "phone": "07700 900123", "position": c, **common})
            ids["version"] += 1
            w.add(t["PlanVersion"], {"id": ids["version"], "plan_id": pid, "number": 1,
                                     "snapshot": {"goals": []}, "agreed_at": now,
                                     "agreed_by_id": nurse})
            ids["meeting"] += 1
            w.add(t["ReviewMeeting"], {"id": ids["meeting"], "plan_id": pid, "status": "held",
                                       "held_on": reviewed, "attendees": "Patient, nurse",
                                       "notes": "Reviewed.", "patient_feedback": "Good.",
                                       "recorded_by_id": nurse, "plan_version_id": ids["version"],
                                       "location": "", "created_at": now})
            w.add(t["ConsentRecord"], {"patient_id": pid, "share_with_care_team": True,
                                       "recorded_by_id": nurse, "note": "", "created_at": now})
            for _ in range(rng.randint(2, 18)):
                ids["audit"] += 1
                w.add(t["AuditEvent"], {"id": ids["audit"], "actor_id": patient_user or nurse,
                                        "patient_id": pid, "action": rng.choice(AUDIT_ACTIONS),
                                        "detail": "", "occurred_at": now - timedelta(
                                            minutes=rng.randint(0, 500000))})
        w.flush()
        if engine.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement:
                    name = table.name  # from the metadata, not from input
                    statement = (
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                        f"COALESCE((SELECT MAX(id) FROM {name}), 1))"
                    )
                    conn.execute(text(statement))
    # Planner statistics for what was just loaded, as after any bulk load: without them
    # PostgreSQL guesses thousands of rows per plan and plans parallel scans for one plan's rows.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return w.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///bench/results/bench.sqlite3")
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = generate(args.url, args.patients)
    elapsed = time.perf_counter() - started
    print(f"{args.patients:,} patients, {sum(counts.values()):,} rows in {elapsed:.1f} s "
          f"({sum(counts.values()) / elapsed:,.0f} rows/s)")
    for name, count in sorted(counts.items()):
        print(f"  {name:22} {count:>12,}")


if __name__ == "__main__":
    main()
