"""Each test starts from empty tables, whatever the one before it committed.

The tests run twice in a row on one worker (``xdist_group``): whichever runs second would
find the first one's rows, or trip over its unique email address, if they had leaked.
"""

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Condition, Organisation, Role, SharedResult, User
from tests.factories import make_org, make_patient, make_plan, make_user

pytestmark = pytest.mark.xdist_group("isolation")

PROBE = "isolation-probe@example.org"


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _starts_empty(db) -> None:
    for model in (User, SharedResult, AuditEvent):
        assert _count(db, model) == 0, f"{model.__tablename__} kept another test's rows"
    assert _count(db, Condition) > 0  # loaded once for the whole run, never emptied


@pytest.mark.parametrize("run", ["first", "second"])
def test_rows_the_app_committed_are_gone_in_the_next_test(db, login, run):
    _starts_empty(db)
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org, email=PROBE)
    plan = make_plan(make_patient(org), named_contact=nurse)
    db.session.commit()
    today = date.today()
    data = {"name": "HbA1c", "value": "48", "taken_on-day": str(today.day)}
    data |= {"taken_on-month": str(today.month), "taken_on-year": str(today.year)}
    response = login(nurse).post(
        f"/patients/{plan.patient_id}/results/new", data={**data, "explanation": "Fine"}
    )
    assert response.status_code == 302
    db.session.rollback()  # the request's commit stands: only the test's own work is undone
    assert _count(db, SharedResult) == 1
    assert db.session.scalar(select(User.id).where(User.email == PROBE)) == nurse.id


@pytest.mark.real_commits
@pytest.mark.parametrize("run", ["first", "second"])
def test_rows_committed_on_another_connection_are_gone_in_the_next_test(db, run):
    _starts_empty(db)
    with Session(db.engine) as other:
        other.add(Organisation(ods_code="PROBE", name="Probe practice"))
        other.commit()
    db.session.rollback()  # a fresh transaction sees the other connection's commit
    assert db.session.scalars(select(Organisation.ods_code)).all() == ["PROBE"]
