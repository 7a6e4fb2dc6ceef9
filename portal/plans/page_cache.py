"""The plan page's body, kept for its reader while nothing it shows has changed.

Building the plan page is mostly reading the plan (a dozen statements) and rendering it; the
access check and the audit event are a small part. So each process keeps the rendered body of
the page (not the header, the messages or the forms' tokens) for a few minutes, for the same
reader, relation, permissions, language and day, and uses it again only while the
**fingerprint** of the plan is unchanged. The fingerprint is one statement read on every
request: for every table the page reads, what changes when any of its rows is added, changed or
removed (counts, highest ids, change times and versions; the few rows with no change stamp, the
named contact, the meetings and the conditions, by their values). The access check and the
audit event still run on every request, before this (``portal.pages.patient_page``).

Kept only in the process's memory (never in Redis or on disk), at most ``PLAN_PAGE_CACHE_SIZE``
bodies for ``PLAN_PAGE_CACHE_SECONDS``; a size of 0 turns it off. A page with messages to show
(after a save) is built afresh and not kept. ``tests/test_plan_page_cache.py`` checks that
every table the page reads is in the fingerprint; hazard H21 in the hazard log.
"""

import hashlib
import threading
from dataclasses import dataclass

from cachetools import TTLCache
from flask import current_app, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import String, bindparam, cast, func, inspect, select
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.meetings.services import local_today
from portal.models import (
    CarePlan,
    Contact,
    Conversation,
    CrisisStep,
    Goal,
    NeedsSection,
    Organisation,
    PlanVersion,
    ReviewMeeting,
    SharedResult,
    SurveyResponse,
    User,
    UsualState,
    Wish,
)
from portal.models.conversation import AboutKind
from portal.models.patient import patient_conditions

# Plan items that the patient, carers and professionals change: each row has a version that
# every change raises and the time of its last change.
REVIEWABLE = (NeedsSection, Goal, Wish, CrisisStep, Contact, UsualState)
# Rows only ever added (or removed): their number and the highest id say when that happens.
ADDED_ONLY = (PlanVersion, SharedResult)
# Tables the fingerprint covers, for the test that compares them with what the page reads.
COVERED = frozenset(
    {m.__tablename__ for m in (*REVIEWABLE, *ADDED_ONLY)}
    | {"care_plans", "patients", "users", "organisations", "conditions", "patient_conditions",
       "review_meetings", "conversations", "survey_responses"}
)


def _of_plan(*columns, model):
    return select(*columns).where(model.plan_id == CarePlan.id).scalar_subquery()


def _stamps() -> list:
    """Scalar subqueries, one value each, that change with the rows the page shows."""
    stamps = []
    for model in REVIEWABLE:
        stamps += [
            _of_plan(func.count(), model=model),
            _of_plan(func.max(model.id), model=model),
            _of_plan(func.max(model.updated_at), model=model),
            _of_plan(func.sum(model.version), model=model),
        ]
    for model in ADDED_ONLY:
        stamps += [_of_plan(column, model=model) for column in _added(model)]
    # Meetings change in place (booked, moved, held) and carry no change stamp: their values.
    meeting = ReviewMeeting
    stamps.append(
        _of_plan(
            func.aggregate_strings(
                cast(meeting.id, String)
                + "|" + meeting.status
                + "|" + func.coalesce(cast(meeting.scheduled_for, String), "")
                + "|" + func.coalesce(cast(meeting.held_on, String), "")
                + "|" + func.coalesce(meeting.location, ""),
                ";",
            ),
            model=meeting,
        )
    )
    # The conditions are replaced as a set by the register import: the codes themselves.
    stamps.append(
        select(func.aggregate_strings(patient_conditions.c.condition_code, ","))
        .where(patient_conditions.c.patient_id == CarePlan.patient_id)
        .scalar_subquery()
    )
    for model, where in (
        (Conversation, Conversation.about_kind != AboutKind.NONE),
        (SurveyResponse, True),
    ):
        stamps += [
            select(column).where(model.patient_id == CarePlan.patient_id, where).scalar_subquery()
            for column in _added(model)
        ]
    return stamps


