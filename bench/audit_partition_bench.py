"""Audit trail benchmark: the monthly-partitioned table grown to 50 million events.

Run with ``python -m bench.audit_partition_bench --url postgresql+psycopg://.../db
[--sizes 5,20,50]`` (millions of events; the database is emptied first). It builds the schema
with the migrations (so ``audit_events`` is partitioned as in production), then fills it in
order of time with SQL ``generate_series``: 2,000,000 events a month (a region of about
800,000 patients at 30 events each a year), so 50 million events are 25 months of history
ending this month. At each size it prints:

* the activity page's own function (``portal.sharing.services.activity``, its count and page
  queries) for random patients, whose history grows with the months loaded, and for
  patients with a fixed 30 events, whose cost shows what the table's size alone adds;
* ``EXPLAIN`` of the page's query (one index scan per monthly partition, no sequential scan)
  and of the same patient's last 30 days (the partitions pruned to one or two);
* the cost of one audit insert with the portal's own statement (``portal.audit``), alone
  and with its commit, into the month being filled.

The events' foreign keys to patients, users and organisations are dropped in this database
(so 50 million events need no 800,000 generated patients): a real insert also checks each key
with one primary-key lookup in a table that does not grow with the audit trail.
Not part of the test suite: timings depend on the machine (and on what else runs on it).
"""

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from bench.common import portal_app

PER_MONTH = 2_000_000
PATIENTS = 800_000
ACTORS = 50_000
FIXED = 20  # patients with exactly FIXED_EVENTS events each, in the first month
FIXED_EVENTS = 30
CHUNK = 1_000_000
MONTH = timedelta(days=365.25 / 12)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def _us(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered) * 1e6:.0f} us, p95 {p95 * 1e6:.0f} us"


def keep_ready(conn, start: datetime, now: datetime) -> None:
    """What the daily job does: every month so far, and the next few, have their partition."""
    from portal import audit_partitions

    last = audit_partitions.months_to_keep_ready(now.date())[1]
    audit_partitions.ensure_months(conn, start.date(), last)


def prepare(conn, start: datetime) -> None:
    for name in ("actor_id_users", "patient_id_patients", "organisation_id_organisations"):
        conn.execute(text(f"ALTER TABLE audit_events DROP CONSTRAINT fk_audit_events_{name}"))
    keep_ready(conn, start, start)
    # The fixed patients: ids above the others', 30 events each in the first month.
    conn.execute(
        text(
            "INSERT INTO audit_events (occurred_at, actor_id, patient_id, action, detail)"
            " SELECT :start + (g * interval '1 hour'), 1 + g % 7, :first + g % :fixed,"
            " 'plan.view', '' FROM generate_series(0, :n - 1) AS g"
        ),
        {"start": start, "first": PATIENTS + 1, "fixed": FIXED, "n": FIXED * FIXED_EVENTS},
    )


def load(conn, start: datetime, first: int, last: int) -> None:
    """Events ``first`` to ``last`` (0-based) of the timeline, evenly spaced in time."""
    step = MONTH.total_seconds() / PER_MONTH
    conn.execute(
        text(
            "INSERT INTO audit_events"
            " (occurred_at, actor_id, patient_id, action, detail, organisation_id)"
            " SELECT :start + (g * :step) * interval '1 second',"
            " 1 + (random() * :actors)::int, p, (ARRAY['plan.view', 'crisis.view',"
            " 'pdf.plan', 'goal.edit'])[1 + g % 4], '', 1 + p % 500"
            " FROM generate_series(:first, :last) AS g,"
            " LATERAL (SELECT 1 + (random() * (:patients - 1) + g * 0)::int AS p) AS chosen"
        ),
        {
            "start": start,
            "step": step,
            "first": first,
            "last": last,
            "actors": ACTORS - 1,
            "patients": PATIENTS,
        },
    )


