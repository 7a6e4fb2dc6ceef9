"""Load test: the portal under gunicorn, the real journeys against a bare endpoint.

    python -m bench.load --url postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench \
        --patients 100000 --users 20 --seconds 60

Generates the data if the database has fewer patients than asked, summarises last month for the
commissioner's report (the nightly job), starts gunicorn with ``gunicorn.conf.py`` (as
``make serve`` does) on a free local port, runs locust headless with the same number of users
(15 s of the journey mix to warm up, not counted; the mix with pauses, then without, then the
bare ``/healthz``), samples the workers' memory, and prints requests per second, p50/p95/p99
latency, errors and the throughput ratio, with the issue's p95 targets beside the figures.

With Redis on 127.0.0.1:6379 the server and a real Celery worker share a queue of the run's own
(``bench.queue_side``): the notifications the pages queue are delivered to an SMTP server on
loopback during the run, a practice administrator uploads and confirms a register file of
``--import-rows`` rows while the people work, and the worker's memory, Redis's ``used_memory``
and the queue's length are sampled every second (start, end and peak printed per phase, so a
growing backlog shows). Only 127.0.0.1 is ever contacted.
"""

import argparse
import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil
import pyotp
import requests
from sqlalchemy import create_engine, text

from bench import cpu_share, datagen, queue_side, replica
from bench.common import patient_count, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WARM_UP_SECONDS = 15
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MemorySampler(threading.Thread):
    """Peak resident memory of each gunicorn worker, sampled every half second."""

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master = psutil.Process(master_pid)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.5):
            try:
                for child in self.master.children():
                    self.peak_mb = max(self.peak_mb, child.memory_info().rss / 2**20)
            except psutil.Error:
                pass


def _sign_in(host: str, email: str) -> requests.Session:
    """Through the real form, answering the two-step step for staff with the bench key."""
    client = requests.Session()
    page = client.get(f"{host}/sign-in", timeout=30).text
    response = client.post(
        f"{host}/sign-in",
        data={"csrf_token": CSRF.search(page).group(1), "email": email,
              "password": datagen.PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code == 302 and "/sign-in/code" in response.headers["Location"]:
        page = client.get(f"{host}/sign-in/code", timeout=30).text
        response = client.post(
            f"{host}/sign-in/code",
            data={"csrf_token": CSRF.search(page).group(1),
                  "code": pyotp.TOTP(datagen.MFA_SECRET).now()},
            allow_redirects=False,
            timeout=30,
        )
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed for {email}: {response.status_code}")
    return client


def sign_in_sessions(host: str, url: str, count: int) -> dict:
    """Sign patients (each with a goal and a crisis step to change), nurses and a commissioner
    in before the timed run, and keep their cookies."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT patients.id, users.email, min(goals.id), "
                "(SELECT min(crisis_steps.id) FROM crisis_steps "
                "WHERE crisis_steps.plan_id = care_plans.id) FROM patients "
                "JOIN users ON users.id = patients.user_id "
                "JOIN care_plans ON care_plans.patient_id = patients.id "
                "JOIN goals ON goals.plan_id = care_plans.id "
                "AND goals.status IN ('proposed', 'agreed') "
                "GROUP BY patients.id, users.email, care_plans.id ORDER BY patients.id LIMIT :n"
            ),
            {"n": count},
        ).all()
    engine.dispose()
    patients = [
        {"patient_id": patient_id, "goal_id": goal_id, "step_id": step_id,
         "cookies": _sign_in(host, email).cookies.get_dict()}
        for patient_id, email, goal_id, step_id in rows
    ]
    commissioner = _sign_in(host, "commissioner@bench.invalid").cookies.get_dict()
    return {"patients": patients, "commissioner": commissioner,
            "professionals": professional_sessions(host, url, max(1, count // 4))}


def professional_sessions(host: str, url: str, count: int) -> list[dict]:
    """Nurses of the first practices, each with some of the practice's patients to open."""
    engine = create_engine(url)
    with engine.connect() as conn:
        staff = conn.execute(
            text("SELECT email, organisation_id FROM users WHERE role = 'professional' "
                 "ORDER BY id LIMIT :n"),
            {"n": count},
        ).all()
        patients = {
            org: conn.execute(
                text("SELECT id FROM patients WHERE organisation_id = :org "
                     "AND care_team_consent ORDER BY id LIMIT 20"),
                {"org": org},
            ).scalars().all()
            for org in {org for _email, org in staff}
        }
    engine.dispose()
    return [
        {"patient_ids": patients[org], "cookies": _sign_in(host, email).cookies.get_dict()}
        for email, org in staff
    ]


def summarise_last_month(env: dict) -> None:
    """As the nightly job would have done: the report reads last month's stored summary."""
    month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "portal", "report-summarise",
         "--month", month],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )


