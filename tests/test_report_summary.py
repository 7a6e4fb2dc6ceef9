"""Stored monthly summaries: the same published report as the live count, kept as it stood."""

import csv
import dataclasses
import io
import random
from datetime import date, timedelta

import pytest
from flask_babel import force_locale, format_date
from sqlalchemy import delete, func, select, update

from portal.models import (
    CarePlan,
    CrisisStep,
    MonthlySummary,
    MonthlySummaryCell,
    NeedsSection,
    Patient,
    PlanAudit,
    PlanAuditItem,
    ReviewMeeting,
    Role,
)
from portal.reports.exports import as_csv
from portal.reports.services import monthly_report
from portal.reports.summary import summarise, summarise_missing
from tests.compliance_factories import ASTHMA, DIABETES, at, make_compliant_plan, make_survey
from tests.factories import make_org, make_user

TODAY = date(2012, 1, 1)
MARCH = date(2011, 3, 1)
COPD = "13645005"
MONTHS = [date(2010, 12, 1), date(2011, 2, 1), MARCH, date(2011, 6, 1)]


pytestmark = pytest.mark.usefixtures("english")


def _break(db, plan: CarePlan, how: int) -> None:
    """Leave the plan short of one requirement (each way reads an undated field)."""
    if how == 0:
        plan.named_contact_id = None
    elif how == 1:
        db.session.execute(delete(CrisisStep).where(CrisisStep.plan_id == plan.id))
    else:
        db.session.execute(
            update(NeedsSection).where(NeedsSection.plan_id == plan.id).values(text=" ")
        )


@pytest.fixture
def history(db):
    """Three practices whose patients joined from December 2010 to March 2011: some plans fall
    short, some groups are small enough to hide, new patients come every month and some plans
    were agreed more than 28 days after the assessment."""
    rng = random.Random(2011)
    orgs = [make_org("North Practice"), make_org("South Practice"), make_org("East Practice")]
    nurses = [make_user(Role.PROFESSIONAL, org, can_audit=True) for org in orgs]
    plans = []
    for i in range(60):
        k = rng.choice([0, 0, 0, 1, 1, 2])
        day = rng.choice([date(2011, 1, 31), date(2011, 2, 28), date(2011, 3, 31)])
        assessed = day - timedelta(days=rng.choice([50, 20, 10]))
        plan = make_compliant_plan(
            orgs[k],
            day=day,
            initial_assessment_date=assessed,
            nurse=nurses[k],
            conditions=tuple(rng.sample([DIABETES, ASTHMA, COPD], rng.choice([1, 1, 2]))),
            sex=rng.choice(["female", "female", "male", "male", "other"]),
            preferred_language=rng.choice(["en", "en", "en", "ur", "pl"]),
            ethnicity_category=rng.choice(["white_british", "asian_pakistani", "not_stated"]),
            date_of_birth=rng.choice([date(1930, 5, 1), date(1950, 1, 1), date(1985, 7, 1)]),
        )
        if i % 4 == 0:
            _break(db, plan, i % 3)
        if i % 5 == 0:
            db.session.execute(
                update(ReviewMeeting)
                .where(ReviewMeeting.plan_id == plan.id)
                .values(held_on=assessed + timedelta(days=29))
            )
        plans.append(plan)
    for plan in plans[:12]:
        patient = db.session.get(Patient, plan.patient_id)
        meeting = db.session.scalar(select(ReviewMeeting).where(ReviewMeeting.plan_id == plan.id))
        make_survey(meeting, patient, (rng.randint(1, 5), 4, rng.randint(1, 5)))
    sample = PlanAudit(organisation_id=orgs[0].id, auditor_id=nurses[0].id, created_at=at(MARCH))
    db.session.add(sample)
    db.session.flush()
    for i, plan in enumerate(plans[:15]):
        item = PlanAuditItem(audit_id=sample.id, plan_id=plan.id, meets_requirements=i < 11)
        db.session.add(item)
    db.session.commit()
    return orgs, plans


def _same(live, stored) -> None:
    assert stored.calculated_at is not None and live.calculated_at is None
    assert dataclasses.replace(stored, calculated_at=None) == live
    assert as_csv(stored) == as_csv(live)


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: m.strftime("%Y-%m"))
def test_the_summary_publishes_exactly_the_live_report(history, month):
    """Each month, for all organisations and each one, with every month before it summarised
    (their uptake then comes from their own summaries)."""
    orgs, _plans = history
    choices = [None] + [org.id for org in orgs]
    live = [monthly_report(month, org_id, today=TODAY) for org_id in choices]
    for earlier in _months(date(2010, 12, 1), month):
        summarise(earlier, today=TODAY)
    for org_id, expected in zip(choices, live, strict=True):
        _same(expected, monthly_report(month, org_id, today=TODAY))
    if month == MARCH:  # the data reached every kind of figure
        everyone = live[0]
        assert everyone.compliant < everyone.people
        assert 0 < everyone.new_within < everyone.new_patients
        assert any(None in (r.people, r.compliant) for b in everyone.breakdowns for r in b.rows)
        assert everyone.survey_responses and everyone.audited
        assert [p.people for p in everyone.series[-4:]] != [0, 0, 0, 0]


