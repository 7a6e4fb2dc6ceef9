"""A real PostgreSQL streaming replica on loopback, for the reports replica under load.

    with streaming_replica("postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench") as url:
        ...  # url: the same database on the standby, read-only

A second cluster is copied from the running server with ``pg_basebackup`` (a replication slot
of its own, so the standby never falls off the primary's write-ahead log), started with
Debian's ``postgres`` binary on a free port as the ``postgres`` account, and removed afterwards
with its slot. If the server's ``pg_hba.conf`` allows no replication connection from loopback,
one line allowing it (marked ``portal-bench``) is added for the run and taken away after.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SLOT = "portal_bench_replica"
HBA_LINE = "host replication all 127.0.0.1/32 trust  # portal-bench: removed after the run\n"


def _bin(name: str) -> str:
    """The newest Debian PostgreSQL's program (the server's own version is used when found)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if not found:
        raise SystemExit(f"no {name} in /usr/lib/postgresql/*/bin (install postgresql)")
    return found[-1]


def _version(path: str) -> int:
    return int(Path(path).parts[4]) if Path(path).parts[4].isdigit() else 0


def _as_postgres(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: run as the ``postgres`` account when we are root."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=False, capture_output=True, text=True, **kwargs)


@contextlib.contextmanager
def _replication_allowed(admin):
    """Adds the loopback replication line to pg_hba.conf for the run when none is there."""
    with admin.connect() as conn:
        hba = Path(conn.execute(text("SHOW hba_file")).scalar_one())
        has_line = conn.execute(
            text("SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)")
        ).scalar_one()
    if has_line:
        yield
        return
    original = hba.read_text()
    hba.write_text(HBA_LINE + original)  # first, so it wins over any stricter line
    _reload(admin)
    try:
        yield
    finally:
        hba.write_text(hba.read_text().replace(HBA_LINE, ""))
        _reload(admin)


def _reload(admin) -> None:
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_reload_conf()"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A standby refuses to start with any of these lower than on its primary.
_COPIED = ("max_connections", "max_worker_processes", "max_wal_senders",
           "max_prepared_transactions", "max_locks_per_transaction")


def _settings_a_standby_copies(admin) -> list[str]:
    with admin.connect() as conn:
        rows = conn.execute(
            text("SELECT name, setting FROM pg_settings WHERE name = ANY(:names)"),
            {"names": list(_COPIED)},
        ).all()
    return [arg for name, setting in rows for arg in ("-c", f"{name}={setting}")]


def _drop_slot(admin) -> None:
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                 "WHERE slot_name = :slot AND NOT active"),
            {"slot": SLOT},
        )


@contextlib.contextmanager
def streaming_replica(url: str):
    """Yields ``url`` on a fresh streaming standby of its server; removes it afterwards."""
    primary = make_url(url)
    admin = create_engine(primary.set(database="postgres"), isolation_level="AUTOCOMMIT")
    directory = Path(tempfile.mkdtemp(prefix="portal-replica-"))
    data = directory / "data"
    port = _free_port()
    server = None
    try:
        _drop_slot(admin)  # a slot left by an interrupted run
        with _replication_allowed(admin):
            if os.geteuid() == 0:
                shutil.chown(directory, "postgres", "postgres")
            backup = _as_postgres([
                _bin("pg_basebackup"), "-h", primary.host or "127.0.0.1",
                "-p", str(primary.port or 5432), "-U", primary.username or "postgres",
                "-D", str(data), "-R", "-X", "stream", "-C", "-S", SLOT, "-c", "fast",
            ])
            if backup.returncode:
                raise SystemExit(f"pg_basebackup failed: {backup.stderr.strip()}")
            # Debian keeps the configuration in /etc: the copy gets a minimal one of its own.
            (data / "postgresql.conf").write_text("")
            (data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
            (data / "pg_ident.conf").write_text("")
            if os.geteuid() == 0:
                for path in data.iterdir():
                    if path.is_file():
                        shutil.chown(path, "postgres", "postgres")
            argv = [
                _bin("postgres"), "-D", str(data), "-p", str(port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={directory}",
                "-c", "hot_standby=on", "-c", "shared_buffers=128MB",
                "-c", "logging_collector=off", "-c", "hot_standby_feedback=on",
                *_settings_a_standby_copies(admin),
            ]
            if os.geteuid() == 0:
                argv = ["runuser", "-u", "postgres", "--", *argv]
            log = open(directory / "replica.log", "w")  # noqa: SIM115 - kept open while it runs
            server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            replica_url = primary.set(port=port)
            _wait_for(replica_url, server, directory / "replica.log")
            yield replica_url.render_as_string(hide_password=False)
    finally:
        if server is not None:
            server.terminate()  # SIGTERM: PostgreSQL's smart shutdown of a standby
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        with contextlib.suppress(Exception):
            _drop_slot(admin)
        admin.dispose()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for(url, server: subprocess.Popen, log: Path) -> None:
    engine = create_engine(url)
    try:
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit(f"the replica did not start: {log.read_text()[-2000:]}")
            try:
                with engine.connect() as conn:
                    if conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one():
                        return
            except Exception:  # noqa: BLE001, S110 - still starting
                pass
            time.sleep(0.2)
        raise SystemExit("the replica did not answer within a minute")
    finally:
        engine.dispose()


def lag_seconds(primary_url: str) -> float:
    """The standby's replay lag as its primary measures it (``pg_stat_replication``)."""
    engine = create_engine(primary_url)
    try:
        with engine.connect() as conn:
            return float(conn.execute(text(
                "SELECT COALESCE(max(EXTRACT(EPOCH FROM replay_lag)), 0) "
                "FROM pg_stat_replication"
            )).scalar_one())
    finally:
        engine.dispose()


if __name__ == "__main__":  # a quick check: start one, read from it, remove it
    import sys

    admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    target = sys.argv[1] if len(sys.argv) > 1 else admin_url
    started = time.perf_counter()
    with streaming_replica(target) as standby:
        took = time.perf_counter() - started
        print(f"replica up in {took:.1f} s; lag {lag_seconds(target):.2f} s")
