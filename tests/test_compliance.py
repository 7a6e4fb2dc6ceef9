"""The "meets the requirements" rule: one test per criterion, and Python and SQL agree."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import case, delete, select, update

from portal.compliance import (
    CRITERIA,
    as_of_sql,
    assess,
    criteria_sql,
    evidence,
    load_evidence,
    meets,
    meets_sql,
    months_before,
)
from portal.models import (
    CarePlan,
    ConsentRecord,
    CrisisStep,
    Domain,
    Goal,
    NeedsSection,
    Patient,
    ReviewMeeting,
    Role,
    UsualState,
)
from tests.compliance_factories import (
    DAY,
    add_conditions,
    at,
    make_compliant_plan,
    make_consent,
    make_meeting,
)
from tests.factories import make_org, make_patient, make_user


def python_view(db, plan_id: int, day: date) -> tuple[dict, bool]:
    db.session.expire_all()
    plan, meetings, consents = load_evidence([plan_id])[plan_id]
    return assess(plan, meetings, consents, day), meets(plan, meetings, consents, day)


def sql_view(db, patient_ids, day: date) -> dict[int, tuple[dict, bool]]:
    ev = evidence().subquery()
    moments = as_of_sql(day)
    rules = criteria_sql(ev, *moments)
    columns = [case((rule, 1), else_=0).label(key) for key, rule in rules.items()]
    columns.append(case((meets_sql(ev, *moments), 1), else_=0).label("meets"))
    rows = db.session.execute(
        select(ev.c.patient_id, *columns).where(ev.c.patient_id.in_(list(patient_ids)))
    ).mappings()
    return {
        row["patient_id"]: ({key: bool(row[key]) for key in CRITERIA}, bool(row["meets"]))
        for row in rows
    }


def both(db, plan: CarePlan, day: date = DAY) -> tuple[dict, bool]:
    """Each criterion and the verdict, after checking the SQL form says the same."""
    db.session.commit()
    in_python = python_view(db, plan.id, day)
    in_sql = sql_view(db, [plan.patient_id], day)[plan.patient_id]
    assert in_sql == in_python
    return in_python


def test_a_complete_plan_meets_every_criterion(db):
    plan = make_compliant_plan()
    criteria, verdict = both(db, plan)
    assert criteria == {key: True for key in CRITERIA}
    assert verdict is True


def _blank_one_domain(db, plan):
    db.session.execute(
        update(NeedsSection)
        .where(NeedsSection.plan_id == plan.id, NeedsSection.domain == Domain.ECONOMIC)
        .values(text=" \n\t ")
    )


def _drop_one_domain(db, plan):
    db.session.execute(
        delete(NeedsSection).where(
            NeedsSection.plan_id == plan.id, NeedsSection.domain == Domain.CULTURAL
        )
    )


def _meeting(db, plan, **values):
    db.session.execute(update(ReviewMeeting).where(ReviewMeeting.plan_id == plan.id).values(values))


def _goal(db, plan, **values):
    db.session.execute(update(Goal).where(Goal.plan_id == plan.id).values(values))


def _plan(db, plan, **values):
    db.session.execute(
        update(CarePlan)
        .where(CarePlan.id == plan.id)
        .values(values)
        .execution_options(synchronize_session=False)
    )


BREAKS = {
    "whole_person": [_blank_one_domain, _drop_one_domain],
    "feedback": [
        lambda db, plan: _meeting(db, plan, patient_feedback="  "),
        lambda db, plan: _meeting(db, plan, status="scheduled"),
        lambda db, plan: _meeting(db, plan, held_on=DAY + timedelta(days=1)),
        lambda db, plan: db.session.execute(
            delete(ReviewMeeting).where(ReviewMeeting.plan_id == plan.id)
        ),
    ],
    "agreed_goal": [
        lambda db, plan: _goal(db, plan, status="proposed", agreed_at=None),
        lambda db, plan: _goal(db, plan, status="withdrawn"),
        lambda db, plan: _goal(db, plan, agreed_at=at(DAY + timedelta(days=1), 9)),
        lambda db, plan: _goal(db, plan, agreed_at=None),
    ],
    "contingency": [
        lambda db, plan: db.session.execute(
            delete(CrisisStep).where(CrisisStep.plan_id == plan.id)
        ),
        lambda db, plan: db.session.execute(
            delete(UsualState).where(UsualState.plan_id == plan.id)
        ),
        lambda db, plan: db.session.execute(
            update(UsualState).where(UsualState.plan_id == plan.id).values(mobility="\n ")
        ),
        lambda db, plan: _plan(db, plan, contingency_reviewed_on=None),
        lambda db, plan: _plan(db, plan, contingency_reviewed_on=months_before(DAY, 12)),
        lambda db, plan: _plan(db, plan, contingency_reviewed_on=DAY + timedelta(days=1)),
    ],
    "consent": [
        lambda db, plan: db.session.execute(
            delete(ConsentRecord).where(ConsentRecord.patient_id == plan.patient_id)
        ),
        lambda db, plan: db.session.execute(
            update(ConsentRecord)
            .where(ConsentRecord.patient_id == plan.patient_id)
            .values(created_at=at(DAY + timedelta(days=1), 9))
        ),
    ],
    "copy": [
        lambda db, plan: db.session.execute(
            update(Patient).where(Patient.id == plan.patient_id).values(user_id=None)
        ),
        lambda db, plan: (
            db.session.execute(
                update(Patient).where(Patient.id == plan.patient_id).values(user_id=None)
            ),
            _plan(db, plan, paper_copy_given_on=DAY + timedelta(days=1)),
        ),
    ],
    "named_contact": [lambda db, plan: _plan(db, plan, named_contact_id=None)],
}
CASES = [(key, i) for key, breaks in BREAKS.items() for i in range(len(breaks))]


def test_every_criterion_has_a_failing_case():
    assert set(BREAKS) == set(CRITERIA)


@pytest.mark.parametrize(("criterion", "case_no"), CASES)
def test_each_criterion_fails_on_its_own(db, criterion, case_no):
    plan = make_compliant_plan()
    BREAKS[criterion][case_no](db, plan)
    criteria, verdict = both(db, plan)
    assert criteria == {key: key != criterion for key in CRITERIA}
    assert verdict is False


@pytest.mark.parametrize(
    "keep",
    [
        lambda db, plan: _goal(db, plan, status="achieved"),  # achieved goals were agreed
        lambda db, plan: _goal(db, plan, status="not_achieved"),
        lambda db, plan: db.session.execute(  # a refusal is a recorded decision
            update(ConsentRecord)
            .where(ConsentRecord.patient_id == plan.patient_id)
            .values(share_with_care_team=False)
        ),
        lambda db, plan: (  # no portal account, but a paper copy given
            db.session.execute(
                update(Patient).where(Patient.id == plan.patient_id).values(user_id=None)
            ),
            _plan(db, plan, paper_copy_given_on=DAY),
        ),
        lambda db, plan: _plan(  # reviewed a day inside the 12 months
            db, plan, contingency_reviewed_on=months_before(DAY, 12) + timedelta(days=1)
        ),
        lambda db, plan: _plan(db, plan, contingency_reviewed_on=DAY),
        lambda db, plan: _meeting(db, plan, held_on=DAY),
    ],
)
def test_what_still_meets_the_requirements(db, keep):
    plan = make_compliant_plan()
    keep(db, plan)
    assert both(db, plan) == ({key: True for key in CRITERIA}, True)


def test_a_plan_created_after_the_day_does_not_count(db):
    plan = make_compliant_plan()
    _plan(db, plan, created_at=at(DAY + timedelta(days=1), 9))
    criteria, verdict = both(db, plan)
    assert all(criteria.values())
    assert verdict is False


def test_timestamps_are_read_in_uk_time(db):
    """31 March 2011 was British Summer Time: the day ended at 23:00 UTC."""
    plan = make_compliant_plan()
    _goal(db, plan, agreed_at=datetime(2011, 3, 31, 22, 59, tzinfo=UTC))
    assert both(db, plan)[0]["agreed_goal"] is True
    _goal(db, plan, agreed_at=datetime(2011, 3, 31, 23, 1, tzinfo=UTC))
    assert both(db, plan)[0]["agreed_goal"] is False
    winter = date(2011, 1, 31)  # GMT: the day ends at midnight UTC
    _goal(db, plan, agreed_at=datetime(2011, 1, 31, 23, 59, tzinfo=UTC))
    _plan(db, plan, contingency_reviewed_on=winter)
    assert both(db, plan, winter)[0]["agreed_goal"] is True


def test_a_patient_without_a_long_term_condition_is_not_counted(db):
    plan = make_compliant_plan()
    other = make_patient(make_org())
    db.session.commit()
    assert set(sql_view(db, [plan.patient_id, other.id], DAY)) == {plan.patient_id}


def test_months_before_keeps_to_the_end_of_shorter_months():
    assert months_before(date(2012, 2, 29), 12) == date(2011, 2, 28)
    assert months_before(date(2011, 3, 31), 1) == date(2011, 2, 28)
    assert months_before(date(2011, 3, 15), 12) == date(2010, 3, 15)


def test_python_and_sql_agree_on_generated_plans(db):
    """Random plans with every criterion sometimes met, sometimes not, often at the edges."""
    rng = random.Random(8)
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    edges = [-400, -366, -365, -364, -30, -1, 0, 1, 30]
    texts = ["Written", "", " ", "\n\t", " x "]
    plan_ids, patient_ids = [], []
    for _ in range(60):
        day = DAY + timedelta(days=rng.choice(edges))
        patient = make_patient(org, created_at=at(DAY - timedelta(days=400)))
        if rng.random() < 0.3:
            db.session.execute(update(Patient).where(Patient.id == patient.id).values(user_id=None))
        add_conditions(patient)
        plan = CarePlan(
            patient_id=patient.id,
            named_contact_id=nurse.id if rng.random() < 0.8 else None,
            created_at=at(DAY + timedelta(days=rng.choice(edges)), rng.choice([9, 23])),
            contingency_reviewed_on=rng.choice([None, day, day - timedelta(days=200)]),
            paper_copy_given_on=rng.choice([None, day]),
        )
        db.session.add(plan)
        db.session.flush()
        for domain in rng.sample(list(Domain), rng.choice([9, 9, 8, 3])):
            text = "Written" if rng.random() < 0.95 else rng.choice(texts)
            db.session.add(NeedsSection(plan_id=plan.id, domain=domain, text=text))
        for _ in range(rng.choice([0, 1, 2])):
            status = rng.choice(["agreed", "proposed", "achieved", "withdrawn", "not_achieved"])
            agreed_at = None if rng.random() < 0.2 else at(day, rng.choice([0, 12, 22, 23]))
            db.session.add(Goal(plan_id=plan.id, title="G", status=status, agreed_at=agreed_at))
        for _ in range(rng.choice([0, 1, 2])):
            db.session.add(CrisisStep(plan_id=plan.id, level="amber", signs="s", actions="a"))
        if rng.random() < 0.8:
            db.session.add(UsualState(plan_id=plan.id, allergies=rng.choice(texts)))
        for _ in range(rng.choice([0, 1, 2])):
            make_meeting(
                plan,
                rng.choice([None, day, day + timedelta(days=1)]),
                rng.choice(texts),
                rng.choice(["held", "held", "scheduled"]),
            )
        for _ in range(rng.choice([0, 1, 1, 2])):
            make_consent(patient, at(day, rng.choice([0, 22, 23])), rng.random() < 0.8)
        plan_ids.append(plan.id)
        patient_ids.append(patient.id)
    for _ in range(10):  # complete plans, dated around the days checked
        plan = make_compliant_plan(org, DAY + timedelta(days=rng.choice(edges)), nurse)
        plan_ids.append(plan.id)
        patient_ids.append(plan.patient_id)
    db.session.commit()
    seen = {key: set() for key in CRITERIA}
    verdicts = set()
    for day in (DAY - timedelta(days=1), DAY, DAY + timedelta(days=1), DAY + timedelta(days=30)):
        in_sql = sql_view(db, patient_ids, day)
        evidence_rows = load_evidence(plan_ids)
        for plan_id, (plan, meetings, consents) in evidence_rows.items():
            expected = (
                assess(plan, meetings, consents, day),
                meets(plan, meetings, consents, day),
            )
            assert in_sql[plan.patient_id] == expected, (plan_id, day)
            for key, value in expected[0].items():
                seen[key].add(value)
            verdicts.add(expected[1])
    assert seen == {key: {True, False} for key in CRITERIA}  # the data tested both ways
    assert verdicts == {True, False}