def _months(first: date, last: date) -> list[date]:
    months = [first]
    while months[-1] < last:
        months.append((months[-1] + timedelta(days=31)).replace(day=1))
    return months


def test_only_this_month_summarised_gives_the_live_report_too(history):
    """Earlier months without a summary of their own: their uptake is the one stored with it."""
    live = monthly_report(MARCH, today=TODAY)
    summarise(MARCH, today=TODAY)
    _same(live, monthly_report(MARCH, today=TODAY))


def test_summarising_again_replaces_the_month(history, db):
    orgs, plans = history
    written = summarise(MARCH, today=TODAY)
    assert written > 40
    before = monthly_report(MARCH, today=TODAY)
    for plan in plans[1:30]:
        plan.named_contact_id = None
    db.session.commit()
    assert summarise(MARCH, today=TODAY) == written  # the same groups, counted again
    cells = select(func.count()).select_from(MonthlySummaryCell)
    assert db.session.scalar(cells) == written
    assert db.session.scalar(select(func.count()).select_from(MonthlySummary)) == 1
    after = monthly_report(MARCH, today=TODAY)
    assert after.people == before.people
    assert after.compliant < before.compliant


def test_a_closed_month_keeps_its_figures_when_undated_fields_change(history, db):
    """Named contact, crisis steps and needs keep no history: the summary keeps the month."""
    orgs, plans = history
    summarise(MARCH, today=date(2011, 4, 30))
    march = monthly_report(MARCH, today=TODAY)
    for i, plan in enumerate(plans):
        _break(db, plan, i % 3)
    db.session.commit()
    assert monthly_report(MARCH, today=TODAY) == march
    april = monthly_report(date(2011, 4, 1), today=TODAY)  # not summarised: counted now
    assert april.calculated_at is None and april.compliant == 0
    assert april.series[-2] == march.series[-1]  # March in April's chart: as March was kept


def test_new_patient_figures_are_read_again_until_their_28_days_are_over(db):
    """Assessed on 25 March, plan agreed at a meeting on 10 April (recorded then)."""
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    others = [make_compliant_plan(org, nurse=nurse) for _ in range(10)]
    late = [
        make_compliant_plan(org, nurse=nurse, initial_assessment_date=date(2011, 3, 25))
        for _ in range(10)
    ]
    meetings = update(ReviewMeeting).where(ReviewMeeting.plan_id.in_([p.id for p in late]))
    db.session.execute(meetings.values(status="scheduled", held_on=None))
    db.session.commit()
    april, may = date(2011, 4, 1), date(2011, 5, 1)
    assert summarise_missing(april) == (_months(date(2011, 1, 1), april), [])
    report = monthly_report(MARCH)
    assert (report.new_patients, report.new_within, report.compliant) == (10, 0, 10)
    db.session.execute(meetings.values(status="held", held_on=date(2011, 4, 10)))
    for plan in others:
        plan.named_contact_id = None  # not read again: only the new-patient figures are
    db.session.commit()
    # April, the month so far, is read again every night; March's 28 days are not over
    assert summarise_missing(date(2011, 4, 28)) == ([april], [])
    assert summarise_missing(date(2011, 4, 29)) == ([april], [MARCH])
    report = monthly_report(MARCH)
    assert (report.new_patients, report.new_within, report.compliant) == (10, 10, 10)
    assert summarise_missing(date(2011, 5, 29)) == ([april, may], [])


def test_a_month_not_started_is_not_summarised(db):
    with pytest.raises(ValueError, match="not started"):
        summarise(date(2011, 4, 1), today=date(2011, 3, 31))
    assert summarise_missing(date(2011, 3, 31)) == ([], [])  # nobody registered yet


def test_the_current_month_is_summarised_so_far_each_night_until_it_ends(history):
    """The nightly job keeps the month in progress too, so no month is ever counted live."""
    night = date(2011, 3, 20)
    live = monthly_report(MARCH, today=night)
    summarised, _ = summarise_missing(night)
    assert summarised[-1] == MARCH
    stored = monthly_report(MARCH, today=date(2011, 3, 25))  # read days later: as it stood
    assert stored.as_of == night
    _same(live, stored)
    assert summarise_missing(date(2011, 3, 21)) == ([MARCH], [])  # the month so far, again
    assert monthly_report(MARCH, today=date(2011, 3, 25)).as_of == date(2011, 3, 21)
    assert summarise_missing(date(2011, 4, 1))[0] == [MARCH, date(2011, 4, 1)]  # March ended
    assert monthly_report(MARCH, today=TODAY).as_of == date(2011, 3, 31)
    assert summarise_missing(date(2011, 4, 2))[0] == [date(2011, 4, 1)]  # March is kept


