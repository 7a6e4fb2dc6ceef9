"""Load mix for ``python -m bench.load``: the real journeys, signed in through the real form.

Patients open their plan and crisis page, download the plan as a PDF and as FHIR, change a goal
and a crisis step through their forms (which makes the next PDF render again), and read and
answer their conversation with the care team; nurses (one for every three patients) open the
worklist with its filters and searches, their patients' plan and crisis pages, answer the
conversations waiting in the team inbox and now and then record a review meeting; one
commissioner reads last month's report; a bare-endpoint user class measures the same server
doing almost nothing. Conversation messages, changed crisis steps and agreed plans queue
notifications, which the Celery worker started by ``bench.load`` delivers during the run.
Which classes run is chosen on the locust command line. The users are locust's
``FastHttpUser``: the load generator shares the server's cores here, and it costs a fraction of
the CPU per request of the ``requests``-based one.
"""

import itertools
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

from locust import FastHttpUser, between, constant, task
from requests.cookies import create_cookie

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # locust runs this file alone
from bench.forms import form_fields, goal_change, meeting_record  # noqa: E402

_SESSIONS = json.loads(
    Path(os.environ.get("BENCH_SESSIONS", "bench/results/sessions.json")).read_text()
)
_patients = itertools.cycle(_SESSIONS["patients"])
_THREAD = re.compile(r'href="(/patients/\d+/conversations/\d+)[#"]')
_LIMITED = "You have sent a lot of messages recently"

# People pause to read between pages (BENCH_THINK=1-3 seconds); with 0 the users send requests
# back to back, which measures the server's capacity rather than what people experience.
_THINK = os.environ.get("BENCH_THINK", "0")


def _use_cookies(user: FastHttpUser, cookies: dict) -> None:
    """Cookies for the server's own host, so the ones it sets later replace them, not sit
    beside them (a stale session cookie would carry an old form token)."""
    host = urlparse(user.host).hostname
    for name, value in cookies.items():
        user.client.cookiejar.set_cookie(create_cookie(name, value, domain=host))


def answer(user: FastHttpUser, thread: str, message: str | None) -> None:
    """Open a conversation and, with a ``message``, answer it through its reply form. A reply
    over the portal's hourly limit for patients is shown again with its message (nothing is
    lost): counted under a name of its own rather than as an error."""
    name = re.sub(r"\d+", "[id]", thread)
    page = user.client.get(thread, name=name).text
    if message is None:
        return
    form = form_fields(page)
    form["message"] = message
    with user.client.post(thread, data=form, name=f"{name} (reply)",
                          catch_response=True) as response:
        if response.status_code == 200 and _LIMITED in (response.text or ""):
            response.request_meta["name"] = f"{name} (reply over the hourly limit)"


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
        form = form_fields(page)
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
    user.client.post(url, data=goal_change(page), name="/patients/[id]/goals/[id]/edit (save)")


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

    @task(2)
    def conversation(self):
        """Read the conversation with the care team (starting one the first time) and, one
        visit in two, answer it."""
        listing = f"/patients/{self.patient_id}/conversations"
        page = self.client.get(listing, name="/patients/[id]/conversations").text
        found = _THREAD.search(page)
        if not found:
            start = f"{listing}/new"
            page = self.client.get(start, name="/patients/[id]/conversations/new").text
            form = form_fields(page)
            form.update(subject="About my plan", message="Can we talk about my walking goal?")
            self.client.post(start, data=form, name="/patients/[id]/conversations/new (send)")
            return
        self.answered = not getattr(self, "answered", True)
        answer(self, found.group(1), "Thank you, that helps." if self.answered else None)


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

    @task(2)
    def inbox(self):
        """The team inbox, then the conversation at its top read and answered."""
        page = self.client.get("/conversations", name="/conversations").text
        found = _THREAD.search(page)
        if found:
            answer(self, found.group(1), "We have looked at this and will ring you tomorrow.")

    @task(1)
    def record_meeting(self):
        """Record a review meeting held today: every proposal agreed, the plan agreed as a new
        version (which tells the patient)."""
        patient_id = next(self.patient_ids)
        url = f"/patients/{patient_id}/review/record"
        form = meeting_record(self.client.get(url, name="/patients/[id]/review/record").text)
        self.client.post(url, data=form, name="/patients/[id]/review/record (save)")


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
