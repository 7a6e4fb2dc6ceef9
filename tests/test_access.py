"""Endpoint x relationship matrix for routes that show one person's plan."""

import pytest

from tests.factories import CAST_KEYS

PLAN_ROUTES = ["/patients/{a}/plan"]
CRISIS_ROUTES = ["/patients/{a}/crisis"]

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