def run_locust(
    host: str, user_class: str, users: int, seconds: int, tag: str, env, think: str = "0",
    arriving: float | None = None,
) -> dict:
    """One locust run; ``arriving`` users start per second (default: all at once)."""
    prefix = RESULTS / tag
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
         "--headless", "--host", host, "-u", str(users), "-r", str(arriving or users),
         "-t", f"{seconds}s", "--csv", str(prefix), "--only-summary", *user_class.split()],
        check=False,
        env={**env, "BENCH_THINK": think},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def fmt(row: dict, name: str | None = None) -> str:
    return (f"| {name or row['Name']} | {int(row['Request Count']):,} | "
            f"{int(row['Failure Count']):,} | {float(row['Requests/s']):.1f} | "
            f"{row['50%']} | {row['95%']} | {row['99%']} |")


def target_ms(name: str) -> int | None:
    """The issue's p95 targets: the plan and crisis pages 50 ms, every other page and the
    (pre-rendered) PDF 100 ms."""
    if name in ("Aggregated", "/healthz"):
        return None
    page = name.split(" (")[0]
    return 50 if page in ("/patients/[id]/plan", "/patients/[id]/crisis") else 100


def fmt_target(row: dict) -> str:
    """A row with its p95 target beside it: met, or missed by how much."""
    target = target_ms(row["Name"])
    if target is None:
        return fmt(row) + " | |"
    p95 = float(row["95%"])
    verdict = "met" if p95 < target else f"missed by {p95 - target:.0f} ms"
    failures = int(row["Failure Count"])
    if failures:
        verdict += f"; {failures} errors (target 0)"
    return fmt(row) + f" {target} | {verdict} |"


def _drain(queue, limit: float = 120) -> str:
    """How long after the last request the queue took to empty (the jobs the pages queued)."""
    if queue is None:
        return "(no queue)"
    begun = time.perf_counter()
    while time.perf_counter() - begun < limit:
        if queue.sample().backlog == 0:
            return f"{time.perf_counter() - begun:.0f} s"
        time.sleep(1)
    return f"not within {limit:.0f} s"


def _import_line(rows: int, result: dict) -> str:
    if "import_s" not in result:
        return f"Register import of {rows:,} rows in the background: {result.get('status')}"
    return (
        f"Register import of {rows:,} rows in the background (uploaded through the page, "
        f"checked and imported by the worker): uploaded in {result['upload_s']:.1f} s, checked "
        f"{result['check_s']:.0f} s after the upload began, imported "
        f"{result['import_s']:.0f} s after confirming; {result['status']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Load test the portal under gunicorn.")
    parser.add_argument("--url", default="sqlite:///" + str(RESULTS / "load.sqlite3"))
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=os.cpu_count() * 2 + 1)
    parser.add_argument(
        "--import-rows",
        type=int,
        default=8000,
        help="rows of the register file imported in the background during the run (0: none)",
    )
    parser.add_argument(
        "--audit-async-commit",
        action="store_true",
        help="run with PORTAL_AUDIT_VIEW_ASYNC_COMMIT on (see docs/performance.md)",
    )
    parser.add_argument(
        "--pdf-render-nice",
        type=int,
        help="PORTAL_PDF_RENDER_NICE for the server (default: the portal's, 10; 0 turns it off)",
    )
    parser.add_argument(
        "--reports-replica",
        action="store_true",
        help="PostgreSQL: read the report from a streaming replica started for the run",
    )
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if patient_count(args.url) < args.patients:
        started = time.perf_counter()
        datagen.generate(args.url, args.patients)
        print(f"generated {args.patients:,} patients in {time.perf_counter() - started:.0f} s")
    with contextlib.ExitStack() as stack:
        standby = None
        if args.reports_replica:
            started = time.perf_counter()
            try:
                standby = stack.enter_context(replica.streaming_replica(args.url))
            except (OSError, SystemExit) as exc:  # e.g. pg_hba.conf not writable by this user
                print(f"no streaming replica ({exc}): the report is read from the primary")
            else:
                print(f"streaming replica started in {time.perf_counter() - started:.0f} s")
        env, queue = env_for(args), None
        if queue_side.redis_answers():
            queue = stack.enter_context(queue_side.job_queue(env, RESULTS))
        else:
            print("Redis is not answering on 127.0.0.1:6379: no job queue, no notifications")
        run(args, env, standby, queue)


def _replica_reads(url: str) -> int:
    """Transactions the standby has served on the benchmark's database so far."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            )).scalar_one()
    finally:
        engine.dispose()


class LagSampler(threading.Thread):
    """The standby's replay lag (as the primary reports it), sampled every second."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(1):
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, replica.lag_seconds(self.url))


