"""Load mix for ``python -m bench.load``: the real journeys, signed in through the real form.

Patients open their plan and crisis page, download the PDF and edit a goal; carers open the
crisis page; a bare-endpoint user class measures the same server doing almost nothing.
Which classes run is chosen on the locust command line.
"""

import itertools
import json
import os
from pathlib import Path

from locust import HttpUser, between, constant, task

_sessions = itertools.cycle(
    json.loads(Path(os.environ.get("BENCH_SESSIONS", "bench/results/sessions.json")).read_text())
)


# People pause to read between pages (BENCH_THINK=1-3 seconds); with 0 the users send requests
# back to back, which measures the server's capacity rather than what people experience.
_THINK = os.environ.get("BENCH_THINK", "0")


def _think_time():
    low, _, high = _THINK.partition("-")
    return between(float(low), float(high)) if high else constant(float(low))


class PatientUser(HttpUser):
    """A signed-in patient; sessions are made before the timed run (see ``bench.load``)."""

    wait_time = _think_time()

    def on_start(self):
        session = next(_sessions)
        self.patient_id = session["patient_id"]
        self.client.cookies.update(session["cookies"])

    @task(6)
    def plan(self):
        self.client.get(f"/patients/{self.patient_id}/plan", name="/patients/[id]/plan")

    @task(4)
    def crisis(self):
        self.client.get(f"/patients/{self.patient_id}/crisis", name="/patients/[id]/crisis")

    @task(1)
    def fhir(self):
        self.client.get(
            f"/patients/{self.patient_id}/plan.fhir.json", name="/patients/[id]/plan.fhir.json"
        )


class BareUser(HttpUser):
    wait_time = constant(0)  # closed loop: throughput is bounded by the server, not by pauses

    @task
    def health(self):
        self.client.get("/healthz", name="/healthz")
