"""Per-request CPU cost of one page or save, measured in-process, with the functions that cost
most.

    python -m bench.page_profile --url postgresql+psycopg://postgres@127.0.0.1:5432/portal_profile \
        --patients 2000 --page plan --requests 300

Generates the data if the database has fewer patients than asked, signs the right person in
through the real form, warms the app up, then runs the page ``--requests`` times twice: once
plain, to print CPU and wall milliseconds per request and SQL statements per request, and once
under cProfile, to print the ``--top`` functions by cumulative and by own time. For the plan
page it first compares, in alternating rounds, the bare endpoint, the plan page with its body
kept (a repeat view, ``portal.plans.page_cache``) and the plan page built every time (the cache
off), and prints each one's own cost (less the bare endpoint's). CPU time is this
process only (the database's own work shows in the wall time), so it is a better guide than
wall time on a machine shared with other work; the count of Python function calls does not
depend on the machine's load at all. Nothing here is part of the test suite.

The saves (``goal-save``, ``meeting-save``) are replayed as the load test performs them
(``bench.forms``): the form is opened (not measured), then posted with a real change and the
redirect followed, as locust's user does and times under the save's name. The goal is saved
by the patient, the meeting recorded by a nurse of the patient's practice. Their jobs (the
PDFs rendered again, notifications) go to a queue of their own on ``--broker``, as the load
test's server sends them to its worker, and nobody takes them: the queue is deleted at the end.
Each save must answer the redirect a browser follows, and the row's version must have moved on
once per save, or the run stops.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
from sqlalchemy import event, select

from bench import datagen, forms
from bench.common import patient_count, portal_app

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = {"plan": "/patients/{id}/plan", "crisis": "/patients/{id}/crisis", "bare": "/healthz"}
SAVES = {
    "goal-save": "/patients/{id}/goals/{goal}/edit",
    "meeting-save": "/patients/{id}/review/record",
}
BROKER = "redis://127.0.0.1:6379/15"  # a database of its own: the load test uses 11 to 13


def signed_in_client(app, email: str):
    """A test client signed in through the sign-in form like a browser (staff answer the
    two-step code with the bench key)."""
    client = app.test_client()
    token = CSRF.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    response = client.post(
        "/sign-in", data={"csrf_token": token, "email": email, "password": datagen.PASSWORD}
    )
    if response.status_code == 302 and "/sign-in/code" in response.headers["Location"]:
        for attempt in range(2):
            token = CSRF.search(client.get("/sign-in/code").get_data(as_text=True)).group(1)
            code = pyotp.TOTP(datagen.MFA_SECRET).now()
            response = client.post("/sign-in/code", data={"csrf_token": token, "code": code})
            if response.status_code == 302 or attempt:
                break
            time.sleep(31 - time.time() % 30)  # a code is taken once: wait for the next one
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed for {email}: {response.status_code}")
    return client


def who_and_what(app, page: str, patient_id: int) -> tuple[str, dict]:
    """Who signs in for ``page`` and the ids its path takes: the patient for their pages and
    goal, a nurse of their practice for the meeting."""
    from portal.extensions import db
    from portal.models import CarePlan, Goal, GoalStatus, Patient, Role, User

    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        if patient is None:
            raise SystemExit(f"no patient {patient_id}")
        ids = {"id": patient_id}
        if page == "meeting-save":
            if not patient.care_team_consent:
                raise SystemExit(f"patient {patient_id} keeps the care team out; try another")
            email = db.session.scalar(
                select(User.email)
                .where(User.role == Role.PROFESSIONAL,
                       User.organisation_id == patient.organisation_id)
                .order_by(User.id)
            )
            return email, ids
        email = patient.user.email if patient.user else None
        if email is None:
            raise SystemExit(f"patient {patient_id} has no account; choose another with --patient")
        if page == "goal-save":
            ids["goal"] = db.session.scalar(
                select(Goal.id).join(CarePlan, CarePlan.id == Goal.plan_id)
                .where(CarePlan.patient_id == patient_id,
                       Goal.status.in_([GoalStatus.PROPOSED, GoalStatus.AGREED]))
                .order_by(Goal.id)
            )
        return email, ids


def saved_version(app, page: str, ids: dict) -> int:
    """The version the save moves on: the goal's, or the plan's agreed version."""
    from portal.extensions import db
    from portal.models import CarePlan, Goal

    with app.app_context():
        if page == "goal-save":
            return db.session.get(Goal, ids["goal"]).version
        return db.session.scalar(
            select(CarePlan.agreed_version).where(CarePlan.patient_id == ids["id"])
        )


@dataclass
class Measure:
    """What the timed part of each request cost, summed: the page itself (a save's POST) and,
    for a save, the page its redirect leads to."""

    statements: list[int] = field(default_factory=lambda: [0, 0])
    shown: list[str] | None = None  # with ``--statements``: the SQL sent, one line each
    cpu: list[float] = field(default_factory=lambda: [0.0, 0.0])
    wall: list[float] = field(default_factory=lambda: [0.0, 0.0])
    part: int | None = None  # which part is running; None while the form is opened
    profiled: int | None = None  # the part profiled (None: both)

    def count(self, _conn, _cursor, statement, *_args) -> None:
        if self.part is not None:
            self.statements[self.part] += 1
            if self.shown is not None:
                self.shown.append(f"  [{self.part}] " + " ".join(statement.split())[:160])

    def timed(self, part: int, call, profiler=None):
        self.part = part
        if profiler and self.profiled is not None and part != self.profiled:
            profiler = None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        try:
            return call()
        finally:
            if profiler:
                profiler.disable()
            self.cpu[part] += time.process_time() - cpu
            self.wall[part] += time.perf_counter() - wall
            self.part = None


def run(client, page: str, path: str, count: int, measure: Measure, profiler=None) -> None:
    for _ in range(count):
        if page not in SAVES:
            response = measure.timed(0, lambda: client.get(path), profiler)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            continue
        form_page = client.get(path).get_data(as_text=True)
        data = forms.goal_change(form_page) if page == "goal-save" else forms.meeting_record(
            form_page
        )
        response = measure.timed(0, lambda data=data: client.post(path, data=data), profiler)
        if response.status_code != 302:
            raise SystemExit(f"{path} answered {response.status_code}, not the redirect")
        target = response.headers["Location"]
        followed = measure.timed(1, lambda target=target: client.get(target), profiler)
        if followed.status_code != 200:
            raise SystemExit(f"{target} answered {followed.status_code}")


def beside_bare(app, client, path: str, engine, count: int, rounds: int = 3) -> None:
    """The plan page's own cost (less the bare endpoint's) with its body kept and built every
    time, in rounds that alternate the three in this one process, so the machine's load
    weighs on each alike."""

    def per_request(page_path: str) -> tuple[float, float]:
        measure = Measure()
        event.listen(engine, "before_cursor_execute", measure.count)
        run(client, "plan", page_path, count, measure)
        event.remove(engine, "before_cursor_execute", measure.count)
        return measure.cpu[0] / count * 1000, measure.statements[0] / count

    def built_every_time(on: bool) -> None:
        app.config["PLAN_PAGE_CACHE_SIZE"] = 0 if on else 200
        app.extensions.pop("plan_page_cache", None)

    figures = {"bare": [], "kept": [], "built": []}
    hits = misses = 0
    for _ in range(rounds):
        figures["bare"].append(per_request(PAGES["bare"]))
        built_every_time(False)
        run(client, "plan", path, 1, Measure())
        figures["kept"].append(per_request(path))
        cache = app.extensions["plan_page_cache"]
        hits, misses = hits + cache.hits, misses + cache.misses
        built_every_time(True)
        figures["built"].append(per_request(path))
    built_every_time(False)
    best = {name: min(cpu for cpu, _sql in runs) for name, runs in figures.items()}
    print(f"Plan page beside the bare endpoint, {rounds} alternating rounds of {count} requests "
          "(best round, CPU ms per request):")
    for name, label in (("bare", "bare endpoint /healthz"),
                        ("kept", "plan page, body kept (a repeat view)"),
                        ("built", "plan page, body built (first view or plan changed)")):
        cpu = ", ".join(f"{c:.2f}" for c, _sql in figures[name])
        own = "" if name == "bare" else f"; own cost {best[name] - best['bare']:.2f} ms"
        print(f"  {label:52s} {best[name]:6.2f} ms (rounds: {cpu}; "
              f"{figures[name][0][1]:.0f} SQL){own}")
    print(f"  (bodies kept: {hits} views served from them, {misses} built, the first of each "
          "round; the page is built every time on its second line)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///" + str(RESULTS / "profile.sqlite3"))
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--patient", type=int, default=2, help="whose page (patient id)")
    parser.add_argument("--page", choices=sorted(PAGES) + sorted(SAVES), default="plan")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--statements", action="store_true",
                        help="print the SQL statements of one request first")
    parser.add_argument("--profile", choices=("both", "save", "redirect"), default="both",
                        help="which part of a save cProfile watches")
    parser.add_argument("--dump", help="also write cProfile's figures to this file (pstats)")
    parser.add_argument("--broker", default=BROKER, help="Redis for the saves' jobs")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if patient_count(args.url) < args.patients:
        datagen.generate(args.url, args.patients)

    queue = None
    if args.page in SAVES:
        queue = f"portal-profile-{uuid.uuid4().hex[:8]}"
        os.environ.update({"PORTAL_CELERY_BROKER_URL": args.broker, "PORTAL_CELERY_QUEUE": queue})
    from portal.extensions import db

    app = portal_app(args.url)
    email, ids = who_and_what(app, args.page, args.patient)
    client = signed_in_client(app, email)
    path = {**PAGES, **SAVES}[args.page].format(**ids)
    try:
        profile(app, client, args, path, ids, db)
    finally:
        if queue:
            import redis

            # The queue with its jobs, and kombu's record of it
            redis.Redis.from_url(args.broker).delete(
                queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
            )


def profile(app, client, args, path: str, ids: dict, db) -> None:
    page, n = args.page, args.requests
    run(client, page, path, 20, Measure())  # warm: templates, catalogues, statement cache
    measure = Measure()
    with app.app_context():
        engine = db.engine
    if page == "plan":
        beside_bare(app, client, path, engine, n)
    if args.statements:
        one = Measure(shown=[])
        event.listen(engine, "before_cursor_execute", one.count)
        run(client, page, path, 1, one)
        event.remove(engine, "before_cursor_execute", one.count)
        print("The statements of one request ([0] the page or save, [1] its redirect):")
        print("\n".join(one.shown))
    before = saved_version(app, page, ids) if page in SAVES else 0
    event.listen(engine, "before_cursor_execute", measure.count)
    run(client, page, path, n, measure)
    event.remove(engine, "before_cursor_execute", measure.count)
    if page in SAVES and saved_version(app, page, ids) != before + n:
        raise SystemExit(f"{n} saves did not move the version on {n} times")

    profiler = cProfile.Profile()
    profiled = {"both": None, "save": 0, "redirect": 1}[args.profile]
    run(client, page, path, n, Measure(profiled=profiled), profiler)
    if args.dump:
        profiler.dump_stats(args.dump)

    calls = pstats.Stats(profiler).total_calls / n
    parts = ("save (POST)", "redirect followed") if page in SAVES else ("page",)
    print(f"{path} on {engine.dialect.name}, {n} requests, per request:")
    for i, name in enumerate(parts):
        print(f"  {name}: {measure.cpu[i] / n * 1000:.2f} ms CPU, "
              f"{measure.wall[i] / n * 1000:.2f} ms wall, {measure.statements[i] / n:.1f} SQL "
              "statements")
    if page in SAVES:
        print(f"  both, as the load test times them: {sum(measure.cpu) / n * 1000:.2f} ms CPU, "
              f"{sum(measure.wall) / n * 1000:.2f} ms wall, {sum(measure.statements) / n:.1f} "
              "SQL statements")
    print(f"  {calls:,.0f} Python function calls ({args.profile if page in SAVES else 'page'})")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        print(f"\n--- top {args.top} by {order} (under cProfile, so slower than above) ---")
        print(out.getvalue().split("\n\n", 2)[-1].rstrip())


if __name__ == "__main__":
    main()
