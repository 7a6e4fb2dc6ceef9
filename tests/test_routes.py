"""Every route declares the action it needs, decided in ``portal.permissions``."""

import ast
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.models import AuditEvent
from portal.pages import account_page, patient_page
from portal.permissions import ACCOUNT_ACTIONS, Action, RegisterAction, can, may
from tests.factories import CAST_KEYS, make_patient

# Pages anyone may open, signed in or not: each checks what it needs itself (a token, a code).
PUBLIC = frozenset(
    {
        "static",
        "health.healthz",
        "auth.login",
        "auth.mfa_code",
        "auth.forgot_password",
        "auth.reset_password",
        "auth.provider_start",  # signing in with NHS login or CIS2
        "auth.provider_callback",  # the provider's answer, checked before anything is believed
        "auth.nhs_login_low_level",  # says what an unverified NHS login allows: nothing private
        "sharing.invitation",
        "sharing.create_account",
        "account.set_language",
        "portability.code_system",  # terminology, published at its canonical address
        "portability.fhir_metadata",  # the FHIR server's CapabilityStatement
        "portability.smart_configuration",  # how SMART apps and systems connect
        "portability.smart_token",  # the client proves itself: a signed assertion or PKCE
        "activation.start",  # a patient with an activation code creates their account
        "activation.details",  # its second step, open only after the first
        "notifications.stop",  # the one-click unsubscribe, with its signed link
        "notifications.notify_status",  # GOV.UK Notify's receipts, with its bearer token
    }
)


def undeclared(app: Flask) -> list[str]:
    """Endpoints, other than the public ones, whose view declares no action."""
    return sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC
        and getattr(app.view_functions[rule.endpoint], "required_action", None) is None
    )


def test_every_route_declares_an_action(app):
    assert undeclared(app) == []


def test_the_walk_finds_a_route_without_an_action():
    other = Flask(__name__)

    @other.route("/patients/<int:patient_id>/secret")
    def secret(patient_id: int):
        return "health detail"

    @other.route("/patients/<int:patient_id>/declared")
    @patient_page(Action.VIEW_PLAN)
    def declared(patient_id: int):
        return "plan"

    @other.route("/reports-too")
    @account_page(Action.READ_REPORTS)
    def reports_too():
        return "report"

    assert undeclared(other) == ["secret"]


def test_patient_pages_declare_patient_actions_and_others_account_actions(app):
    for rule in app.url_map.iter_rules():
        action = getattr(app.view_functions[rule.endpoint], "required_action", None)
        if action is None:
            continue
        if isinstance(action, RegisterAction):
            continue  # register work: per organisation, patient or not (``can_register``)
        if "patient_id" in rule.arguments:
            assert action not in ACCOUNT_ACTIONS, rule.endpoint
        else:
            assert action in ACCOUNT_ACTIONS, rule.endpoint


# The only places besides the page decorator that ask ``permissions.require`` themselves, each
# for a patient its address does not name.
ASKS_FOR_ITSELF = {
    # The FHIR API finds the patient in a resource's id or a search, and its reader may be a
    # SMART token's system rather than a signed-in person (``api_view`` declares the route).
    ("portability/api.py", "_patient_resources"),
    # A sampled plan's audit item: the patient is known only once the item is loaded, and
    # ``AUDIT_PLAN`` is asked again because their consent may have changed since sampling.
    ("audits/views.py", "check"),
    # A carer giving up their own access (an account page): the patient is found from the
    # grant, and asking ``VIEW_CRISIS`` of them confirms the grant still opens their plan.
    ("sharing/views.py", "give_up"),
}

PORTAL = Path(__file__).resolve().parent.parent / "portal"


