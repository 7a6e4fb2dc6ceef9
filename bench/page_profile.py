"""Per-request CPU cost of one page, measured in-process, with the functions that cost most.

    python -m bench.page_profile --url postgresql+psycopg://postgres@127.0.0.1:5432/portal_profile \
        --patients 2000 --page plan --requests 300

Generates the data if the database has fewer patients than asked, signs one patient in through
the real form, warms the app up, then runs the page ``--requests`` times twice: once plain, to
print CPU and wall milliseconds per request and SQL statements per request, and once under
cProfile, to print the ``--top`` functions by cumulative and by own time. For the plan page it
first compares, in alternating rounds, the bare endpoint, the plan page with its body kept (a
repeat view, ``portal.plans.page_cache``) and the plan page built every time (the cache off), and
prints each one's own cost (less the bare endpoint's). CPU time is this
process only (the database's own work shows in the wall time), so it is a better guide than
wall time on a machine shared with other work; the count of Python function calls does not
depend on the machine's load at all. Nothing here is part of the test suite.
"""

import argparse
import cProfile
import io
import pstats
import re
import time
from pathlib import Path

from sqlalchemy import event, select

from bench import datagen
from bench.common import patient_count, portal_app

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = {"plan": "/patients/{id}/plan", "crisis": "/patients/{id}/crisis", "bare": "/healthz"}


def signed_in_client(app, patient_id: int):
    """A test client signed in as the patient, through the sign-in form like a browser."""
    from portal.extensions import db
    from portal.models import Patient, User

    with app.app_context():
        email = db.session.scalar(
            select(User.email).join(Patient, Patient.user_id == User.id)
            .where(Patient.id == patient_id)
        )
    if email is None:
        raise SystemExit(f"patient {patient_id} has no account; choose another with --patient")
    client = app.test_client()
    token = CSRF.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    response = client.post(
        "/sign-in", data={"csrf_token": token, "email": email, "password": datagen.PASSWORD}
    )
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed: {response.status_code}")
    return client


def run(client, path: str, count: int) -> None:
    for _ in range(count):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")


def measure(client, path: str, engine, count: int) -> tuple[float, float, float]:
    """CPU and wall seconds and SQL statements per request over ``count`` requests."""
    statements = 0

    def counted(*_args):
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", counted)
    cpu, wall = time.process_time(), time.perf_counter()
    run(client, path, count)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    event.remove(engine, "before_cursor_execute", counted)
    return cpu / count, wall / count, statements / count


def beside_bare(app, client, path: str, engine, count: int, rounds: int = 3) -> None:
    """The plan page's own cost (less the bare endpoint's) with its body kept and built every
    time, in rounds that alternate the three in this one process, so the machine's load
    weighs on each alike."""
    def built_every_time(on: bool) -> None:
        app.config["PLAN_PAGE_CACHE_SIZE"] = 0 if on else 200
        app.extensions.pop("plan_page_cache", None)

    figures = {"bare": [], "kept": [], "built": []}
    hits = misses = 0
    for _ in range(rounds):
        figures["bare"].append(measure(client, PAGES["bare"], engine, count))
        built_every_time(False)
        run(client, path, 1)
        figures["kept"].append(measure(client, path, engine, count))
        cache = app.extensions["plan_page_cache"]
        hits, misses = hits + cache.hits, misses + cache.misses
        built_every_time(True)
        figures["built"].append(measure(client, path, engine, count))
    built_every_time(False)
    best = {name: min(cpu for cpu, _wall, _sql in runs) * 1000 for name, runs in figures.items()}
    print(f"Plan page beside the bare endpoint, {rounds} alternating rounds of {count} requests "
          "(best round, CPU ms per request):")
    for name, label in (("bare", "bare endpoint /healthz"),
                        ("kept", "plan page, body kept (a repeat view)"),
                        ("built", "plan page, body built (first view or plan changed)")):
        cpu = [f"{c * 1000:.2f}" for c, _w, _s in figures[name]]
        sql = figures[name][0][2]
        own = "" if name == "bare" else f"; own cost {best[name] - best['bare']:.2f} ms"
        print(f"  {label:52s} {best[name]:6.2f} ms (rounds: {', '.join(cpu)}; "
              f"{sql:.0f} SQL){own}")
    print(f"  (bodies kept: {hits} views served from them, {misses} built, the first of each "
          "round; the page is built every time on its second line)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///" + str(RESULTS / "profile.sqlite3"))
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--patient", type=int, default=2, help="whose page (patient id)")
    parser.add_argument("--page", choices=sorted(PAGES), default="plan")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if patient_count(args.url) < args.patients:
        datagen.generate(args.url, args.patients)

    from portal.extensions import db

    app = portal_app(args.url)
    client = signed_in_client(app, args.patient)
    path = PAGES[args.page].format(id=args.patient)
    run(client, path, 20)  # warm: templates compiled, catalogues and statement cache filled
    with app.app_context():
        engine = db.engine

    if args.page == "plan":
        beside_bare(app, client, path, engine, args.requests)
    cpu, wall, statements = measure(client, path, engine, args.requests)
    profiler = cProfile.Profile()
    profiler.enable()
    run(client, path, args.requests)
    profiler.disable()

    n = args.requests
    calls = pstats.Stats(profiler).total_calls / n
    print(f"{path} on {engine.dialect.name}, {n} requests: {cpu * 1000:.2f} ms CPU, "
          f"{wall * 1000:.2f} ms wall, {statements:.1f} SQL statements, "
          f"{calls:,.0f} Python function calls per request")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        print(f"\n--- top {args.top} by {order} (under cProfile, so slower than above) ---")
        print(out.getvalue().split("\n\n", 2)[-1].rstrip())


if __name__ == "__main__":
    main()
