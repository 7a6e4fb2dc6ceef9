"""Access rules across the whole app.

1. A walk over every URL rule: a route that takes an argument answers only through the access
   module, so a route added later by any area is checked without anyone remembering to.
2. An endpoint x relationship matrix with the exact status code each person gets. Add a row to
   ``MATRIX`` for every new route that shows or changes one person's data.
"""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal import permissions
from portal.models import (
    AccessGrant,
    Base,
    CareTeamMember,
    CareTeamMembership,
    ConsentRecord,
    PlanVersion,
    Preparation,
    ReviewMeeting,
    SharedResult,
    SurveyResponse,
)
from tests.factories import CAST_KEYS, make_invitation

# Endpoints anyone may open: the link token of an invitation is its own credential.
PUBLIC_ENDPOINTS = {
    "static",
    "health.healthz",  # liveness check for load balancers
    "auth.login",
    "account.set_language",
    "sharing.invitation",
    "sharing.create_account",
    "auth.forgot_password",
    "auth.reset_password",
    "auth.mfa_code",
    "portability.fhir_metadata",  # the FHIR CapabilityStatement: what the API can do
    "portability.code_system",  # the portal's published FHIR code systems (terminology)
    "activation.start",  # a patient with an activation code creates their account
    "activation.details",  # its second step, open only after the first
    "notifications.notify_status",  # GOV.UK Notify's receipts: its bearer token, else 404
    "portability.smart_configuration",  # SMART on FHIR discovery
    "portability.smart_token",  # OAuth token endpoint: the client proves itself
}

# Signed-in people with no tie to patient A.
UNRELATED = ["other_patient", "carer_no_grant", "professional_other_org"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


MODELS = {_snake(mapper.class_.__name__): mapper.class_ for mapper in Base.registry.mappers}


@pytest.fixture
def rich_cast(db, cast):
    """The shared cast, plus one of everything a plan can hold, so every id argument resolves."""
    now = datetime.now(UTC)
    plan = cast.plan_a
    meeting = ReviewMeeting(plan_id=plan.id, status="held")
    db.session.add(meeting)
    db.session.flush()
    db.session.add_all(
        [
            PlanVersion(plan_id=plan.id, number=1, snapshot={}, agreed_at=now),
            SharedResult(plan_id=plan.id, name="HbA1c", value="48"),
            Preparation(plan_id=plan.id),
            CareTeamMember(plan_id=plan.id, name="Dr A", role="GP"),
            ConsentRecord(patient_id=cast.a.id, share_with_care_team=True),
            CareTeamMembership(
                patient_id=cast.a.id, organisation_id=cast.other_org.id, scope="view"
            ),
            SurveyResponse(
                meeting_id=meeting.id,
                patient_id=cast.a.id,
                organisation_id=cast.org.id,
                involved=5,
                agreed_plan=5,
                confidence=5,
            ),
        ]
    )
    db.session.commit()
    return cast


def _resolve(db, cast, argument: str) -> tuple[object, bool]:
    """A value for a URL argument, and whether it names something of patient A.

    ``patient_id`` is patient A; ``<thing>_id`` is the first row of patient A in the model whose
    name is or ends with ``thing`` (``goal_id`` -> Goal, ``step_id`` -> CrisisStep).
    """
    if argument == "patient_id":
        return cast.a.id, True
    name = argument.removesuffix("_id")
    for model_name, model in sorted(MODELS.items()):
        if argument == name or not (model_name == name or model_name.endswith("_" + name)):
            continue
        columns = model.__table__.c
        if "patient_id" in columns:
            owned = columns.patient_id == cast.a.id
        elif "plan_id" in columns:
            owned = columns.plan_id == cast.plan_a.id
        else:
            continue
        row_id = db.session.scalars(select(columns.id).where(owned).order_by(columns.id)).first()
        if row_id is not None:
            return row_id, True
    return 1, False


@pytest.fixture
def access_spy(monkeypatch):
    """Counts calls into the access module's decisions (``require`` and ``can`` use
    ``relation``; register work uses ``can_register``)."""
    calls = []
    real = permissions.relation

    def spy(user, patient):
        calls.append(patient.id)
        return real(user, patient)

    monkeypatch.setattr(permissions, "relation", spy)
    real_register = permissions.can_register

    def register_spy(user, action, organisation_id):
        calls.append(organisation_id)
        return real_register(user, action, organisation_id)

    monkeypatch.setattr(permissions, "can_register", register_spy)
    return calls


def _rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)