def calls_to_require(source: str) -> list[str]:
    """The functions of ``source`` that call ``require(...)`` (``permissions.require`` too)."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                called = node.func
                name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")
                if name == "require":
                    found.append(function.name)
                    break
    return found


def test_the_page_decorator_is_the_one_way_in():
    """No view, nor a helper it calls, asks for access again after its decorator did."""
    asked = {
        (path.relative_to(PORTAL).as_posix(), name)
        for path in PORTAL.rglob("*.py")
        if path.name not in ("pages.py", "permissions.py")
        for name in calls_to_require(path.read_text(encoding="utf-8"))
    }
    assert asked == ASKS_FOR_ITSELF


def test_the_walk_finds_a_view_that_asks_again():
    source = """
@patient_page(Action.AGREE)
def remove(patient_id):
    require(current_user, Action.AGREE, patient_id)

def helper(patient_id):
    return permissions.require(current_user, Action.VIEW_PLAN, patient_id)
"""
    assert calls_to_require(source) == ["remove", "helper"]


def test_the_public_list_names_only_routes_that_exist(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} >= PUBLIC


# --- the actions behind the old role gates ----------------------------------------------------

ACCOUNT_MATRIX = {
    # action: the cast members who may take it
    Action.OWN_ACCOUNT: {k for k in CAST_KEYS if k != "anonymous"},
    Action.ADMINISTER: {"admin"},
    Action.READ_REPORTS: {"commissioner"},
    Action.RUN_AUDITS: set(),  # nobody in the cast has the audit role
    Action.READ_SURVEY_RESULTS: {"professional", "professional_other_org"},
}


@pytest.mark.parametrize("action", sorted(ACCOUNT_MATRIX))
def test_account_actions_follow_the_account(cast, action):
    allowed = {key for key in CAST_KEYS if may(cast.users[key], action)}
    assert allowed == ACCOUNT_MATRIX[action]


def test_only_professionals_with_the_audit_role_may_run_audits(db, cast):
    nurse = cast.users["professional"]
    assert not may(nurse, Action.RUN_AUDITS)
    nurse.can_audit = True
    assert may(nurse, Action.RUN_AUDITS)
    nurse.active = False
    assert not may(nurse, Action.RUN_AUDITS)


def test_an_auditor_reads_a_sampled_plan_under_its_own_action(db, cast):
    """Agreeing the plan and auditing it are different actions: one does not grant the other."""
    nurse = cast.users["professional"]
    assert can(nurse, Action.AGREE, cast.a)
    assert not can(nurse, Action.AUDIT_PLAN, cast.a)  # no audit role
    nurse.can_audit = True
    assert can(nurse, Action.AUDIT_PLAN, cast.a)
    assert not can(nurse, Action.AUDIT_PLAN, cast.no_consent)  # the patient did not consent
    other = cast.users["professional_other_org"]
    other.can_audit = True
    assert not can(other, Action.AUDIT_PLAN, cast.a)  # not their organisation's patient
    for key in ("owner", "carer_contribute", "commissioner", "admin"):
        assert not can(cast.users[key], Action.AUDIT_PLAN, cast.a)


def test_only_the_patient_answers_their_survey(cast):
    allowed = {key for key in CAST_KEYS if can(cast.users[key], Action.ANSWER_SURVEY, cast.a)}
    assert allowed == {"owner"}


@pytest.mark.parametrize("who", ["professional", "commissioner", "owner", "anonymous"])
def test_reports_gate_is_a_404_for_everyone_but_commissioners(cast, request_as, who):
    status = request_as(cast.users[who], "GET", "/reports").status_code
    assert status == (302 if who == "anonymous" else 200 if who == "commissioner" else 404)


def test_a_page_that_loads_nothing_is_404_and_a_view_is_audited(db, cast, login):
    client = login(cast.users["professional"])
    before = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "care_team.view")
    )
    assert client.get(f"/patients/{cast.a.id}/care-team").status_code == 200
    after = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "care_team.view")
    )
    assert after == before + 1
    without_plan = make_patient(cast.org)
    db.session.commit()
    assert client.get(f"/patients/{without_plan.id}/care-team").status_code == 404
    assert client.get("/patients/999999/care-team").status_code == 404
