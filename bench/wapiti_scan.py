"""A bounded wapiti scan (Debian's package) of the portal on loopback, anonymous.

Run with ``python -m bench.wapiti_scan [--seconds 180]``. It serves the portal with the demo
data from a throwaway SQLite database on 127.0.0.1, lets wapiti crawl and attack it for at
most ``--seconds`` (its own ``--max-scan-time``), and prints the number of findings in each
category (anomalies, that is 500 answers, included). Verdicts on the findings are kept in
``docs/security.md``. Skipped when wapiti is not installed.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "portal"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=180, help="wapiti's --max-scan-time")
    args = parser.parse_args(argv)
    if not shutil.which("wapiti"):
        print("wapiti scan: skipped (apt-get install wapiti)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PORTAL_ENV": "development",
            "PORTAL_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/scan.sqlite3",
            "PORTAL_OUTBOX_DIR": f"{tmp}/outbox",
        }
        subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        subprocess.run([*FLASK, "demo-data"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        port = _free_port()
        server = subprocess.Popen(
            [*FLASK, "run", "--port", str(port), "--no-reload"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            if not _wait_for(port):
                print("wapiti scan: the portal did not start")
                return 1
            report = Path(tmp, "wapiti.json")
            started = time.monotonic()
            subprocess.run(
                [
                    "wapiti", "-u", f"http://127.0.0.1:{port}/", "--scope", "folder",
                    "--max-scan-time", str(args.seconds), "--flush-session",
                    "-f", "json", "-o", str(report), "-v", "0",
                ],
                cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=args.seconds + 300,
            )
            took = time.monotonic() - started
            data = json.loads(report.read_text()) if report.exists() else {}
        finally:
            server.terminate()
            server.wait(timeout=30)
    kinds = {**(data.get("vulnerabilities") or {}), **(data.get("anomalies") or {})}
    found = {k: len(v) for k, v in kinds.items()}
    print(f"wapiti scan of the portal on loopback, anonymous, {took:.0f} s "
          f"(limit {args.seconds} s):")
    if not data:
        print("  no report written")
        return 1
    for category, count in sorted(found.items()):
        if count:
            print(f"  {category}: {count}")
            for finding in kinds[category]:
                print(f"    {finding.get('path')}: {finding.get('info')}")
    print(f"  findings in all: {sum(found.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