def env_for(args) -> dict:
    """The settings the web server and the Celery worker share (the worker's are added by
    ``queue_side.job_queue``)."""
    env = {
        **os.environ,
        "DATABASE_URL": args.url,
        "PORTAL_ENV": "development",  # plain-HTTP cookies on loopback; nothing else differs
        "PORTAL_SECRET_KEY": "bench-only-secret",
        "PORTAL_RATELIMIT_ENABLED": "false",
        "PORTAL_AUDIT_VIEW_ASYNC_COMMIT": "true" if args.audit_async_commit else "false",
        "BENCH_SESSIONS": str(RESULTS / "sessions.json"),
    }
    if args.pdf_render_nice is not None:
        env["PORTAL_PDF_RENDER_NICE"] = str(args.pdf_render_nice)
    return env


def plan_page_bodies(log: Path) -> tuple[int, int]:
    """Plan page views served from kept bodies and built, as each worker said at its end."""
    kept = built = 0
    if log.exists():
        for match in re.finditer(r"plan page bodies: (\d+) views kept, (\d+) built",
                                 log.read_text(encoding="utf-8", errors="replace")):
            kept, built = kept + int(match[1]), built + int(match[2])
    return kept, built


ACCESS_LOG = RESULTS / "gunicorn-access.log"
ACCESS_FORMAT = "%(m)s %(U)s %(q)s %(s)s %(D)s"  # method, path, query, status, microseconds


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def request_name(method: str, path: str, query: str) -> str:
    """The load test's name for a request, as the server sees it (a professional's view of a
    page is not told apart from a patient's)."""
    name = re.sub(r"/\d+", "/[id]", path)
    if name == "/worklist" and query not in ("", "-"):
        name += "?q" if re.search(r"(^|&)q=", query) else "?filter"
    return name + (" (save)" if method == "POST" else "")


def server_side(log: Path, start: int, end: int) -> list[str]:
    """Rows of server-side times per request name, for the log's bytes ``start``-``end``."""
    with open(log, "rb") as lines:
        lines.seek(start)
        text_ = lines.read(end - start).decode("utf-8", "replace")
    times: dict[str, list[float]] = {}
    for line in text_.splitlines():
        parts = line.split(" ")
        if len(parts) != 5 or not parts[4].isdigit():
            continue
        method, path, query, _status, micros = parts
        times.setdefault(request_name(method, path, query), []).append(int(micros) / 1000)
    rows = []
    for name in sorted(times):
        ordered = sorted(times[name])
        p95 = percentile(ordered, 0.95)
        target = target_ms(name)
        verdict = "" if target is None else (
            "met" if p95 < target else f"missed by {p95 - target:.0f} ms"
        )
        rows.append(
            f"| {name} | {len(ordered):,} | {percentile(ordered, 0.5):.0f} | {p95:.0f} | "
            f"{percentile(ordered, 0.99):.0f} | {target or ''} | {verdict} |"
        )
    return rows