def page_sql(patient_id: int, since: datetime | None = None) -> str:
    """The activity page's first page query (optionally for recent events only), as SQL."""
    from sqlalchemy.dialects import postgresql

    from portal.models import AuditEvent
    from portal.sharing import services

    query, newest_first = services.activity_query(patient_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    query = query.order_by(*newest_first).limit(services.ACTIVITY_PAGE_SIZE)
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def explain(conn, patient_id: int, since: datetime | None = None) -> list[str]:
    return list(conn.scalars(text("EXPLAIN (COSTS OFF) " + page_sql(patient_id, since))))


def server_times(conn, patient_ids: list[int]) -> tuple[list[float], list[float]]:
    """PostgreSQL's own planning and execution time of the page query, in seconds."""
    planning, execution = [], []
    for patient_id in patient_ids:
        sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + page_sql(patient_id)
        result = conn.scalar(text(sql))[0]
        planning.append(result["Planning Time"] / 1000)
        execution.append(result["Execution Time"] / 1000)
    return planning, execution


def plan_summary(lines: list[str]) -> str:
    scans = [line for line in lines if "Scan" in line and " on audit_events" in line]
    by_index = sum("Index" in line for line in scans)
    return f"{len(scans)} partitions read, {by_index} by index, {len(scans) - by_index} other"


def measure(app, url: str, size: int, now: datetime, rng: random.Random):
    """The figures at one size, and the two plans (printed in full at the end)."""
    from portal import audit, audit_partitions
    from portal.extensions import db
    from portal.sharing import services

    out = []
    with app.app_context():
        pages = {}
        for label, ids in (
            ("random patients", [rng.randint(1, PATIENTS) for _ in range(40)]),
            (f"patients with {FIXED_EVENTS} events", [PATIENTS + 1 + i for i in range(FIXED)]),
        ):
            services.activity(ids[0], 1)  # warm the connection and statement cache
            db.session.rollback()
            samples = []
            for patient_id in ids:
                started = time.perf_counter()
                services.activity(patient_id, 1)
                samples.append(time.perf_counter() - started)
                db.session.rollback()
            pages[label] = samples
        engine = create_engine(url)
        with engine.connect() as conn:
            events = conn.scalar(
                text("SELECT count(*) FROM audit_events WHERE patient_id = :p"), {"p": 1}
            )
            fixed = [PATIENTS + 1 + i for i in range(FIXED)]
            server_times(conn, fixed[:2])  # warm
            planning, execution = server_times(conn, fixed)
            whole = explain(conn, 1)
            recent = explain(conn, 1, now - timedelta(days=30))
            count = len(audit_partitions.partitions(conn))
            megabytes = conn.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(i.inhrelid)) / 1048576"
                    " FROM pg_inherits i WHERE i.inhparent = 'audit_events'::regclass"
                )
            )
        engine.dispose()
        statement, committed = [], []
        for n in range(1000):
            row = {
                "occurred_at": now + timedelta(microseconds=n),
                "actor_id": rng.randint(1, ACTORS),
                "patient_id": rng.randint(1, PATIENTS),
                "action": "plan.view",
                "detail": "",
                "organisation_id": 1,
            }
            started = time.perf_counter()
            db.session.execute(audit._INSERT_EVENT, row)
            executed = time.perf_counter()
            db.session.commit()
            statement.append(executed - started)
            committed.append(time.perf_counter() - started)
    out.append(
        f"{size / 1e6:g} million events, {count} partitions, {megabytes:,.0f} MB with indexes"
    )
    for label, samples in pages.items():
        out.append(f"  activity page, {label}: {_ms(samples)}")
    out.append(f"    (patient 1 has {events} events by now)")
    out.append(
        f"  the page query in PostgreSQL, patients with {FIXED_EVENTS} events: planning"
        f" {_ms(planning)}; execution {_ms(execution)}"
    )
    out.append(f"  EXPLAIN activity page query: {plan_summary(whole)}")
    out.append(f"  EXPLAIN same, last 30 days only: {plan_summary(recent)}")
    out.append(f"  insert one audit event: {_us(statement)}; with its commit: {_us(committed)}")
    return out, whole, recent


def convert(url: str, events: int) -> int:
    """Time migration 0022 converting a plain table of ``events`` events (ids of people left
    empty: their foreign keys are checked again by the migration, and there are no people)."""
    from flask_migrate import upgrade

    app = portal_app(url)
    with app.app_context():
        upgrade(revision="0021_patient")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_events (occurred_at, action, detail)"
                    " SELECT now() - (g * interval '1 second'), 'plan.view', ''"
                    " FROM generate_series(1, :n) AS g"
                ),
                {"n": events},
            )
        engine.dispose()
        started = time.perf_counter()
        upgrade()
        took = time.perf_counter() - started
    print(
        f"Migration 0022 converting {events / 1e6:g} million events: {took:.0f} s"
        f" ({events / took:,.0f} events a second), the audit trail locked throughout"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--sizes", default="5,20,50", help="millions of events, in order")
    parser.add_argument(
        "--convert", type=float, help="instead: time the migration on this many million events"
    )
    args = parser.parse_args()
    if args.convert:
        return convert(args.url, int(args.convert * 1_000_000))
    sizes = [int(float(s) * 1_000_000) for s in args.sizes.split(",")]
    rng = random.Random(28)
    app = portal_app(args.url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    months = -(-sizes[-1] // PER_MONTH)
    this_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = this_month - (months - 1) * MONTH + timedelta(days=1)  # inside its month
    engine = create_engine(args.url)
    with engine.begin() as conn:
        prepare(conn, start)
    print(
        f"Timeline: {PER_MONTH:,} events a month from {start:%Y-%m} for {months} months,"
        f" {PATIENTS:,} patients; sizes {', '.join(f'{s / 1e6:g}M' for s in sizes)}",
        flush=True,
    )
    loaded = 0
    for size in sizes:
        started = time.perf_counter()
        while loaded < size:
            last = min(size, loaded + CHUNK) - 1
            with engine.begin() as conn:
                keep_ready(conn, start, start + (last / PER_MONTH) * MONTH)
                load(conn, start, loaded, last)
            loaded = last + 1
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE audit_events"))
        took = time.perf_counter() - started
        print(f"Loaded to {size / 1e6:g} million in {took:.0f} s", flush=True)
        now = start + (size / PER_MONTH) * MONTH
        lines, whole, recent = measure(app, args.url, size, now, rng)
        print("\n".join(lines), flush=True)
    print("\nEXPLAIN of the activity page's query at the last size (patient 1):")
    print("\n".join(whole))
    print("\nEXPLAIN of the same for the last 30 days only:")
    print("\n".join(recent))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
