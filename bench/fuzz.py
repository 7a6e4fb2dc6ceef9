"""The hostile-input sweeps, run long: every form and every query parameter, many examples.

Run with ``python -m bench.fuzz [--examples 25] [--postgresql URL [--no-sqlite]]``. It runs
``tests/test_bad_input.py`` and ``tests/test_fuzz.py`` with ``PORTAL_FUZZ_EXAMPLES`` examples
per route, URL and role (the normal suite uses 3, and only the fixed examples on pages
without parameters of their own), then prints how many requests were made and whether any
answered 500 or changed data it should not have. On PostgreSQL too when given the URL of a
server's administrative database (each run creates and drops a database of its own there, as
the test suite does); ``make bench`` runs it on both.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = ["tests/test_bad_input.py", "tests/test_fuzz.py"]


def run(examples: int, database: str | None) -> tuple[int, int, float]:
    """(exit status, requests made, seconds) of one run of the sweeps."""
    with tempfile.NamedTemporaryFile("r", suffix=".count") as report:
        env = {
            **os.environ,
            "PORTAL_FUZZ_EXAMPLES": str(examples),
            "PORTAL_FUZZ_REPORT": report.name,
        }
        if database:
            env["PORTAL_TEST_DATABASE"] = database
        started = time.perf_counter()
        status = subprocess.call(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *SWEEPS],
            cwd=ROOT,
            env=env,
        )
        seconds = time.perf_counter() - started
        requests = sum(int(line) for line in Path(report.name).read_text().split())
    return status, requests, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="examples per route and role")
    parser.add_argument("--postgresql", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="run on PostgreSQL only")
    args = parser.parse_args(argv)
    if args.no_sqlite and not args.postgresql:
        parser.error("--no-sqlite needs --postgresql URL")
    failed = False
    for name, database in (("SQLite", None), ("PostgreSQL", args.postgresql)):
        if (name == "PostgreSQL" and not database) or (name == "SQLite" and args.no_sqlite):
            continue
        status, requests, seconds = run(args.examples, database)
        verdict = "no 500, nothing changed that should not have" if status == 0 else "FAILED"
        print(f"Hostile-input sweep on {name}: {requests:,} requests "
              f"({args.examples} examples per route and role) in {seconds:.0f} s: {verdict}")
        failed |= status != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
