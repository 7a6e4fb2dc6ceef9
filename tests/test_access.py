"""Endpoint x relationship matrix for routes that show one person's plan."""

import pytest

from tests.factories import CAST_KEYS

PLAN_ROUTES = ["/patients/{a}/plan"]
CRISIS_ROUTES = [
    "/patients/{a}/crisis",
    "/patients/{a}/crisis/easy-read",
    "/patients/{a}/crisis/easy-read.pdf",
]

# Who may read the whole plan, and who may read the crisis page.
PLAN_READERS = {"owner", "carer_view", "carer_contribute", "professional"}
CRISIS_READERS = PLAN_READERS | {"carer_crisis"}

ALL = CAST_KEYS


def _expected(who: str, readers: set[str]) -> int:
    if who == "anonymous":
        return 302
    return 200 if who in readers else 404


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("route", PLAN_ROUTES)
def test_plan_routes(cast, request_as, route, who):
    response = request_as(cast.users[who], "GET", route.format(a=cast.a.id))
    assert response.status_code == _expected(who, PLAN_READERS)


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("route", CRISIS_ROUTES)
def test_crisis_routes(cast, request_as, route, who):
    response = request_as(cast.users[who], "GET", route.format(a=cast.a.id))
    assert response.status_code == _expected(who, CRISIS_READERS)


# Deciding on crisis changes between meetings: the care team only.
CARE_TEAM_ROUTES = ["/patients/{a}/crisis/changes"]


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", CARE_TEAM_ROUTES)
def test_care_team_routes(cast, request_as, route, method, who):
    response = request_as(cast.users[who], method, route.format(a=cast.a.id), data={})
    # A post with no decisions is refused as naming nothing waiting (409), never saved.
    allowed = 200 if method == "GET" else 409
    expected = _expected(who, {"professional"})
    assert response.status_code == (allowed if expected == 200 else expected)


@pytest.mark.parametrize("route", PLAN_ROUTES + CRISIS_ROUTES + CARE_TEAM_ROUTES)
def test_professional_without_patient_consent_gets_404(cast, request_as, route):
    url = route.format(a=cast.no_consent.id)
    assert request_as(cast.users["professional"], "GET", url).status_code == 404


@pytest.mark.parametrize("route", PLAN_ROUTES + CRISIS_ROUTES + CARE_TEAM_ROUTES)
def test_unknown_patient_is_404_not_500(cast, request_as, route):
    url = route.format(a=999999)
    assert request_as(cast.users["owner"], "GET", url).status_code == 404


# --------------------------------------------------------------------------- #
# The register: per organisation, never plan content
# --------------------------------------------------------------------------- #

# Staff of patient A's organisation who may do register work, and what each route allows.
REGISTER_STAFF = {"practice_admin", "professional"}
REGISTER_ROUTES = [
    # (method, url template, people who get the status, that status)
    ("GET", "/register/", REGISTER_STAFF | {"professional_other_org"}, 200),
    ("GET", "/register/import", {"practice_admin"}, 200),
    ("POST", "/register/import", {"practice_admin"}, 200),  # no file: the form again
    ("GET", "/register/imports/{imp}", {"practice_admin"}, 200),
    ("POST", "/register/imports/{imp}/confirm", {"practice_admin"}, 302),
    ("GET", "/register/imports/{imp}/rejected.csv", {"practice_admin"}, 200),
    ("GET", "/register/patients/new", REGISTER_STAFF | {"professional_other_org"}, 200),
    ("POST", "/register/patients/new", REGISTER_STAFF | {"professional_other_org"}, 200),
    ("GET", "/register/patients/{a}", REGISTER_STAFF, 200),
    ("GET", "/reports/trajectory", {"commissioner"}, 200),
    ("POST", "/reports/trajectory", {"commissioner"}, 200),  # empty: the form again
    ("POST", "/reports/trajectory/remove", {"commissioner"}, 302),
    ("POST", "/register/patients/{a}/offer", REGISTER_STAFF, 200),  # empty: the form again
    ("POST", "/register/patients/{a}/answer", REGISTER_STAFF, 200),
    ("GET", "/register/patients/{a}/details", REGISTER_STAFF, 200),
    ("POST", "/register/patients/{a}/details", REGISTER_STAFF, 200),
    # patient A has an account already: nothing is issued, back to the record
    ("POST", "/register/patients/{a}/letter", REGISTER_STAFF, 302),
    ("POST", "/register/patients/{a}/activation-email", REGISTER_STAFF, 302),
]


@pytest.fixture
def register_import(db, cast):
    from portal.models import RegisterImport

    record = RegisterImport(organisation_id=cast.org.id, status="completed")
    db.session.add(record)
    db.session.commit()
    return record


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize(
    "row", REGISTER_ROUTES, ids=[f"{method} {url}" for method, url, *_ in REGISTER_ROUTES]
)
def test_register_routes(cast, register_import, request_as, row, who):
    """Register routes, and the commissioner's trajectory targets (per role, never a person)."""
    method, template, allowed, status = row
    url = template.format(a=cast.a.id, imp=register_import.id)
    response = request_as(cast.users[who], method, url, data={})
    expected = 302 if who == "anonymous" else status if who in allowed else 404
    assert response.status_code == expected


