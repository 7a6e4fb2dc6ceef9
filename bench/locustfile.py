"""Load mix for ``python -m bench.load``: the real journeys, signed in through the real form.

Patients open their plan and crisis page, download the plan as a PDF and as FHIR, and change a
goal and a crisis step through their forms (which makes the next PDF render again); nurses
(one for every three patients) open the worklist with its filters and searches and their
patients' plan and crisis pages; one commissioner reads last month's report; a bare-endpoint
user class measures the same server doing almost nothing. Which classes run is chosen on the
locust command line. The users are locust's ``FastHttpUser``: the load generator shares the
server's cores here, and it costs a fraction of the CPU per request of the ``requests``-based
one.
"""

import html
import itertools
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

from locust import FastHttpUser, between, constant, task
from requests.cookies import create_cookie

_SESSIONS = json.loads(
    Path(os.environ.get("BENCH_SESSIONS", "bench/results/sessions.json")).read_text()
)
_patients = itertools.cycle(_SESSIONS["patients"])
_INPUT = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')
_TEXT = re.compile(r'<textarea[^>]*name="(why_it_matters|steps)"[^>]*>(.*?)</textarea>', re.S)

# People pause to read between pages (BENCH_THINK=1-3 seconds); with 0 the users send requests
# back to back, which measures the server's capacity rather than what people experience.
_THINK = os.environ.get("BENCH_THINK", "0")


class _FormReader(HTMLParser):
    """The fields a browser would send from the page's forms (a later field of the same name
    wins): text and hidden inputs, checked radios and boxes, each select's chosen (or first)
    option, and textareas."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select = self._textarea = None
        self._first_option = True

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._first_option = name, True
        elif tag == "option" and self._select:
            if self._first_option or "selected" in a:
                self.fields[self._select] = a.get("value", "")
            self._first_option = False
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def _form_fields(page: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(page)
    return reader.fields


def _use_cookies(user: FastHttpUser, cookies: dict) -> None:
    """Cookies for the server's own host, so the ones it sets later replace them, not sit
    beside them (a stale session cookie would carry an old form token)."""
    host = urlparse(user.host).hostname
    for name, value in cookies.items():
        user.client.cookiejar.set_cookie(create_cookie(name, value, domain=host))


def _think_time():
    low, _, high = _THINK.partition("-")
    return between(float(low), float(high)) if high else constant(float(low))


class PatientUser(FastHttpUser):
    """A signed-in patient; sessions are made before the timed run (see ``bench.load``)."""

    weight = 3
    wait_time = _think_time()

    def on_start(self):
        _start_as_patient(self)

    @task(12)
    def plan(self):
        self.client.get(f"/patients/{self.patient_id}/plan", name="/patients/[id]/plan")

    @task(8)
    def crisis(self):
        self.client.get(f"/patients/{self.patient_id}/crisis", name="/patients/[id]/crisis")

    @task(2)
    def pdf(self):
        self.client.get(f"/patients/{self.patient_id}/plan.pdf", name="/patients/[id]/plan.pdf")

    @task(2)
    def fhir(self):
        self.client.get(
            f"/patients/{self.patient_id}/plan.fhir.json", name="/patients/[id]/plan.fhir.json"
        )

    @task(1)
    def change_crisis_step(self):
        """Propose a change to a crisis step: what to do, with a mark added or taken away."""
        if not self.step_id:
            return
        url = f"/patients/{self.patient_id}/contingency/steps/{self.step_id}"
        page = self.client.get(url, name="/patients/[id]/contingency/steps/[id]").text
        form = _form_fields(page)
        actions = form["actions"]
        form["actions"] = actions.removesuffix(" !") if actions.endswith(" !") else actions + " !"
        self.client.post(url, data=form, name="/patients/[id]/contingency/steps/[id] (save)")

    @task(1)
    def edit_goal(self):
        _edit_goal(self)


def _start_as_patient(user: FastHttpUser) -> None:
    session = next(_patients)
    user.patient_id = session["patient_id"]
    user.goal_id = session["goal_id"]
    user.step_id = session.get("step_id")
    _use_cookies(user, session["cookies"])


def _edit_goal(user: FastHttpUser) -> None:
    """Open the goal's form and save it with its title changed, as a person would."""
    url = f"/patients/{user.patient_id}/goals/{user.goal_id}/edit"
    page = user.client.get(url, name="/patients/[id]/goals/[id]/edit").text
    fields = _INPUT.findall(page) + _TEXT.findall(page)
    form = {name: html.unescape(value) for name, value in fields}
    title = form["title"]  # a real change each time: the mark added, then taken away
    form["title"] = title.removesuffix(" !") if title.endswith(" !") else title + " !"
    user.client.post(url, data=form, name="/patients/[id]/goals/[id]/edit (save)")