@pytest.mark.parametrize("summarised", [False, True], ids=["live", "summary"])
def test_suppression_holds_whatever_the_source(db, summarised):
    """A group of 3 beside bigger ones: its neighbour is hidden too, and the subtraction test."""
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    for sex, n in (("female", 23), ("male", 3), ("unknown", 9)):
        for _ in range(n):
            make_compliant_plan(org, nurse=nurse, sex=sex)
    db.session.commit()
    if summarised:
        summarise(MARCH, today=TODAY)
    report = monthly_report(MARCH, today=TODAY)
    assert (report.calculated_at is not None) == summarised
    sex = next(b for b in report.breakdowns if b.key == "sex")
    assert {row.key: row.people for row in sex.rows} == {
        "female": 25,
        "male": None,
        "unknown": None,
    }
    assert report.people == 35


# --------------------------------------------------------------------------------------------
# The page, the download and the command line
# --------------------------------------------------------------------------------------------


def test_the_page_says_when_the_figures_were_calculated(history, cast, login):
    summarise(MARCH, today=TODAY)
    client = login(cast.users["commissioner"])
    body = client.get("/reports?month=2011-03").get_data(as_text=True)
    with force_locale("en_GB"):  # as the page is shown
        calculated = format_date(monthly_report(MARCH).calculated_at, "long")
    assert f"Figures calculated on {calculated}." in body
    assert "Live figures" not in body
    body = client.get("/reports?month=2011-02").get_data(as_text=True)
    assert "Live figures" in body and "Figures calculated on" not in body


ALL = [
    "owner",
    "carer_contribute",
    "professional",
    "commissioner",
    "admin",
    "anonymous",
]


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("route", ["/reports?month=2011-03", "/reports.csv?month=2011-03"])
def test_only_commissioners_reach_a_summarised_month(history, cast, request_as, route, who):
    summarise(MARCH, today=TODAY)
    response = request_as(cast.users[who], "GET", route)
    if who == "anonymous":
        assert response.status_code == 302
    else:
        assert response.status_code == (200 if who == "commissioner" else 404)


def test_the_download_reads_the_summary(history, cast, login, db):
    summarise(MARCH, today=TODAY)
    _orgs, plans = history
    for plan in plans:
        plan.named_contact_id = None
    db.session.commit()
    response = login(cast.users["commissioner"]).get("/reports.csv?month=2011-03")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    figures = {(r["section"], r["group_code"], r["measure"]): r["value"] for r in rows}
    assert figures[("summary", "", "compliant")] not in ("0", "*")


def test_summarised_report_queries_do_not_grow_with_the_data(db, cast, login, count_queries):
    client = login(cast.users["commissioner"])
    counts = []
    for n in (10, 40):
        org = make_org()
        nurse = make_user(Role.PROFESSIONAL, org)
        for _ in range(n):
            make_compliant_plan(org, nurse=nurse)
        db.session.commit()
        summarise(MARCH, today=TODAY)
        with count_queries() as counter:
            assert client.get("/reports?month=2011-03").status_code == 200
        counts.append(counter.count)
        assert not any("FROM patients" in s for s in counter.statements)
    assert counts[0] == counts[1]
    assert counts[1] <= 11  # with the registers' stored figures and the trajectory targets


def test_cli_summarises_a_month_and_every_missing_one(app, db):
    last_month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    for _ in range(10):
        make_compliant_plan(org, day=last_month + timedelta(days=20), nurse=nurse)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report-summarise", "--month", last_month.strftime("%Y-%m")])
    assert result.exit_code == 0, result.output
    assert last_month.strftime("%Y-%m") in result.output
    assert monthly_report(last_month).people == 10
    result = runner.invoke(args=["report-summarise", "--all-missing"])
    assert result.exit_code == 0, result.output
    months = db.session.scalars(select(MonthlySummary.month).order_by(MonthlySummary.month)).all()
    registered = db.session.scalar(select(func.min(Patient.created_at))).date().replace(day=1)
    this_month = date.today().replace(day=1)
    assert months == _months(registered, this_month)
    assert last_month.strftime("%Y-%m") not in result.output  # already there
    assert registered.strftime("%Y-%m") in result.output
    result = runner.invoke(args=["report-summarise", "--all-missing"])
    assert result.exit_code == 0
    assert result.output == f"Summarised {this_month:%Y-%m} (the month so far).\n"


def test_cli_has_nothing_to_summarise_before_anyone_is_recorded(app, db):
    result = app.test_cli_runner().invoke(args=["report-summarise", "--all-missing"])
    assert result.exit_code == 0 and "Nothing to summarise" in result.output


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--month", "2011-13"],
        ["--month", "2011-03", "--all-missing"],
        ["--month", date.today().strftime("%Y-%m")],
        ["--month", "2999-01"],
    ],
)
def test_cli_refuses_a_month_it_cannot_summarise(db, app, args):
    result = app.test_cli_runner().invoke(args=["report-summarise", *args])
    assert result.exit_code == 2, result.output
    assert db.session.scalar(select(func.count()).select_from(MonthlySummary)) == 0
