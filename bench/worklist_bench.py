"""The professional's worklist for a practice of 8,000 in a database of 100,000: p95 per filter.

    python -m bench.worklist_bench --url postgresql+psycopg://postgres@127.0.0.1:5432/portal_worklist

Generates the data if the database has fewer patients than asked (``bench.datagen``), then
gives the first practice what a real one has beside its settled plans: changes waiting for
review, changed crisis plans, requests for a different named contact, objections, and new
patients with no plan yet. One of its nurses is signed in and each filter, search and "my
patients" is requested ``--requests`` times in-process (page rendering included); the figures
are wall milliseconds per request (p50, p95), the portal's CPU milliseconds (p50), SQL
statements per request and the page size.
Nothing here is part of the test suite.
"""

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, event, func, insert, select, text, update

from bench import datagen
from bench.common import patient_count, portal_app

NEWCOMERS = 300  # patients registered but with no plan yet
SEED = 2026


def shape_practice(url: str) -> None:
    """The first practice's waiting work, once per database (newcomers mark it done)."""
    from portal.models import CarePlan, CrisisStep, Goal, Patient
    from portal.nhs_number import synthetic

    engine = create_engine(url)
    rng = random.Random(SEED)
    today, now = date.today(), datetime.now(UTC)
    with engine.begin() as conn:
        shaped = conn.scalar(
            select(func.count()).select_from(Patient).where(Patient.family_name.like("Newcomer%"))
        )
        if shaped:
            return
        plan_ids = list(
            conn.scalars(
                select(CarePlan.id)
                .join(Patient, Patient.id == CarePlan.patient_id)
                .where(Patient.organisation_id == 1)
            )
        )
        waiting = rng.sample(plan_ids, len(plan_ids) // 25)  # 4%: something to review
        conn.execute(
            update(Goal)
            .where(Goal.plan_id.in_(waiting), Goal.status == "proposed")
            .values(pending_review=True)
        )
        crisis = waiting[: len(waiting) // 3]
        conn.execute(
            update(CrisisStep).where(CrisisStep.plan_id.in_(crisis)).values(pending_review=True)
        )
        conn.execute(
            update(CarePlan)
            .where(CarePlan.id.in_(rng.sample(plan_ids, len(plan_ids) // 100)))
            .values(named_contact_request="Someone who speaks Polish, please")
        )
        objected = rng.sample(plan_ids, len(plan_ids) // 50)
        conn.execute(
            update(Patient)
            .where(Patient.id.in_(select(CarePlan.patient_id).where(CarePlan.id.in_(objected))))
            .values(care_team_consent=False)
        )
        first = conn.scalar(select(func.max(Patient.id))) + 1
        rows = [
            {
                "id": first + n,
                "organisation_id": 1,
                "nhs_number": synthetic(first + n, start=800_000_000, step=3),
                "given_name": "New",
                "family_name": f"Newcomer{n}",
                "date_of_birth": date(1940, 1, 1) + timedelta(days=rng.randint(0, 20000)),
                "sex": "female",
                "ethnicity_category": "not_stated",
                "preferred_language": "en",
                "interpreter_needed": False,
                "care_team_consent": None,
                "initial_assessment_date": today - timedelta(days=rng.randint(0, 60)),
                "created_at": now,
            }
            for n in range(NEWCOMERS)
        ]
        conn.execute(insert(Patient), rows)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('patients_id_seq', (SELECT MAX(id) FROM patients))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # As autovacuum leaves a live database: statistics, and the visibility map that lets
        # the worklist read the practice's patients from an index alone.
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def signed_in_client(app, user_id: int):
    """A client with a staff session that passed two-step verification (as tests sign in)."""
    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        identity = user.get_id()
    client = app.test_client()
    now = int(time.time())
    with client.session_transaction() as session:
        session.update(
            {
                "_user_id": identity,
                "_fresh": True,
                "started_at": now,
                "seen_at": now,
                "auth_at": now,
                "mfa_ok": True,
            }
        )
    return client


def cases(app) -> dict[str, str]:
    from portal.extensions import db
    from portal.models import Patient
    from portal.nhs_number import formatted
    from portal.worklist.services import Filter

    with app.app_context():
        someone = db.session.scalars(
            select(Patient).where(Patient.organisation_id == 1).order_by(Patient.id).offset(500)
        ).first()
        nhs, born, family = someone.nhs_number, someone.date_of_birth, someone.family_name
    found = {f"filter {f.value}": f"/worklist?filter={f.value}" for f in Filter}
    found |= {
        "filter all, page 100": "/worklist?page=100",
        "my patients": "/worklist?whose=mine",
        "my patients, overdue": "/worklist?whose=mine&filter=overdue",
        "search name": f"/worklist?q={family}",
        "search name part": "/worklist?q=ient12",
        "search NHS number": "/worklist?q=" + formatted(nhs).replace(" ", "+"),
        "search date of birth": f"/worklist?q={born:%d/%m/%Y}",
    }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    if patient_count(args.url) < args.patients:
        datagen.generate(args.url, args.patients)
    shape_practice(args.url)
    from portal.extensions import db
    from portal.models import Patient

    app = portal_app(args.url)
    with app.app_context():
        engine = db.engine
        in_practice = db.session.scalar(
            select(func.count()).select_from(Patient).where(Patient.organisation_id == 1)
        )
        total = db.session.scalar(select(func.count()).select_from(Patient))
    client = signed_in_client(app, 1)  # a nurse at the first practice
    statements = 0

    def count(*_args):
        nonlocal statements
        statements += 1

    print(
        f"Worklist on {engine.dialect.name}: {in_practice:,} patients in the practice, "
        f"{total:,} in the database, {args.requests} requests each"
    )
    # CPU ms: the portal's own processor time per request (p50), which other people's work on
    # a shared machine changes far less than the wall time (the database's is not in it).
    print(
        f"{'case':28} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>7} {'SQL':>5} {'KB':>7} {'rows':>6}"
    )
    for name, path in cases(app).items():
        for _ in range(3):
            client.get(path)  # warm: templates, statement cache
        times, cpu = [], []
        statements = 0
        event.listen(engine, "before_cursor_execute", count)
        for _ in range(args.requests):
            started, used = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
        event.remove(engine, "before_cursor_execute", count)
        body = response.get_data()
        rows = body.count(b'class="nhsuk-table__row"') - 1  # less the heading row
        p95 = statistics.quantiles(times, n=20)[-1]
        print(
            f"{name:28} {statistics.median(times):8.1f} {p95:8.1f} {statistics.median(cpu):7.1f} "
            f"{statements / args.requests:5.1f} {len(body) / 1024:7.1f} {max(rows, 0):6}"
        )


if __name__ == "__main__":
    main()