def run(args, env: dict, standby: str | None, queue) -> None:
    port = free_port()
    summarise_last_month(env)
    lag = None
    if standby:
        env["PORTAL_REPORTS_DATABASE_URL"] = standby
        lag = LagSampler(args.url)
        lag.start()
        replica_reads = _replica_reads(standby)
    (RESULTS / "gunicorn.log").unlink(missing_ok=True)
    ACCESS_LOG.unlink(missing_ok=True)
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config", "gunicorn.conf.py",
         "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "info", "--error-logfile", str(RESULTS / "gunicorn.log"),
         "--access-logfile", str(ACCESS_LOG), "--access-logformat", ACCESS_FORMAT],
        cwd=ROOT, env=env,
    )
    sampler = MemorySampler(server.pid)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        sampler.start()
        host = f"http://127.0.0.1:{port}"
        sessions = sign_in_sessions(host, args.url, args.users)
        (RESULTS / "sessions.json").write_text(json.dumps(sessions), encoding="utf-8")
        mix = "PatientUser ProfessionalUser CommissionerUser"
        since = datetime.now(UTC)
        # Not counted: the first visits after a start fill the database's buffer cache and
        # each worker's statement cache, which a server that has been up for a while has done.
        run_locust(host, mix, args.users, WARM_UP_SECONDS, "warm-up", env, think="1-3")
        importing = None
        if queue and args.import_rows:
            # A practice administrator imports the register while everyone else works.
            importing = queue_side.ImportRun(host, args.url, args.import_rows)
            importing.start()
        worker_pid = queue.worker_pid if queue else None
        cpu = [cpu_share.read(server.pid, worker_pid)]
        logged = [_size(ACCESS_LOG)]
        phases = {"people": time.perf_counter()}
        # People arrive over a few seconds, as they do, rather than in the same instant.
        people = run_locust(
            host, mix, args.users, args.seconds, "people", env, think="1-3", arriving=5
        )
        phases["journeys"] = time.perf_counter()
        cpu.append(cpu_share.read(server.pid, worker_pid))
        logged.append(_size(ACCESS_LOG))
        journeys = run_locust(host, mix, args.users, args.seconds, "journeys", env)
        phases["end"] = time.perf_counter()
        cpu.append(cpu_share.read(server.pid, worker_pid))
        bare = run_locust(host, "BareUser", args.users, max(20, args.seconds // 2), "bare", env)
        if importing:
            importing.join(timeout=importing.timeout)
        drained = _drain(queue)
    finally:
        sampler.stop.set()
        if lag:
            lag.stop.set()
            replica_reads = _replica_reads(standby) - replica_reads
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    kept, built = plan_page_bodies(RESULTS / "gunicorn.log")
    total, bare_total = journeys["Aggregated"], bare["Aggregated"]
    ratio = float(total["Requests/s"]) / max(float(bare_total["Requests/s"]), 1e-9)
    header = [
        "| request | count | failures | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    lines = [
        f"# Load test: {args.patients:,} patients, {args.users} users, {args.workers} workers",
        "",
        f"Database: `{args.url.split('@')[-1]}`. The load generator runs on the same machine.",
        "",
        f"### {args.users} people using the portal (1 to 3 s between pages), {args.seconds} s",
        "",
        f"After {WARM_UP_SECONDS} s of the same mix, not counted; the people arrive 5 a second. "
        "Targets (issue 28, with 20 people): p95 under 50 ms for the plan and crisis pages, "
        "under 100 ms for every other page and the PDF; no errors.",
        "",
        "| request | count | failures | req/s | p50 ms | p95 ms | p99 ms | p95 target ms | "
        "met? |",
        "|---|---|---|---|---|---|---|---|---|",
        *[fmt_target(row) for name, row in people.items() if name != "Aggregated"],
        fmt_target(people["Aggregated"]),
        "",
        cpu_share.describe(cpu[0], cpu[1], phases["journeys"] - phases["people"]),
        "",
        "The same requests timed by the server (gunicorn's own time from the request's first "
        "byte to its last, from its access log): the load generator's figures above add the "
        "time its own process waited for a core.",
        "",
        "| request | count | p50 ms | p95 ms | p99 ms | p95 target ms | met? |",
        "|---|---|---|---|---|---|---|",
        *server_side(ACCESS_LOG, logged[0], logged[1]),
        "",
        f"### Capacity: the same {args.users} users with no pause, then the bare endpoint",
        "",
        *header,
        *[fmt(row) for name, row in journeys.items() if name != "Aggregated"],
        fmt(total),
        fmt(bare_total, "/healthz (bare)"),
        "",
        "No pauses: " + cpu_share.describe(cpu[1], cpu[2], phases["end"] - phases["journeys"]),
        "",
        f"Throughput of the journeys against the bare endpoint: {ratio:.0%}",
        f"Peak worker memory: {sampler.peak_mb:.0f} MB",
        f"Plan page views over the whole run (warm-up, people, no pauses) served from a body "
        f"kept by their worker: {kept:,} of {kept + built:,} "
        f"({kept / max(kept + built, 1):.0%}); each worker keeps its own",
    ]
    if lag:
        lines += [
            "",
            "The report (`/reports`) was read from a PostgreSQL streaming replica on loopback "
            f"(`PORTAL_REPORTS_DATABASE_URL`): {replica_reads:,} transactions served by the "
            f"replica during the run; largest replay lag seen {lag.peak:.1f} s.",
        ]
    if queue:
        lines += ["", "### The job queue during the run (a real Celery worker on Redis)", ""]
        for title, start, end in (
            (f"{args.users} people with pauses", phases["people"], phases["journeys"]),
            ("no pauses", phases["journeys"], phases["end"]),
        ):
            lines += [f"{title}:", "", *[f"- {line}" for line in
                                         queue_side.describe(queue, start, end)], ""]
        counts = queue_side.notification_counts(args.url, since)
        lines += [
            f"Notifications queued by the pages during the run, by status at the end: {counts}; "
            f"queue empty {drained} after the last request.",
        ]
        if importing:
            lines.append(_import_line(args.import_rows, importing.result))
    summary = "\n".join(lines)
    (RESULTS / "load-summary.md").write_text(summary + "\n", encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    main()
