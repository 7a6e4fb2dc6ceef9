"""Register import benchmark: a GP system's register file brought in, as the CLI does it.

Run with ``python -m bench.register_bench --rows 8000 [--url postgresql+psycopg://...]``.
It writes a CSV of ``--rows`` synthetic people (valid NHS numbers, one to three conditions,
some coded as SNOMED CT descendants, every tenth row with optional columns), creates the
schema in a fresh database (a temporary SQLite file by default; with ``--into-existing``, the
portal data already at ``--url`` is kept and the file is imported as a practice of its own,
e.g. beside 1,000,000 generated patients), then prints:

* the time of the first import (everyone new) and of the same file again (nothing changes),
  each in one transaction as ``flask register-import`` runs it;
* the peak resident memory of this process, from ``resource.getrusage``, beside the memory
  after start-up: the difference is what the import itself needed.

Targets from the issue: 8,000 rows in under 30 s and 100,000 in under 3 minutes.
Not part of the test suite: timings depend on the machine.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

TARGETS = {8000: 30.0, 100000: 180.0}
CODES = ["73211009", "44054006", "13645005", "84114007", "38341003", "433144002", "26929004"]
HEADER = (
    "nhs_number,given_name,family_name,date_of_birth,sex,registered_on,conditions,"
    "preferred_language,email,postcode"
)


def write_file(path: Path, rows: int, seed: int = 19, first: int = 0) -> None:
    """``rows`` people numbered from ``first`` (their NHS numbers follow from it)."""
    from portal.nhs_number import synthetic

    rng = random.Random(seed)
    start = date(1930, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        for n in range(rows):
            born = start + timedelta(days=rng.randrange(70 * 365))
            registered = born + timedelta(days=rng.randrange(18 * 365, 20 * 365))
            codes = ";".join(rng.sample(CODES, rng.randint(1, 3)))
            extra = f"ur,person{n}@example.org,LS1 4AP" if n % 10 == 0 else ",,"
            out.write(
                f"{synthetic(first + n)},Given{n},Family{n % 997},{born:%d/%m/%Y},"
                f"{'FM'[n % 2]},{registered:%Y-%m-%d},{codes},{extra}\r\n"
            )


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument(
        "--into-existing",
        action="store_true",
        help="import into the portal data already at --url (kept), as a practice of its own",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="register-bench-"))
    url = args.url or "sqlite:///" + str(workdir / "bench.sqlite3")
    os.environ.setdefault("PORTAL_ENV", "testing")
    from sqlalchemy import func, select

    from portal import create_app
    from portal.conditions import CONDITIONS
    from portal.extensions import db
    from portal.models import Base, Condition, Organisation, Patient
    from portal.register.importer import run_import

    app = create_app({"ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    register = workdir / "register.csv"
    write_file(register, args.rows)
    size_mb = register.stat().st_size / 1024 / 1024
    with app.app_context():
        if args.into_existing:
            # Generated patients' NHS numbers start at 100,000,000, the file's at 900,000,000.
            existing = db.session.scalar(select(func.count()).select_from(Patient))
            print(f"existing      {existing:,} patients kept in the database")
            ods = f"R{int(time.time()) % 100000:05d}"
        else:
            Base.metadata.drop_all(db.engine)
            Base.metadata.create_all(db.engine)
            db.session.add_all(Condition(code=c.code, name=c.name) for c in CONDITIONS)
            ods = "B00001"
        organisation = Organisation(ods_code=ods, name="Bench Register Practice")
        db.session.add(organisation)
        db.session.commit()
        baseline = max_rss_mb()
        print(f"database      {db.engine.dialect.name}")
        print(f"file          {args.rows:,} rows, {size_mb:.1f} MB")
        for label in ("first import", "same again"):
            started = time.perf_counter()
            cpu = time.process_time()
            with register.open("rb") as stream:
                outcome = run_import(stream, organisation)
            db.session.commit()
            wall = time.perf_counter() - started
            print(
                f"{label:13} {wall:6.1f} s (CPU here {time.process_time() - cpu:5.1f} s, "
                f"{args.rows / wall:,.0f} rows/s): new {outcome.new:,}, "
                f"unchanged {outcome.unchanged:,}, rejected {outcome.rejected:,}"
            )
            if label == "first import":
                first = wall
        peak = max_rss_mb()
        print(f"memory        {baseline:.0f} MB after start-up, peak {peak:.0f} MB")
        target = TARGETS.get(args.rows)
        if target:
            met = "yes" if first < target else "no"
            print(f"target        first import under {target:.0f} s: {met}")
        db.session.remove()
        if not args.into_existing:
            Base.metadata.drop_all(db.engine)
        db.engine.dispose()
    register.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
