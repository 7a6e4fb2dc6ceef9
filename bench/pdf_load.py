"""PDF downloads under load with the job queue on: cached copies served, never rendered in the
request, and downloads right after a change waiting for the queue's rendering.

    python -m bench.pdf_load [--patients 400] [--users 20] [--seconds 60] [--think 1-3]

Needs Redis on 127.0.0.1:6379 (database 12, a queue named for the run); PostgreSQL when one
answers on 127.0.0.1:5432, otherwise SQLite. Generates the patients, starts gunicorn with the
portal's settings (``bench/pdf_gunicorn.py`` adds a count of the PDFs rendered inside web
requests) and one Celery worker, signs ``--users`` patients in through the real form, queues
a rendering of each one's PDFs and waits until the worker has done them all. Then locust runs
``PdfUser`` (``bench/locustfile.py``): each person downloads their plan (6 in 10) and crisis
sheet (3 in 10), and once in 10 changes a goal through its form and downloads the plan at
once, which waits for the worker's new rendering. Prints p50/p95/p99 per request, errors, the
renders inside requests (target 0) and the renders done by the worker. Only 127.0.0.1 is
contacted.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from bench import cpu_share
from bench.common import percentile
from bench.load import RESULTS, fmt, free_port, run_locust, sign_in_sessions

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/12"
PREFIX = "portal:pdf:"


def database() -> str:
    from bench.__main__ import fresh_pg_database

    url = fresh_pg_database("portal_bench_pdf")
    return url or "sqlite:///" + str(Path(tempfile.mkdtemp()) / "pdf.sqlite3")


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "a") as output:
        return subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_port(port: int, seconds: float = 60) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on port {port}")


def queue_idle(store: redis.Redis, queue: str) -> bool:
    """Nothing waiting in the queue, taken by the worker, queued or being rendered."""
    return not (
        store.llen(queue)
        or store.hlen("unacked")
        or next(store.scan_iter(PREFIX + "*:rendering", count=1000), None)
        or next(store.scan_iter(PREFIX + "queued:*", count=1000), None)
    )


def stored(store: redis.Redis) -> int:
    return store.zcard(PREFIX + "index")


def prerender_all(env: dict, patient_ids: list[int], store: redis.Redis, queue: str) -> float:
    """Queue a rendering of each patient's PDFs and wait until the worker has done them."""
    os.environ.update(env)
    from portal import create_app, jobs

    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        jobs.publish_many([("pdf.prerender", (patient_id,)) for patient_id in patient_ids])
    while not queue_idle(store, queue) and time.perf_counter() - started < 900:
        time.sleep(0.5)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=400)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--think", default="1-3", help="seconds between requests ('0': none)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    parser.add_argument(
        "--no-changes", action="store_true",
        help="cached downloads only: no goal changed, so no download waits for the queue",
    )
    args = parser.parse_args()
    store = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        store.ping()
    except redis.RedisError:
        print("Redis is not answering on 127.0.0.1:6379: nothing measured.")
        return
    for key in store.scan_iter(PREFIX + "*", count=1000):
        store.delete(key)  # a previous run's documents (the same plan ids)

    from bench.datagen import generate

    url = database()
    started = time.perf_counter()
    generate(url, args.patients)
    print(f"Data: {args.patients:,} patients in {time.perf_counter() - started:.0f} s "
          f"({url.split(':', 1)[0]})")
    run_id = uuid.uuid4().hex[:8]
    queue, counter = f"portal-bench-pdf-{run_id}", f"bench:pdf:renders-in-requests:{run_id}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({
        "DATABASE_URL": url,
        "PORTAL_ENV": "development",  # plain-HTTP cookies on loopback; nothing else differs
        "PORTAL_SECRET_KEY": "bench-only-secret",
        "PORTAL_RATELIMIT_ENABLED": "false",
        "PORTAL_CELERY_BROKER_URL": REDIS,
        "PORTAL_CELERY_QUEUE": queue,
        "BENCH_RENDER_COUNTER": counter,
        "BENCH_SESSIONS": str(RESULTS / "pdf-sessions.json"),
        "BENCH_PDF_CHANGES": "0" if args.no_changes else "1",
    })
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "pdf-load-servers.log"
    log.unlink(missing_ok=True)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    server = start(
        [str(Path(sys.executable).with_name("gunicorn")), "--config", "bench/pdf_gunicorn.py",
         "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "--log-level",
         "warning"], env, log,
    )  # fmt: skip
    worker = start(
        [sys.executable, "-m", "celery", "-A", "portal.worker", "worker", "-Q", queue,
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        env, log,
    )  # fmt: skip
    try:
        wait_for_port(port)
        import json

        sessions = sign_in_sessions(host, url, args.users)
        (RESULTS / "pdf-sessions.json").write_text(json.dumps(sessions), encoding="utf-8")
        patient_ids = [session["patient_id"] for session in sessions["patients"]]
        took = prerender_all(env, patient_ids, store, queue)
        ready = stored(store)
        print(f"Rendered ahead by the worker: {ready} documents for {len(patient_ids)} patients "
              f"in {took:.0f} s")
        store.delete(counter, counter + ":times")
        load_before = os.getloadavg()[0]
        worker_cpu = cpu_share.tree_seconds(worker.pid)
        result = run_locust(
            host, "PdfUser", args.users, args.seconds, "pdf-load", env, think=args.think,
            arriving=5,
        )  # fmt: skip
        time.sleep(1)
        while not queue_idle(store, queue):
            time.sleep(0.5)
        worker_cpu = cpu_share.tree_seconds(worker.pid) - worker_cpu
        in_requests = int(store.get(counter) or 0)
        by_worker = stored(store) - ready
        times = [entry.decode().split(",") for entry in store.lrange(counter + ":times", 0, -1)]
    finally:
        stop(server)
        stop(worker)
        store.delete(queue, counter, counter + ":times")

    server_rows = []
    for kind in ("cached", "after a change"):
        walls = sorted(float(wall) for k, wall, _cpu in times if k == kind)
        cpus = sorted(float(cpu) for k, _wall, cpu in times if k == kind)
        if walls:
            server_rows.append(
                f"| {kind} | {len(walls):,} | {percentile(walls, 0.50):.1f} | "
                f"{percentile(walls, 0.95):.1f} | {percentile(walls, 0.99):.1f} | "
                f"{percentile(cpus, 0.50):.1f} | {percentile(cpus, 0.95):.1f} |"
            )
    pauses = f"{args.think} s between requests" if args.think != "0" else "no pause"
    if args.no_changes:
        pauses += ", no changes (cached downloads only)"
    lines = [
        f"# PDF downloads under load: {args.users} people, {pauses}, {args.seconds} s, "
        f"{args.workers} gunicorn workers and one Celery worker on Redis",
        "",
        f"Database: {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; "
        f"{len(patient_ids)} patients' "
        f"PDFs rendered ahead by the worker in {took:.0f} s before the run. The load "
        "generator, the worker and the server share this machine.",
        f"Load average: {load_before:.1f} at the start, "
        f"{', '.join(f'{n:.1f}' for n in os.getloadavg())} at the end, on {os.cpu_count()} "
        f"CPUs; the Celery worker used {worker_cpu:.1f} s of CPU during the run.",
        "",
        "| request | count | failures | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
        *[fmt(row) for name, row in result.items() if name != "Aggregated"],
        fmt(result["Aggregated"]),
        "",
        "The same downloads timed inside the gunicorn worker (from the request reaching the "
        "app to its last byte; CPU is the worker's own):",
        "",
        "| download | count | p50 ms | p95 ms | p99 ms | CPU p50 ms | CPU p95 ms |",
        "|---|---|---|---|---|---|---|",
        *server_rows,
        "",
        f"PDFs rendered inside web requests: {in_requests} (target 0)",
        f"PDFs rendered by the worker during the run (after changes): {max(0, by_worker)} "
        "(the store keeps the newest 2,000)",
    ]
    summary = "\n".join(lines)
    (RESULTS / "pdf-load-summary.md").write_text(summary + "\n", encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    main()
