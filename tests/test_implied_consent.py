"""Implied consent: the practice's care team sees its registered patients for direct care
until the patient objects; the patient's choices about other people stay theirs."""

import pytest

from portal.models import Role
from portal.permissions import Relation, relation
from tests.factories import make_user
from tests.test_access_rules import MATRIX, matrix_url


@pytest.mark.parametrize("row", MATRIX, ids=[f"{row[0]} {row[1]}" for row in MATRIX])
def test_no_recorded_decision_is_the_same_as_consent_for_the_practice(db, cast, request_as, row):
    method, template, expected, data = row
    cast.a.care_team_consent = None
    url = matrix_url(db, cast, template)
    response = request_as(cast.users["professional"], method, url, data=data or {})
    assert response.status_code == expected["professional"]


@pytest.mark.parametrize(
    ("decision", "expected"),
    [(None, Relation.PROFESSIONAL), (True, Relation.PROFESSIONAL), (False, Relation.NONE)],
)
def test_only_an_objection_closes_the_plan_to_the_practice(db, cast, decision, expected):
    cast.a.care_team_consent = decision
    assert relation(cast.users["professional"], cast.a) is expected
    assert relation(cast.users["professional_other_org"], cast.a) is Relation.NONE


def test_the_patients_objection_closes_the_plan_on_the_next_request(db, cast, login):
    client = login(cast.users["owner"])
    assert client.post(f"/patients/{cast.a.id}/consent", data={"share": "no"}).status_code == 302
    nurse = login(cast.users["professional"])
    assert nurse.get(f"/patients/{cast.a.id}/plan").status_code == 404
    body = nurse.get("/worklist").get_data(as_text=True)
    assert "Alice Able" in body and "Objected to sharing with the practice" in body


def test_a_professional_from_elsewhere_never_gets_implied_consent(db, cast):
    cast.a.care_team_consent = None
    other = make_user(Role.PROFESSIONAL, cast.other_org)
    assert relation(other, cast.a) is Relation.NONE


def test_the_consent_page_tells_the_patient_the_practice_sees_the_plan_unless_they_object(
    db, cast, login
):
    cast.a.care_team_consent = None
    db.session.commit()
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/consent").get_data(as_text=True)
    assert "Unless you say no, your care team can read your care plan" in body
