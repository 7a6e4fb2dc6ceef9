"""The readable copy of everything held about a patient: a page and a PDF beside the JSON."""

import pytest
from flask_babel import force_locale
from sqlalchemy import inspect, select

from portal.models import AuditEvent, CarePlan, Patient, User
from portal.portability import readable
from portal.portability.subject_access import PATIENT_PARTS, PLAN_PARTS
from tests.factories import make_patient
from tests.test_pdf import pdftotext

MODELS = [Patient, User, CarePlan, *PLAN_PARTS.values(), *PATIENT_PARTS.values()]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_stored_field_is_labelled_or_deliberately_left_to_the_json(model):
    """A new column shows up here until it is given a label or is left out on purpose."""
    shown = readable.shown_columns(model)
    unlabelled = [c for c in shown if c not in readable.LABELS and c not in readable.STANDING]
    assert unlabelled == []
    every = {c.key for c in inspect(model).column_attrs}
    assert set(readable.shown_columns(model)) <= every


def _page(request_as, cast, **headers):
    response = request_as(cast.users["owner"], "GET", f"/patients/{cast.a.id}/my-data", **headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_shows_the_record_in_words(db, cast, request_as):
    request_as(cast.users["carer_view"], "GET", f"/patients/{cast.a.id}/plan")
    body = _page(request_as, cast)
    for expected in (
        "All the information the portal holds about me",
        "My details",
        "Alice Able",
        "Goal 1",
        "Lips blue",  # the crisis step's signs, the patient's own words
        "Who can see my plan",
        "Who has looked at my plan",
        "Carer view",  # who looked
        "Download this as a PDF",
    ):
        assert expected in body, expected
    assert "password_hash" not in body and "token_hash" not in body
    assert "$argon2" not in body


def test_viewing_the_copy_is_audited(db, cast, request_as):
    _page(request_as, cast)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == cast.a.id)
    ).all()
    assert "data.view" in actions


def test_the_copy_reads_in_the_readers_language(db, cast, request_as):
    cast.users["owner"].preferred_locale = "cy"
    db.session.commit()
    body = _page(request_as, cast)
    assert "Yr holl wybodaeth" in body or 'lang="cy"' in body
    assert "Alergeddau" in body or "Arwyddion" in body  # field labels in Welsh
    assert "My details" not in body


def test_a_patient_without_a_plan_gets_a_copy_too(db, app):
    patient = make_patient()
    db.session.commit()
    with app.test_request_context(), force_locale("en_GB"):
        sections = readable.readable_copy(patient)
    keys = [s.key for s in sections]
    assert keys[0] == "patient" and "care_plan" not in keys and keys[-1] == "audit_trail"


def test_the_pdf_holds_the_same_record(db, cast, request_as):
    response = request_as(cast.users["owner"], "GET", f"/patients/{cast.a.id}/my-data.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "my-care-plan-data.pdf" in response.headers["Content-Disposition"]
    text = " ".join(pdftotext(response.data).split())
    for expected in ("Alice Able", "Goal 1", "Lips blue", "Who has looked at my plan"):
        assert expected in text, expected
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.patient_id == cast.a.id)
    ).all()
    assert any(e.action == "data.download" and e.detail == "PDF" for e in events)
