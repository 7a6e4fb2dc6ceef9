"""Time the commissioner's monthly report over many synthetic patients.

    python -m bench.report_bench --patients 100000
    python -m bench.report_bench --patients 1000000 \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/report_bench --reset

Fills the database with Core ``insert()`` of lists of dicts (deterministic for a seed) and
runs ANALYZE. Then, timing each step: the report counted live (as for a month without a
summary), ``summarise`` of the month (the nightly job's work for one month), the report read
from the summary (by the service, and as a commissioner's request for the page and the CSV,
which is what the 3-second target is about), and the live survey and audit counts within it.
Prints the published figures, the timings and the load average (the machine may be shared).
Without ``--url`` a throwaway SQLite file is used. ``--reset`` drops and recreates every
portal table first (refused otherwise if the database already holds patients); ``--reuse``
reports on the patients already there (any stored summaries are removed first).
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, func, insert, select, text
from sqlalchemy.exc import OperationalError

from portal.conditions import CONDITIONS
from portal.models import (
    Base,
    CarePlan,
    Condition,
    ConsentRecord,
    CrisisStep,
    Goal,
    MonthlySummary,
    MonthlySummaryCell,
    NeedsSection,
    Organisation,
    Patient,
    PlanAudit,
    PlanAuditItem,
    ReviewMeeting,
    SurveyResponse,
    User,
    UsualState,
    patient_conditions,
)

BATCH = 5000
PATIENTS_PER_ORG = 4000
DOMAINS = [
    "health",
    "personal",
    "family",
    "social",
    "home",
    "economic",
    "educational",
    "mental_health",
    "cultural",
]
ETHNICITY = (
    ["white_british"] * 14
    + ["white_irish", "white_other", "white_other", "asian_indian", "asian_pakistani"]
    + ["asian_bangladeshi", "black_african", "black_caribbean", "mixed_other", "chinese"]
    + ["other", "not_stated", "not_stated"]
)
LANGUAGES = ["en"] * 16 + ["cy", "pl", "ro", "pa", "ur", "pt", "es", "ar", "bn", "gu", "so", "zh"]
SEXES = ["female"] * 50 + ["male"] * 48 + ["other", "unknown"]
FIRST_DAY = date(2009, 1, 1)  # registrations from here up to the default report month
LAST_DAY = date(2011, 3, 31)


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(
        seconds=rng.randrange(8 * 3600, 18 * 3600)
    )


class Writer:
    """Buffers rows per table and writes them in batches of multi-row INSERTs, parents first."""

    def __init__(self, conn):
        self.conn = conn
        self.rows: dict = {}
        self.counts: dict[str, int] = {}

    def add(self, table, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)
        if len(self.rows[table]) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for table in Base.metadata.sorted_tables:
            batch = self.rows.pop(table, None)
            if batch:
                self.conn.execute(insert(table), batch)
                self.counts[table.name] = self.counts.get(table.name, 0) + len(batch)


def generate(engine, patients: int, seed: int = 2010) -> dict[str, int]:
    """Organisations, staff, patients with conditions, plans and all the report reads."""
    rng = random.Random(seed)
    codes = [c.code for c in CONDITIONS]
    orgs = max(2, -(-patients // PATIENTS_PER_ORG))
    user_id = plan_id = meeting_id = audit_id = 0
    with engine.begin() as conn:
        if not conn.scalar(select(func.count()).select_from(Condition)):
            conn.execute(insert(Condition), [{"code": c.code, "name": c.name} for c in CONDITIONS])
        w = Writer(conn)
        staff: dict[int, list[int]] = {}
        for org in range(1, orgs + 1):
            w.add(
                Organisation.__table__,
                {"id": org, "ods_code": f"B{org:05d}", "name": f"Practice {org}"},
            )
            staff[org] = []
            for k in range(3):
                user_id += 1
                staff[org].append(user_id)
                w.add(User.__table__, _user(user_id, "professional", f"staff{org}-{k}"))
        w.flush()
        for pid in range(1, patients + 1):
            org = 1 + pid % orgs
            registered = FIRST_DAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days))
            assessed = registered + timedelta(days=rng.randrange(0, 15))
            online = rng.random() < 0.55
            if online:
                user_id += 1
                w.add(User.__table__, _user(user_id, "patient", f"p{pid}"))
            w.add(
                Patient.__table__,
                {
                    "id": pid,
                    "user_id": user_id if online else None,
                    "organisation_id": org,
                    "nhs_number": f"{pid:010d}",
                    "given_name": "Synthetic",
                    "family_name": f"Patient {pid}",
                    "date_of_birth": date(1920, 1, 1) + timedelta(days=rng.randrange(30000)),
                    "sex": rng.choice(SEXES),
                    "ethnicity_category": rng.choice(ETHNICITY),
                    "preferred_language": rng.choice(LANGUAGES),
                    "interpreter_needed": False,
                    "initial_assessment_date": assessed,
                    "care_team_consent": True,
                    "created_at": _at(registered, rng),
                },
            )
            for code in rng.sample(codes, rng.choice([1, 1, 1, 2, 2, 3])):
                w.add(patient_conditions, {"patient_id": pid, "condition_code": code})
            if rng.random() < 0.97:
                w.add(
                    ConsentRecord.__table__,
                    {
                        "patient_id": pid,
                        "share_with_care_team": rng.random() < 0.95,
                        "note": "",
                        "created_at": _at(assessed + timedelta(days=rng.randrange(40)), rng),
                    },
                )
            if rng.random() > 0.96:
                continue
            plan_id += 1
            started = assessed + timedelta(days=rng.choice([3, 10, 20, 27, 35, 60, 120]))
            reviews = [started + timedelta(days=rng.randrange(0, 20))]
            while reviews[-1] + timedelta(days=380) <= LAST_DAY and rng.random() < 0.9:
                reviews.append(reviews[-1] + timedelta(days=rng.randrange(340, 380)))
            w.add(
                CarePlan.__table__,
                {
                    "id": plan_id,
                    "patient_id": pid,
                    "status": "active",
                    "named_contact_id": rng.choice(staff[org]) if rng.random() < 0.96 else None,
                    "complex_needs": False,
                    "review_interval_months": 12,
                    "preferred_format": "electronic" if online else "paper",
                    "paper_copy_given_on": None if online or rng.random() < 0.1 else started,
                    "contingency_reviewed_on": reviews[-1] if rng.random() < 0.95 else None,
                    "agreed_version": 1,
                    "version": 1,
                    "created_at": _at(started - timedelta(days=2), rng),
                    "updated_at": _at(started, rng),
                },
            )
            common = {"pending_review": False, "language": "en", "version": 1}
            domains = DOMAINS if rng.random() < 0.93 else rng.sample(DOMAINS, 5)
            for domain in domains:
                w.add(
                    NeedsSection.__table__,
                    {"plan_id": plan_id, "domain": domain, "text": "Written", **common},
                )
            for held_on in reviews if rng.random() < 0.96 else []:
                meeting_id += 1
                w.add(
                    ReviewMeeting.__table__,
                    {
                        "id": meeting_id,
                        "plan_id": plan_id,
                        "status": "held",
                        "held_on": held_on,
                        "patient_feedback": "Felt listened to" if rng.random() < 0.95 else "",
                        "created_at": _at(held_on, rng),
                    },
                )
                if rng.random() < 0.3:
                    w.add(
                        SurveyResponse.__table__,
                        {
                            "meeting_id": meeting_id,
                            "patient_id": pid,
                            "organisation_id": org,
                            "involved": rng.choice([3, 4, 4, 5, 5]),
                            "agreed_plan": rng.choice([2, 4, 4, 5, 5]),
                            "confidence": rng.choice([1, 3, 3, 4, 5]),
                            "comment": "",
                            "created_at": _at(held_on + timedelta(days=2), rng),
                        },
                    )
            for _ in range(rng.choice([1, 1, 2, 2, 3])):
                status = rng.choice(["agreed"] * 6 + ["proposed", "achieved", "withdrawn"])
                w.add(
                    Goal.__table__,
                    {
                        "plan_id": plan_id,
                        "title": "Walk to the shops",
                        "why_it_matters": "",
                        "steps": "",
                        "status": status,
                        "agreed_at": None if status == "proposed" else _at(started, rng),
                        "created_at": _at(started, rng),
                        **common,
                    },
                )
            for position in range(rng.choice([1, 1, 2, 2])):
                w.add(
                    CrisisStep.__table__,
                    {
                        "plan_id": plan_id,
                        "level": "red",
                        "signs": "Breathless at rest",
                        "actions": "Ring 999",
                        "who_to_call": "999",
                        "position": position,
                        **common,
                    },
                )
            if rng.random() < 0.96:
                w.add(
                    UsualState.__table__,
                    {"plan_id": plan_id, "mobility": "Walks with a stick", **common},
                )
            if rng.random() < 0.01:
                audit_id += 1
                w.add(
                    PlanAudit.__table__,
                    {
                        "id": audit_id,
                        "organisation_id": org,
                        "auditor_id": staff[org][0],
                        "created_at": _at(started + timedelta(days=90), rng),
                    },
                )
                w.add(
                    PlanAuditItem.__table__,
                    {
                        "audit_id": audit_id,
                        "plan_id": plan_id,
                        "meets_requirements": rng.random() < 0.7,
                        "criteria": {},
                        "notes": "",
                    },
                )
        w.flush()
        if engine.dialect.name == "postgresql":
            for table, column in (
                ("organisations", "id"),
                ("users", "id"),
                ("patients", "id"),
                ("care_plans", "id"),
                ("review_meetings", "id"),
                ("plan_audits", "id"),
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "  # noqa: S608
                        f"(SELECT coalesce(max({column}), 1) FROM {table}))"
                    )
                )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return w.counts


def _user(uid: int, role: str, name: str) -> dict:
    return {
        "id": uid,
        "email": f"{name}@bench.invalid",
        "password_hash": "!",  # no password: these accounts cannot sign in
        "role": role,
        "display_name": name,
        "session_token": f"{uid:064d}",
        "can_audit": False,
        "active": True,
        "mfa_enabled": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--url", help="database URL (default: a throwaway SQLite file)")
    parser.add_argument("--month", default="2011-03", help="report month, YYYY-MM")
    parser.add_argument("--runs", type=int, default=3, help="reads of the summarised report")
    parser.add_argument(
        "--live-runs", type=int, default=1, help="live counts to compare with (0: none)"
    )
    parser.add_argument("--reset", action="store_true", help="drop and recreate portal tables")
    parser.add_argument("--reuse", action="store_true", help="report on the patients already there")
    parser.add_argument("--seed", type=int, default=2010)
    args = parser.parse_args()

    workdir = None
    url = args.url
    if not url:
        workdir = tempfile.mkdtemp(prefix="report-bench-")
        url = "sqlite:///" + str(Path(workdir) / "bench.sqlite3")
    engine = create_engine(url)
    if args.reset:
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.connect() as conn:
        existing = conn.scalar(select(func.count()).select_from(Patient))
    print(f"database      {engine.dialect.name} ({url.rsplit('@', 1)[-1]})")
    if existing and not args.reuse:
        raise SystemExit(
            f"{existing} patients already there: use --reset, --reuse or another database"
        )
    if existing:
        print(f"reusing       {existing:,} patients")
    else:
        started = time.perf_counter()
        counts = generate(engine, args.patients, args.seed)
        print(f"generated     {args.patients:,} patients in {time.perf_counter() - started:.1f} s")
        for name in sorted(counts):
            print(f"  {name:20} {counts[name]:>10,}")
    engine.dispose()

    os.environ.setdefault("PORTAL_ENV", "testing")
    from portal import create_app

    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    measure(app, parse_month(args.month), args.runs, args.live_runs)


def parse_month(value: str) -> date:
    from portal.reports.forms import parse_month as parse

    month = parse(value)
    if month is None:
        raise SystemExit("--month: use a year and month such as 2011-03")
    return month


def timed(runs: int, work) -> tuple[tuple[list[float], list[float]], object]:
    """Wall-clock and CPU seconds (this process: SQLite's work, not PostgreSQL's) of each run
    of ``work``, and its last result."""
    timings, cpu, result = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = work()
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return (timings, cpu), result


def line(label: str, measured: tuple[list[float], list[float]]) -> str:
    timings, cpu = measured
    if len(timings) == 1:
        return f"{label:44} {timings[0]:6.2f} s (CPU here {cpu[0]:.2f} s)"
    return (
        f"{label:44} best {min(timings):.2f} s, median {statistics.median(timings):.2f} s, "
        f"worst {max(timings):.2f} s ({len(timings)} runs; CPU here best {min(cpu):.2f} s)"
    )


def measure(app, month: date, runs: int, live_runs: int) -> None:
    """Live count, summarising the month, then the report read from its summary: by the
    service, and as a commissioner's request for the page and the CSV."""
    from flask_babel import force_locale

    from portal.extensions import db
    from portal.outside import lift_statement_timeout
    from portal.reports import services
    from portal.reports.exports import as_csv, as_text
    from portal.reports.summary import summarise

    # The generated months end at LAST_DAY; a later month (--reuse on other data) is read
    # once it has ended.
    today = max(LAST_DAY + timedelta(days=60), services.add_months(month, 1))
    day = services.as_of(month, today)
    window = services.add_months(month, 1 - services.WINDOW_MONTHS)
    results = []
    with app.app_context(), force_locale("en"):
        db.session.execute(delete(MonthlySummaryCell))  # start from live figures
        db.session.execute(delete(MonthlySummary))
        db.session.commit()
        started = time.perf_counter()
        try:
            live_times, live = timed(
                live_runs, lambda: services.monthly_report(month, today=today)
            )
        except OperationalError as error:  # the pages' statement timeout: a figure, not a crash
            db.session.rollback()
            reason = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
            results.append(
                f"{'live report (no summary)':44} not served: {reason} after "
                f"{time.perf_counter() - started:.1f} s"
            )
            live_runs = 0
        else:
            if live_runs:
                results.append(line("live report (no summary)", live_times))
        lift_statement_timeout()  # as the nightly command does; the pages keep theirs
        summarise_times, cells = timed(1, lambda: summarise(month, today))
        results.append(line(f"summarise {month:%Y-%m} ({cells:,} stored counts)", summarise_times))
        read_times, report = timed(runs, lambda: services.monthly_report(month, today=today))
        results.append(line("report read from the summary", read_times))
        survey_times, _ = timed(runs, lambda: services._survey_counts(window, day, None))
        results.append(line("  of which surveys (live)", survey_times))
        audit_times, _ = timed(runs, lambda: services._audit_counts(window, day, None))
        results.append(line("  of which audits (live)", audit_times))
        organisation_id = services.organisations()[0][0]
        one_times, _ = timed(
            runs, lambda: services.monthly_report(month, organisation_id, today=today)
        )
        results.append(line("  the same for one organisation", one_times))
        if live_runs:
            same = "yes" if as_csv(live) == as_csv(report) else "NO"
            results.append(f"{'summary gives the same figures as live':44} {same}")
        commissioner = _commissioner(db)
        print()
        print(as_text(report))
    client = app.test_client()
    with client.session_transaction() as session:  # signed in, two-step code passed
        stamp = int(time.time())
        session.update(
            _user_id=commissioner, _fresh=True, started_at=stamp, seen_at=stamp, auth_at=stamp
        )
        session["mfa_ok"] = True
    for label, url, expected in (
        ("page as a commissioner requests it", f"/reports?month={month:%Y-%m}", "calculated on"),
        ("CSV as a commissioner requests it", f"/reports.csv?month={month:%Y-%m}", "summary,"),
    ):
        times, response = timed(runs, lambda url=url: client.get(url))
        if response.status_code != 200 or expected not in response.get_data(as_text=True):
            raise SystemExit(f"{url} answered {response.status_code} without the figures")
        results.append(line(label, times))
    load = os.getloadavg()
    print()
    print(f"load average  {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print("\n".join(results))


def _commissioner(db) -> str:
    """The session id of a commissioner account, added the first time."""
    email = "commissioner@bench.invalid"
    found = db.session.execute(select(User.id, User.session_token).where(User.email == email))
    row = found.first()
    if row is None:
        uid = (db.session.scalar(select(func.max(User.id))) or 0) + 1
        db.session.execute(insert(User), [_user(uid, "commissioner", "commissioner")])
        db.session.commit()
        row = (uid, f"{uid:064d}")
    return f"{row[0]}:{row[1]}"


if __name__ == "__main__":
    main()
