"""Where the machine's CPU went during a phase of a load test, by part of the service.

The latency of a page under load is its own CPU time plus the time it waits for a core. The
load test runs everything on one machine, so a p95 over target is explained by what else held
the cores: this module reads the CPU seconds of the web server, the Celery worker, PostgreSQL
and the load generator (each process tree, with the children it has already reaped) and the
machine's busy time, before and after a phase.
"""

import os
from dataclasses import dataclass

import psutil


def tree_seconds(root: psutil.Process | int, leave_out: frozenset[int] = frozenset()) -> float:
    """CPU seconds of a process, its living descendants and the children it has reaped;
    ``leave_out``: living descendants counted elsewhere (with their own descendants)."""
    total = 0.0
    try:
        root = psutil.Process(root) if isinstance(root, int) else root
        times = root.cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
        descendants = root.children(recursive=True)
    except psutil.Error:
        return total
    for child in descendants:
        try:
            if child.pid in leave_out or leave_out & {p.pid for p in child.parents()}:
                continue
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue  # ended between the listing and the reading: its parent has counted it
    return total


def _postmasters() -> list[psutil.Process]:
    """Every PostgreSQL server's main process (the primary and a replica, if one runs)."""
    found = []
    for process in psutil.process_iter(["name", "ppid"]):
        try:
            if process.info["name"] == "postgres" and (
                psutil.Process(process.info["ppid"]).name() != "postgres"
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


@dataclass(frozen=True)
class Reading:
    busy: float  # the machine's CPU seconds not idle, every core together
    parts: dict[str, float]


def read(web_pid: int, worker_pid: int | None) -> Reading:
    """CPU seconds so far of each part: web server, job queue worker, PostgreSQL and this
    process with the rest of its children (the load generator runs as such children)."""
    parts = {"web server (gunicorn)": tree_seconds(psutil.Process(web_pid))}
    if worker_pid:
        parts["job queue (Celery worker)"] = tree_seconds(psutil.Process(worker_pid))
    postmasters = _postmasters()
    parts["PostgreSQL"] = sum(tree_seconds(p) for p in postmasters)
    # The web server, the worker and a replica's server may be this process's children too.
    elsewhere = frozenset({web_pid, worker_pid or 0, *(p.pid for p in postmasters)})
    parts["load generator (locust)"] = tree_seconds(psutil.Process(os.getpid()), elsewhere)
    times = psutil.cpu_times()
    busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    return Reading(busy=busy, parts=parts)


def describe(before: Reading, after: Reading, seconds: float) -> str:
    """One line: how many of the machine's cores were busy, and with what."""
    cores = psutil.cpu_count() or 1
    busy = (after.busy - before.busy) / seconds
    shares = {name: (after.parts[name] - before.parts[name]) / seconds for name in after.parts}
    other = max(busy - sum(shares.values()), 0.0)
    listed = ", ".join(f"{name} {share:.2f}" for name, share in shares.items())
    return (
        f"CPU: {busy:.2f} of {cores} cores busy on average ({busy / cores:.0%}): {listed}, "
        f"everything else {other:.2f}"
    )
