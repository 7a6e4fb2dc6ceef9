"""The team inbox of a practice with 8,000 patients and 20,000 conversations.

    python -m bench.inbox_bench [--url postgresql+psycopg://postgres@127.0.0.1:5432/portal_inbox]

Builds the data set (one practice of ``--patients`` patients with accounts, ``--conversations``
conversations of two or three messages each, a quarter still waiting for an answer and some
marked urgent, plus another practice of the same size that the nurse must not see), then asks
for inbox pages in-process as the practice's nurse and prints wall-clock p50/p95/max and SQL
statements per request for the first page, a page deep in the list, and "handled by me".
The target is p95 under 100 ms. Nothing here is part of the test suite.
"""

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, insert, select, text

from portal.auth.services import hash_password
from portal.conditions import CONDITIONS
from portal.models import Base, Condition, Conversation, Message, Organisation, Patient, User
from portal.nhs_number import synthetic

BATCH = 2000
RESULTS = Path(__file__).resolve().parent / "results"


def build(url: str, patients: int, conversations: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    password_hash = hash_password("bench-inbox-password")
    with engine.begin() as conn:
        conn.execute(insert(Condition), [{"code": c.code, "name": c.name} for c in CONDITIONS])
        conn.execute(
            insert(Organisation),
            [
                {"id": 1, "ods_code": "B00001", "name": "Inbox practice", "created_at": now},
                {"id": 2, "ods_code": "B00002", "name": "Other practice", "created_at": now},
            ],
        )
        staff = [
            {"id": n, "email": f"nurse{n}@bench.invalid", "password_hash": password_hash,
             "role": "professional", "display_name": f"Nurse {n}", "organisation_id": org,
             "session_token": f"s{n}", "can_audit": False, "active": True,
             "mfa_enabled": False, "created_at": now}
            for n, org in ((1, 1), (2, 1), (3, 2))
        ]
        conn.execute(insert(User), staff)
        users, people = [], []
        for n in range(2 * patients):
            user_id = 100 + n
            users.append(
                {"id": user_id, "email": f"p{n}@bench.invalid", "password_hash": password_hash,
                 "role": "patient", "display_name": f"Patient {n}", "session_token": f"p{n}",
                 "can_audit": False, "active": True, "mfa_enabled": False, "created_at": now}
            )
            people.append(
                {"id": n + 1, "user_id": user_id, "organisation_id": 1 if n < patients else 2,
                 "nhs_number": synthetic(n + 1), "given_name": "Pat", "family_name": f"Ient{n}",
                 "date_of_birth": datetime(1940 + n % 50, 1 + n % 12, 1 + n % 28).date(),
                 "sex": "female", "ethnicity_category": "not_stated", "preferred_language": "en",
                 "interpreter_needed": False, "care_team_consent": True, "created_at": now}
            )
        for start in range(0, len(users), BATCH):
            conn.execute(insert(User), users[start : start + BATCH])
            conn.execute(insert(Patient), people[start : start + BATCH])
        talks, messages = [], []
        for n in range(conversations):
            patient = rng.randrange(2 * patients) + 1
            started = now - timedelta(hours=rng.randrange(1, 24 * 60))
            waiting = rng.random() < 0.25
            talks.append(
                {"id": n + 1, "patient_id": patient, "started_by_id": 99 + patient,
                 "subject": f"Question {n}", "about_kind": "none",
                 "status": "open" if waiting or rng.random() < 0.3 else "closed",
                 "awaiting_reply_since": started if waiting else None,
                 "last_message_at": started, "urgent": waiting and rng.random() < 0.02,
                 "handler_id": rng.choice((None, 1, 2)), "created_at": started}
            )
            for m in range(rng.choice((2, 3))):
                messages.append(
                    {"conversation_id": n + 1, "author_id": 99 + patient if m % 2 == 0 else 1,
                     "written_as": "patient" if m % 2 == 0 else "professional",
                     "body": "A question about my plan. " * 4, "language": "en",
                     "created_at": started + timedelta(minutes=m)}
                )
        for start in range(0, len(talks), BATCH):
            conn.execute(insert(Conversation), talks[start : start + BATCH])
        for start in range(0, len(messages), BATCH):
            conn.execute(insert(Message), messages[start : start + BATCH])
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # the planner's statistics, as a live database has them
    engine.dispose()


def measure(url: str, requests: int) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "PORTAL_ENV": "development",
            "PORTAL_SECRET_KEY": "bench-only-secret",
            "PORTAL_RATELIMIT_ENABLED": "false",
        }
    )
    from portal import create_app
    from portal.extensions import db

    app = create_app()
    with app.app_context():
        nurse = db.session.scalar(select(User).where(User.id == 1))
        user_key = nurse.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        stamp = int(time.time())
        session.update(
            {"_user_id": user_key, "_fresh": True, "started_at": stamp, "seen_at": stamp,
             "auth_at": stamp, "mfa_ok": True}
        )
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
    for name, path in (
        ("first page", "/conversations"),
        ("page 40", "/conversations?page=40"),
        ("handled by me", "/conversations?show=mine"),
    ):
        for _ in range(5):  # warm up
            client.get(path)
        times, sizes = [], []
        statements.clear()
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            sizes.append(len(response.data))
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"  inbox {name:14} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
            f"max {times[-1]:6.1f} ms  {len(statements) / requests:.0f} statements  "
            f"{max(sizes) / 1024:.0f} KB  (target p95 < 100 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///" + str(RESULTS / "bench-inbox.sqlite3"))
    parser.add_argument("--patients", type=int, default=8000)
    parser.add_argument("--conversations", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    build(args.url, args.patients, args.conversations)
    print(
        f"  built {args.patients:,} patients in the practice (and as many elsewhere) and "
        f"{args.conversations:,} conversations in {time.perf_counter() - start:.1f} s"
    )
    measure(args.url, args.requests)


if __name__ == "__main__":
    main()
