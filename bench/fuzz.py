"""The hostile-input sweeps, run long and bounded: every form and every query parameter.

Run with ``python -m bench.fuzz [--examples 10] [--target-seconds 3] [--minutes 40]
[--postgresql URL [--no-sqlite]] [--resume]``. It runs ``tests/test_bad_input.py`` and
``tests/test_fuzz.py`` target by target: a target is one form route or GET page, as one of six
roles, at patient A's URL or with forged ids. Each target gets its fixed hostile examples and
``--examples`` generated ones, but stops generating once it has used ``--target-seconds``; a
run stops starting targets after ``--minutes``. So a run always finishes, however busy the
machine, and says how many requests each route had, how many targets ran out of time and how
many were not reached. Any 500, or a changed row that the request did not own, fails it.

Each target's result is kept in ``bench/results/fuzz-<database>.jsonl`` as it finishes;
``--resume`` keeps that file and runs only the targets not yet done (after a run cut off by
``--minutes``, or killed). On PostgreSQL too when given the URL of a server's administrative
database (each run creates and drops a database of its own there, as the test suite does);
``make bench`` runs it on both.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SWEEPS = ["tests/test_bad_input.py", "tests/test_fuzz.py"]


def run(args, name: str, database: str | None) -> tuple[int, Path, float]:
    """(pytest's exit status, the per-target report, seconds) of one run of the sweeps."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = RESULTS / f"fuzz-{name.lower()}.jsonl"
    log = RESULTS / f"fuzz-{name.lower()}.log"
    if not args.resume:
        report.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PORTAL_FUZZ_EXAMPLES": str(args.examples),
        "PORTAL_FUZZ_TARGET_SECONDS": str(args.target_seconds),
        "PORTAL_FUZZ_DEADLINE": str(time.time() + args.minutes * 60),
        "PORTAL_FUZZ_REPORT": str(report),
    }
    if database:
        env["PORTAL_TEST_DATABASE"] = database
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        status = subprocess.call(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *SWEEPS],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return status, report, time.perf_counter() - started


def summarise(report: Path) -> dict:
    """Requests per route (every role and URL together), and targets by how they ended."""
    lines = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    latest = {line["target"]: line for line in lines}  # a resumed target's last word counts
    routes: dict[str, int] = defaultdict(int)
    ended: dict[str, int] = defaultdict(int)
    for line in latest.values():
        sweep, rest = line["target"].split(": ", 1)
        _who, method, path, _ = rest.split(" ", 3)
        routes[f"{sweep}: {method} {path}"] += line["requests"]
        ended[line["status"]] += 1
    return {"routes": dict(sorted(routes.items())), "ended": dict(ended), "targets": len(latest)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10, help="generated examples a target")
    parser.add_argument("--target-seconds", type=float, default=3, help="time budget a target")
    parser.add_argument("--minutes", type=float, default=40, help="time budget a database")
    parser.add_argument("--postgresql", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="run on PostgreSQL only")
    parser.add_argument("--resume", action="store_true", help="carry on from the last report")
    args = parser.parse_args(argv)
    if args.no_sqlite and not args.postgresql:
        parser.error("--no-sqlite needs --postgresql URL")
    load = os.getloadavg()
    print(f"Load average at the start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
          f"on {os.cpu_count()} cores")
    failed = False
    for name, database in (("SQLite", None), ("PostgreSQL", args.postgresql)):
        if (name == "PostgreSQL" and not database) or (name == "SQLite" and args.no_sqlite):
            continue
        status, report, seconds = run(args, name, database)
        found = summarise(report) if report.exists() else {"routes": {}, "ended": {}, "targets": 0}
        print(f"\nHostile-input sweep on {name} ({args.examples} generated examples and "
              f"{args.target_seconds:g} s a target, {args.minutes:g} min a run):")
        for route, requests in found["routes"].items():
            print(f"  {requests:6,}  {route}")
        total = sum(found["routes"].values())
        ended = ", ".join(f"{count:,} {status}" for status, count in sorted(found["ended"].items()))
        verdict = "no 500, nothing changed that should not have" if status == 0 else "FAILED"
        print(f"Total on {name}: {total:,} requests, {found['targets']:,} targets ({ended}), "
              f"{seconds:.0f} s this run: {verdict}")
        if found["ended"].get("not reached"):
            print(f"  (run again with --resume to reach the rest on {name})")
        if status != 0:
            print(f"  pytest's output: {report.with_suffix('.log')}")
            print("\n".join(report.with_suffix(".log").read_text().splitlines()[-40:]))
        failed |= status != 0
    load = os.getloadavg()
    print(f"Load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