def test_another_organisations_import_is_404(db, cast, request_as):
    from portal.models import RegisterImport

    theirs = RegisterImport(organisation_id=cast.other_org.id, status="completed")
    db.session.add(theirs)
    db.session.commit()
    admin = cast.users["practice_admin"]
    for suffix in ("", "/rejected.csv"):
        assert request_as(admin, "GET", f"/register/imports/{theirs.id}{suffix}").status_code == 404


def test_practice_administrators_never_reach_plan_content(cast, request_as):
    admin = cast.users["practice_admin"]
    for route in PLAN_ROUTES + CRISIS_ROUTES:
        assert request_as(admin, "GET", route.format(a=cast.a.id)).status_code == 404


def test_every_register_route_has_a_row(app):
    adapter = app.url_map.bind("localhost")
    covered = {
        (adapter.match(url.format(a=1, imp=1), method=method)[0], method)
        for method, url, *_ in REGISTER_ROUTES
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("register."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule}"


# --------------------------------------------------------------------------- #
# Care across organisations: members of the care team and urgent care
# --------------------------------------------------------------------------- #

from tests.conftest import ORG_RELATIONS, as_relation  # noqa: E402

EVERYONE = [*CAST_KEYS, "professional_no_consent", *ORG_RELATIONS]
MEMBER_READERS = {"member_view", "member_contribute", "member_team"}
WORKS_SOMEWHERE = {
    "professional",
    "professional_other_org",
    "professional_no_consent",
    *(r for r in ORG_RELATIONS if r != "member_left"),
}
URGENT = {r for r in ORG_RELATIONS if r.startswith("urgent")}

# (method, url template, {who gets this status}, status); everyone else signed in gets 404.
ORG_MATRIX = [
    ("GET", "/patients/{a}/plan", PLAN_READERS | MEMBER_READERS, 200),
    (
        "GET",
        "/patients/{a}/crisis",
        CRISIS_READERS | MEMBER_READERS | {"member_crisis", "urgent_after_reason"},
        200,
    ),
    (
        "GET",
        "/patients/{a}/contingency",
        {"owner", "carer_contribute", "professional", "member_contribute"},
        200,
    ),
    ("GET", "/patients/{a}/care-team/access", {"professional"}, 200),
    ("POST", "/patients/{a}/care-team/access", {"professional"}, 200),  # empty: the form again
    ("POST", "/patients/{a}/care-team/access/{m}/end", {"professional"}, 302),
    ("POST", "/patients/{a}/sharing/teams/{m}/agree", {"owner"}, 302),
    ("POST", "/patients/{a}/sharing/teams/{m}/end", {"owner"}, 302),
    ("POST", "/patients/{a}/sharing/emergency", {"owner"}, 302),
    ("GET", "/urgent-care", URGENT, 200),
    ("POST", "/urgent-care", URGENT, 200),  # empty: the form again
    ("POST", "/urgent-care/open", URGENT, 302),  # nothing searched yet: back to the search
    ("GET", "/worklist", WORKS_SOMEWHERE, 200),
]


# Rows other than the plan's own pages ask fewer of the shared cast (to keep the suite quick):
# those of them whose standing could matter, and everyone of another organisation.
FEWER = ["owner", "carer_contribute", "professional", "professional_other_org", "anonymous"]


def _org_order(template: str, allowed: set[str]) -> list[str]:
    """Refused people first, so a change made by the one allowed comes last."""
    asked = EVERYONE if template in PLAN_ROUTES + CRISIS_ROUTES else FEWER + ORG_RELATIONS
    return sorted(asked, key=lambda who: (who in allowed, who))


@pytest.mark.parametrize("row", ORG_MATRIX, ids=[f"{r[0]} {r[1]}" for r in ORG_MATRIX])
def test_org_matrix(db, org_cast, request_as, row):
    from portal.models import CareTeamMembership

    method, template, allowed, status = row
    proposed = db.session.scalars(
        CareTeamMembership.__table__.select()
        .with_only_columns(CareTeamMembership.id)
        .where(CareTeamMembership.status == "proposed")
    ).first()
    url = template.format(a=org_cast.a.id, m=proposed)
    actual, expected = {}, {}
    for who in _org_order(template, allowed):
        with as_relation(db, org_cast, who) as user:
            actual[who] = request_as(user, method, url, data={}).status_code
        expected[who] = 302 if who == "anonymous" else status if who in allowed else 404
    assert actual == expected


def test_every_organisations_route_has_a_row(app):
    adapter = app.url_map.bind("localhost")
    covered = {
        (adapter.match(url.format(a=1, m=2), method=method)[0], method)
        for method, url, *_ in ORG_MATRIX
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("organisations."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule}"
