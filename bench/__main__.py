"""Every benchmark in one run: ``make bench`` (``python -m bench [--no-million]``).

Runs each benchmark as its own process (so memory figures are its own), prints its figures as
it goes, and writes them all to ``bench/results/summary.md``. PostgreSQL steps run when a
server answers on 127.0.0.1:5432. Everything the performance issue asks for runs by default,
the 1,000,000-patient data set last; ``--no-million`` leaves it out for a quicker run. The
hostile-input sweep gets ``--fuzz-minutes`` (default 5) a database (targets not reached are
listed, and ``python -m bench.fuzz --resume`` finishes them).
"""

import argparse
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The last whole month: the generated history ends today.
MILLION_MONTH = f"{date.today().replace(day=1) - timedelta(days=1):%Y-%m}"


def fresh_pg_database(name: str) -> str | None:
    """Create (or recreate) a benchmark database; None when PostgreSQL does not answer."""
    try:
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception:  # noqa: BLE001 - no server: the PostgreSQL steps are skipped
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def steps(million: bool, fuzz_minutes: float) -> list[tuple[str, list[str]]]:
    sqlite_100k = "sqlite:///" + str(RESULTS / "bench-100k.sqlite3")
    (RESULTS / "bench-100k.sqlite3").unlink(missing_ok=True)
    plan = [
        ("Data generator: 100,000 patients on SQLite",
         ["bench.datagen", "--patients", "100000", "--url", sqlite_100k]),
        ("Monthly report: 100,000 patients on SQLite",
         ["bench.report_bench", "--patients", "100000"]),
        ("PDF rendering", ["bench.pdf_bench"]),
        ("Team inbox: 8,000 patients and 20,000 conversations on SQLite",
         ["bench.inbox_bench"]),
        ("PDF rendering: the largest plan the limits allow", ["bench.worst_plan_bench"]),
        ("FHIR document and import", ["bench.fhir_bench"]),
        ("Register import: 8,000 rows on SQLite", ["bench.register_bench", "--rows", "8000"]),
        ("Register import: 100,000 rows on SQLite",
         ["bench.register_bench", "--rows", "100000"]),
        ("Hostile input: every form and query parameter on SQLite",
         ["bench.fuzz", "--minutes", str(fuzz_minutes)]),
        ("wapiti scan of the portal on loopback", ["bench.wapiti_scan"]),
    ]
    pg_100k = fresh_pg_database("portal_bench_100k")
    if pg_100k:
        # The latency targets first, while the machine is as quiet as the run will leave it.
        plan[:0] = [
            ("Data generator: 100,000 patients on PostgreSQL",
             ["bench.datagen", "--patients", "100000", "--url", pg_100k]),
            # In-process CPU per request of the plan and crisis pages beside the bare endpoint.
            *[
                (f"Page cost in-process: {page} on 100,000 patients on PostgreSQL",
                 ["bench.page_profile", "--url", pg_100k, "--patients", "100000", "--page", page,
                  "--requests", "300", "--top", "15"])
                for page in ("bare", "plan", "crisis")
            ],
            # The report is read from a streaming replica started for each run.
            *[
                (f"Load test: 100,000 patients on PostgreSQL, {users} users, report on a replica",
                 ["bench.load", "--url", pg_100k, "--patients", "100000", "--users", str(users),
                  "--seconds", "60", "--reports-replica"])
                for users in (20, 50)
            ],
        ]
        register_db = fresh_pg_database("portal_register_bench")
        plan += [
            (f"Register import: {rows:,} rows on PostgreSQL",
             ["bench.register_bench", "--rows", str(rows), "--url", register_db])
            for rows in (8000, 100000)
        ]
        report_100k = fresh_pg_database("portal_report_100k")
        plan += [
            ("Monthly report: 100,000 patients on PostgreSQL",
             ["bench.report_bench", "--url", report_100k, "--patients", "100000"]),
            ("Hostile input: every form and query parameter on PostgreSQL",
             ["bench.fuzz", "--postgresql", PG_ADMIN, "--no-sqlite",
              "--minutes", str(fuzz_minutes)]),
            ("Team inbox: 8,000 patients and 20,000 conversations on PostgreSQL",
             ["bench.inbox_bench", "--url", fresh_pg_database("portal_bench_inbox")]),
            # The audit trail in monthly partitions, grown to 50 million events.
            ("Audit trail: 5, 20 and 50 million events in monthly partitions on PostgreSQL",
             ["bench.audit_partition_bench", "--url", fresh_pg_database("portal_bench_audit"),
              "--sizes", "5,20,50"]),
            ("Audit trail: migration 0022 converting a plain table of 5 million events",
             ["bench.audit_partition_bench", "--url",
              fresh_pg_database("portal_bench_audit_convert"), "--convert", "5"]),
            # After the load test: it adds waiting work to the first practice.
            ("Worklist: a practice of 8,000 in 100,000 patients on PostgreSQL",
             ["bench.worklist_bench", "--url", pg_100k, "--patients", "100000"]),
        ]
    else:
        plan.append(("Load test: SQLite (no PostgreSQL server answered)",
                     ["bench.load", "--url", sqlite_100k, "--patients", "100000"]))
    plan.append(("Notifications: 100,000 review reminders through Celery to SMTP, a worker killed",
                 ["bench.notify_bench", "--reminders", "100000"]))
    plan.append(("PDF downloads under load: 20 people, the queue rendering ahead (Redis)",
                 ["bench.pdf_load", "--patients", "400", "--users", "20", "--seconds", "60"]))
    if million and pg_100k:
        pg_1m = fresh_pg_database("portal_bench_1m")
        # One data set for every step at this size: generating it takes half an hour.
        plan += [
            ("Data generator: 1,000,000 patients on PostgreSQL",
             ["bench.datagen", "--patients", "1000000", "--url", pg_1m]),
            ("Worklist: a practice of 8,000 in 1,000,000 patients on PostgreSQL",
             ["bench.worklist_bench", "--url", pg_1m, "--patients", "1000000"]),
            ("Register import: 100,000 rows beside 1,000,000 patients on PostgreSQL",
             ["bench.register_bench", "--rows", "100000", "--url", pg_1m, "--into-existing"]),
            ("Monthly report: the 1,100,000 patients of the two steps above on PostgreSQL",
             ["bench.report_bench", "--url", pg_1m, "--reuse", "--month", MILLION_MONTH]),
        ]
    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-million", dest="million", action="store_false",
                        help="leave out the 1,000,000-patient data set")
    parser.add_argument("--fuzz-minutes", type=float, default=5,
                        help="time budget of the hostile-input sweep on each database")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "?")
    cores = sum(line.startswith("processor") for line in cpuinfo)
    sections = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu}, {cores} cores.",
    ]
    failed = 0
    plan = steps(args.million, args.fuzz_minutes)
    for done, (title, argv) in enumerate(plan, start=1):
        print(f"\n== {title}", flush=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        output = (result.stdout or "").strip()
        print(output, flush=True)
        if result.returncode:
            failed += 1
            output += f"\n(exit code {result.returncode})\n{result.stderr.strip()[-2000:]}"
            print(result.stderr[-2000:], file=sys.stderr)
        sections += ["", f"## {title}", "", f"Took {elapsed:.0f} s.", "", "```", output, "```"]
        # Written after every step, so a run stopped part way still leaves what it measured.
        progress = [] if done == len(plan) else ["", f"(Stopped or still running: {done} of "
                                                 f"{len(plan)} steps done.)"]
        (RESULTS / "summary.md").write_text(
            "\n".join(sections + progress) + "\n", encoding="utf-8"
        )
    print(f"\nSummary written to {RESULTS / 'summary.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
