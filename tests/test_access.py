"""Endpoint x relationship matrix for routes that show one person's plan."""

import pytest

from tests.factories import CAST_KEYS

PLAN_ROUTES = ["/patients/{a}/plan"]
CRISIS_ROUTES = ["/patients/{a}/crisis", "/patients/{a}/crisis/easy-read"]

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


@pytest.mark.parametrize("route", PLAN_ROUTES + CRISIS_ROUTES)
def test_professional_without_patient_consent_gets_404(cast, request_as, route):
    url = route.format(a=cast.no_consent.id)
    assert request_as(cast.users["professional"], "GET", url).status_code == 404


@pytest.mark.parametrize("route", PLAN_ROUTES + CRISIS_ROUTES)
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