class PdfUser(FastHttpUser):
    """A signed-in patient printing (``bench.pdf_load``): the plan and the crisis sheet, kept
    ready by the job queue; once in ten, a goal changed and the plan downloaded at once,
    while the queue renders it again."""

    wait_time = _think_time()

    def on_start(self):
        _start_as_patient(self)

    @task(6)
    def plan_pdf(self):
        self.client.get(f"/patients/{self.patient_id}/plan.pdf", name="/patients/[id]/plan.pdf")

    @task(3)
    def crisis_pdf(self):
        self.client.get(
            f"/patients/{self.patient_id}/crisis.pdf", name="/patients/[id]/crisis.pdf"
        )

    @task(1)
    def plan_pdf_after_a_change(self):
        if os.environ.get("BENCH_PDF_CHANGES") == "0":  # cached downloads only
            self.plan_pdf()
            return
        _edit_goal(self)
        self.client.get(
            f"/patients/{self.patient_id}/plan.pdf",
            name="/patients/[id]/plan.pdf (right after a change)",
            headers={"X-Bench-After-Change": "1"},  # for the server's own timings
        )


_professionals = itertools.cycle(_SESSIONS.get("professionals") or [None])
_SEARCHES = ("ient1", "ient2", "Patient", "ient35")


class ProfessionalUser(FastHttpUser):
    """A nurse at a practice: the worklist with its filters and searches, then a patient's plan
    and crisis page (one professional for every three patients)."""

    weight = 1
    wait_time = _think_time()

    def on_start(self):
        session = next(_professionals)
        self.patient_ids = itertools.cycle(session["patient_ids"] or [1])
        _use_cookies(self, session["cookies"])

    @task(4)
    def worklist(self):
        self.client.get("/worklist", name="/worklist")

    @task(3)
    def worklist_filtered(self):
        self.client.get("/worklist?whose=mine&filter=overdue", name="/worklist?filter")

    @task(3)
    def worklist_search(self):
        query = _SEARCHES[hash(self) % len(_SEARCHES)]
        self.client.get(f"/worklist?q={query}", name="/worklist?q")

    @task(3)
    def plan(self):
        patient_id = next(self.patient_ids)
        self.client.get(f"/patients/{patient_id}/plan", name="/patients/[id]/plan (professional)")

    @task(1)
    def crisis(self):
        patient_id = next(self.patient_ids)
        self.client.get(
            f"/patients/{patient_id}/crisis", name="/patients/[id]/crisis (professional)"
        )


class CommissionerUser(FastHttpUser):
    """One commissioner reading last month's report (summarised, as by the nightly job)."""

    fixed_count = 1
    wait_time = _think_time()

    def on_start(self):
        _use_cookies(self, _SESSIONS["commissioner"])

    @task
    def report(self):
        self.client.get("/reports", name="/reports")


class BareUser(FastHttpUser):
    wait_time = constant(0)  # closed loop: throughput is bounded by the server, not by pauses

    @task
    def health(self):
        self.client.get("/healthz", name="/healthz")