def _methods(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_every_route_without_arguments_needs_sign_in_unless_public(app, request_as, cast):
    problems = []
    for rule in _rules(app):
        if rule.arguments or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in _methods(rule):
            response = request_as(None, method, rule.rule)
            location = response.headers.get("Location", "")
            if response.status_code != 302 or "/sign-in" not in location:
                problems.append(f"{method} {rule.rule} ({rule.endpoint}): {response.status_code}")
    assert not problems, "Routes open to anyone (add to PUBLIC_ENDPOINTS if meant):\n" + "\n".join(
        problems
    )


def test_every_route_with_arguments_goes_through_the_access_module(
    app, db, rich_cast, request_as, access_spy
):
    """Unrelated people get 404 (after the access module was asked), anonymous people 302/404.

    Never a 200: a route that forgot ``permissions.require`` fails here, whichever area added it.
    """
    cast = rich_cast
    problems = []
    checked = 0
    for rule in _rules(app):
        if not rule.arguments or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        values, personal = {}, False
        for argument in sorted(rule.arguments):
            converter = rule._converters[argument]
            if hasattr(converter, "items"):  # any(...): one of the values it allows
                values[argument], owned = sorted(converter.items)[0], False
            else:
                values[argument], owned = _resolve(db, cast, argument)
            personal = personal or owned
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in _methods(rule):
            checked += 1
            label = f"{method} {url} ({rule.endpoint})"
            for who in UNRELATED:
                access_spy.clear()
                status = request_as(cast.users[who], method, url).status_code
                if personal and (status != 404 or not access_spy):
                    problems.append(
                        f"{label} as {who}: {status}, access checked: {bool(access_spy)}"
                    )
                elif not personal and status not in (403, 404):
                    problems.append(f"{label} as {who}: {status}")
            status = request_as(None, method, url).status_code
            # The FHIR API asks for a bearer token (401 and an OperationOutcome, nothing else).
            bearer = rule.rule.startswith("/fhir/") and status == 401
            if status not in (302, 404) and not bearer:
                problems.append(f"{label} as anonymous: {status}")
    assert checked >= 10  # the walk found the person routes
    assert not problems, "Routes that answer people without access:\n" + "\n".join(problems)


def test_the_walk_resolves_ids_to_the_patients_own_records(db, rich_cast):
    grant_id, owned = _resolve(db, rich_cast, "grant_id")
    assert owned and db.session.get(AccessGrant, grant_id).patient_id == rich_cast.a.id
    assert _resolve(db, rich_cast, "step_id")[1]  # CrisisStep
    assert _resolve(db, rich_cast, "meeting_id")[1]  # ReviewMeeting
    assert _resolve(db, rich_cast, "version_id")[1]  # PlanVersion
    assert _resolve(db, rich_cast, "goal_id")[1]
    assert _resolve(db, rich_cast, "membership_id")[1]  # CareTeamMembership
    assert _resolve(db, rich_cast, "patient_id") == (rich_cast.a.id, True)
    assert _resolve(db, rich_cast, "token") == (1, False)


# --------------------------------------------------------------------------- #
# The matrix
# --------------------------------------------------------------------------- #

RELATIONS = [
    *CAST_KEYS,
    "professional_no_consent",  # the named nurse, after patient A withdrew consent
]


def only(**allowed: int) -> dict[str, int]:
    """404 for everyone signed in and 302 (to sign in) for anonymous, except ``allowed``."""
    expected = {relation: 404 for relation in RELATIONS}
    expected["anonymous"] = 302
    expected.update(allowed)
    return expected


def signed_in(status: int) -> dict[str, int]:
    return {relation: 302 if relation == "anonymous" else status for relation in RELATIONS}


PLAN_READERS = {"owner": 200, "carer_view": 200, "carer_contribute": 200, "professional": 200}
INVITE = {"email": "new.person@example.org", "relationship": "Friend", "scope": "view"}

# (method, url template, {relation: status}, form data). In templates, {a} is patient A,
# {grant} the grant of carer_view to patient A, {pending} a pending invitation to patient A and
# {token} its link token.
MATRIX = [
    ("GET", "/patients/{a}/plan", only(**PLAN_READERS), None),
    ("GET", "/patients/{a}/crisis", only(**PLAN_READERS, carer_crisis=200), None),
    # Patient A has a plan: starting one opens it.
    ("POST", "/patients/{a}/plan/start", only(professional=302), None),
    ("POST", "/patients/{a}/meetings/did-not-attend", only(professional=302), None),
    ("GET", "/patients/{a}/plan/arrangements", only(professional=200), None),
    (
        "POST",
        "/patients/{a}/plan/arrangements",
        only(professional=302),
        {"preferred_format": "paper"},
    ),
    ("GET", "/patients/{a}/sharing", only(owner=200), None),
    ("GET", "/patients/{a}/sharing/invite", only(owner=200), None),
    ("POST", "/patients/{a}/sharing/invite", only(owner=200), INVITE),
    ("GET", "/patients/{a}/sharing/{grant}", only(owner=200), None),
    ("POST", "/patients/{a}/sharing/{grant}", only(owner=302), {"scope": "crisis"}),
    ("GET", "/patients/{a}/sharing/{grant}/stop", only(owner=200), None),
    ("POST", "/patients/{a}/sharing/{grant}/stop", only(owner=302), None),
    ("POST", "/patients/{a}/sharing/{pending}/resend", only(owner=200), None),
    ("GET", "/patients/{a}/consent", only(owner=200), None),
    ("POST", "/patients/{a}/consent", only(owner=302), {"share": "no"}),
    ("GET", "/patients/{a}/activity", only(owner=200), None),
    ("GET", "/shared-with-me", signed_in(200), None),
    ("GET", "/shared-with-me/{grant}/give-up", only(carer_view=200), None),
    ("POST", "/shared-with-me/{grant}/give-up", only(carer_view=302), None),
    # The invitation is for someone not in the cast: every account is refused, with a reason.
    ("GET", "/invitations/{token}", {**signed_in(403), "anonymous": 200}, None),
    ("POST", "/invitations/{token}", {**signed_in(403), "anonymous": 302}, None),
]


def matrix_url(db, cast, template: str) -> str:
    """A matrix row's address for the cast, with a pending invitation made for it."""
    grant = db.session.scalars(
        select(AccessGrant).where(AccessGrant.grantee_id == cast.users["carer_view"].id)
    ).one()
    pending, token = make_invitation(cast.a, email="not.in.the.cast@example.org")
    db.session.commit()
    return template.format(a=cast.a.id, grant=grant.id, pending=pending.id, token=token)


def _order(expected: dict[str, int]) -> list[str]:
    """Refused people first and the one allowed to change something last, so one database
    serves the whole row: a refused request changes nothing."""
    return sorted(RELATIONS, key=lambda relation: (expected[relation] < 400, relation))


def test_matrix_rows_name_every_relation():
    for row in MATRIX:
        assert set(row[2]) == set(RELATIONS), row[1]


@pytest.mark.parametrize("row", MATRIX, ids=[f"{row[0]} {row[1]}" for row in MATRIX])
def test_access_matrix(db, cast, request_as, row):
    method, template, expected, data = row
    url = matrix_url(db, cast, template)
    actual = {}
    for relation in _order(expected):
        user = cast.users.get(relation)
        if relation == "professional_no_consent":
            user = cast.users["professional"]
            cast.a.care_team_consent = False
            db.session.commit()
        actual[relation] = request_as(user, method, url, data=data or {}).status_code
        if relation == "professional_no_consent":
            cast.a.care_team_consent = True
            db.session.commit()
    assert actual == expected


def test_every_sharing_route_is_in_the_matrix(app):
    """New routes of this area must get a row (other areas keep their own matrices)."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, template, _expected, _data in MATRIX:
        url = template.format(a=1, grant=2, pending=3, token="t")
        covered.add((adapter.match(url, method=method)[0], method))
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("sharing."):
            for method in _methods(rule):
                if rule.endpoint == "sharing.create_account":
                    continue  # public sign-up, tested in test_sharing
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule} has no row"