def _added(model) -> tuple:
    """How many rows, the highest id and the newest row's time: a row removed and another
    added in its place (SQLite may give it the same id) still changes the last."""
    added_at = model.agreed_at if model is PlanVersion else model.created_at
    return (func.count(), func.max(model.id), func.max(added_at))


_CONTACT = aliased(User)
_CONTACT_ORGANISATION = aliased(Organisation)

# Built once, like the page's other statements (``portal.loading``).
FINGERPRINT = (
    select(
        *CarePlan.__table__.c,
        *(getattr(_CONTACT, a.key) for a in inspect(User).column_attrs),
        _CONTACT_ORGANISATION.name,
        *_stamps(),
    )
    .outerjoin(_CONTACT, _CONTACT.id == CarePlan.named_contact_id)
    .outerjoin(_CONTACT_ORGANISATION, _CONTACT_ORGANISATION.id == _CONTACT.organisation_id)
    .where(CarePlan.patient_id == bindparam("patient_id"))
)


@dataclass(frozen=True)
class PlanState:
    """What the plan page's body depends on in the database, read in one statement."""

    plan_id: int
    digest: str


def plan_state(patient_id: int) -> PlanState | None:
    """The plan's fingerprint; None when the patient has no plan (the page is then a 404)."""
    row = db.session.execute(FINGERPRINT, {"patient_id": patient_id}).first()
    if row is None:
        return None
    return PlanState(row.id, hashlib.blake2b(repr(tuple(row)).encode(), digest_size=16).hexdigest())


def _patient_values(patient) -> tuple:
    """The patient's own row as loaded for the access check (name, language, print needs)."""
    return tuple(getattr(patient, a.key) for a in inspect(type(patient)).column_attrs)


def reader_key(state: PlanState, access, user_id: int) -> str:
    """Who reads, how they stand to the patient, in which language and on which day, and the
    sizes of the plan's latest PDFs (kept in this process, not in the database)."""
    from portal.pdf.services import PLAN, rendered_sizes  # the PDFs' views import this page

    parts = (
        state.digest,
        _patient_values(access.patient),
        user_id,
        str(access.relation),
        tuple(sorted(str(a) for a in access.actions)),
        access.read_only,
        str(get_locale()),
        local_today(),
        rendered_sizes(state.plan_id, PLAN),  # "PDF, 84 KB" beside the download links
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


# The forms' token differs between sessions and over time: kept as a mark, put back per request.
_TOKEN_MARK = "\x00csrf\x00"  # noqa: S105 - a placeholder, not a secret


class BodyCache:
    """Rendered bodies by reader key, bounded in number and age, shared by a process's threads."""

    def __init__(self, size: int, seconds: float):
        self._lock = threading.Lock()
        self._bodies = TTLCache(maxsize=size, ttl=seconds) if size > 0 else None
        self.hits = self.misses = 0

    def body(self, key: str, build) -> Markup:
        """The body kept for ``key``, or ``build()``'s, kept unless messages are waiting."""
        if self._bodies is None or session.get("_flashes"):
            return build()
        token = generate_csrf()  # the same value the body's forms hold in this request
        with self._lock:
            kept = self._bodies.get(key)
            if kept is not None:
                self.hits += 1
                return Markup(kept.replace(_TOKEN_MARK, token))  # noqa: S704 - our own render
            self.misses += 1
        body = build()
        with self._lock:
            self._bodies[key] = str(body).replace(token, _TOKEN_MARK)
        return body


def cache() -> BodyCache:
    """This process's cache, made on first use with the app's settings."""
    found = current_app.extensions.get("plan_page_cache")
    if found is None:
        found = current_app.extensions["plan_page_cache"] = BodyCache(
            current_app.config["PLAN_PAGE_CACHE_SIZE"],
            current_app.config["PLAN_PAGE_CACHE_SECONDS"],
        )
    return found
