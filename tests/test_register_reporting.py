"""The registers in the commissioner's report: the denominator and the offers, suppressed."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.models import PlanOffer, RegisterEntry, Role
from portal.reports.register import register_figures
from tests.factories import make_org, make_patient, make_user

DAY = date(2026, 11, 30)


def on_register(db, org, n, registered=date(2020, 1, 1), left=None, baseline=None):
    people = []
    for _ in range(n):
        person = make_patient(org)
        db.session.add(
            RegisterEntry(
                patient_id=person.id,
                registered_on=registered,
                left_on=left,
                existing_plan_reviewed_on=baseline,
            )
        )
        people.append(person)
    db.session.flush()
    return people


def offer(db, person, outcome=None, on=date(2026, 10, 1)):
    db.session.add(
        PlanOffer(
            patient_id=person.id,
            organisation_id=person.organisation_id,
            offered_on=on,
            method="letter",
            outcome=outcome,
            outcome_on=on if outcome else None,
        )
    )


def test_the_denominator_is_the_people_on_the_registers_that_day(db):
    org, other = make_org(), make_org()
    people = on_register(db, org, 20)
    on_register(db, org, 10, left=DAY - timedelta(days=1))  # left before the day
    on_register(db, org, 10, registered=DAY + timedelta(days=1))  # joined after
    on_register(db, other, 10, baseline=DAY - timedelta(days=30))
    make_patient(org)  # in the portal but on no register: not counted
    for person in people[:15]:
        offer(db, person, "accepted")
    for person in people[15:]:
        offer(db, person, "declined")
    offer(db, people[0], None, on=DAY + timedelta(days=3))  # after the day
    db.session.flush()
    total, first, second = register_figures(DAY)
    assert (total.on_register, total.offered, total.accepted, total.baseline) == (30, 20, 15, 10)
    assert first.organisation_id == org.id and first.on_register == 20
    assert (second.on_register, second.baseline) == (10, 10)
    assert total.share("accepted") == 50.0
    # one organisation: only its row
    (only,) = register_figures(DAY, other.id)
    assert (only.organisation_id, only.on_register) == (other.id, 10)


def test_small_numbers_are_suppressed(db):
    org = make_org()
    people = on_register(db, org, 12)
    offer(db, people[0], "declined")
    db.session.flush()
    (total, _org_row) = register_figures(DAY)
    assert total.on_register == 10  # rounded
    assert total.declined is None and total.share("declined") is None


def test_the_report_page_shows_the_registers(db, login):
    org = make_org("Riverside Surgery")
    on_register(db, org, 20)
    commissioner = make_user(Role.COMMISSIONER)
    db.session.commit()
    page = login(commissioner).get("/reports").get_data(as_text=True)
    assert "The practices&#39; registers" in page or "The practices' registers" in page
    assert "Riverside Surgery" in page
    assert "Plan already in place (baseline)" in page


def test_a_summarised_month_keeps_its_register_figures(db):
    from portal.reports.summary import summarise

    org = make_org()
    people = on_register(db, org, 20)
    for person in people[:10]:
        offer(db, person, "accepted")
    db.session.commit()
    month = date(2026, 11, 1)
    summarise(month, today=date(2026, 12, 7))
    # later changes do not alter the stored month
    for person in people[10:]:
        offer(db, person, "accepted")
    db.session.commit()
    (stored, _row) = register_figures(DAY, summarised_month=month)
    (live, _row) = register_figures(DAY)
    assert (stored.on_register, stored.accepted) == (20, 10)
    assert live.accepted == 20


# --------------------------------------------------------------------------- #
# The trajectory, set by commissioners
# --------------------------------------------------------------------------- #


def test_without_set_targets_the_report_uses_appendix_2(db):
    from decimal import Decimal

    from portal.reports.trajectory import stored, target

    assert stored() == {}
    assert target(date(2011, 3, 1), stored()) == Decimal("70.00")
    assert target(date(2026, 11, 1), stored()) == Decimal("90.00")


def test_a_commissioner_sets_monthly_targets_and_the_report_uses_them(db, login):
    from portal.models import AuditEvent, TrajectoryTarget

    commissioner = make_user(Role.COMMISSIONER)
    db.session.commit()
    client = login(commissioner)
    page = client.get("/reports").get_data(as_text=True)
    assert "Trajectory: Appendix 2 of the specification." in page
    for month, percent in (("2026-06", "40"), ("2026-10", "55.5")):
        response = client.post("/reports/trajectory", data={"month": month, "percent": percent})
        assert response.status_code == 302
    page = client.get("/reports?month=2026-11").get_data(as_text=True)
    assert "Trajectory: the targets set by commissioners." in page
    assert "55.50%" in page  # October's target holds in November
    page = client.get("/reports?month=2026-05").get_data(as_text=True)
    assert "No target set for this month" in page
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("report.trajectory_set") == 2
    client.post("/reports/trajectory/remove", data={"month": "2026-06"})
    assert [t.month for t in db.session.scalars(select(TrajectoryTarget))] == [date(2026, 10, 1)]


def test_bad_targets_are_refused_with_a_message(db, login):
    client = login(make_user(Role.COMMISSIONER))
    for data, message in (
        ({"month": "2026-13", "percent": "50"}, "Enter the month as a year and month"),
        ({"month": "2026-01", "percent": "101"}, "Enter the target as a percentage from 0 to 100"),
        ({"month": "2026-01", "percent": "lots"}, "Enter the target as a percentage from 0 to 100"),
    ):
        page = client.post("/reports/trajectory", data=data).get_data(as_text=True)
        assert message in page
    assert client.post("/reports/trajectory/remove", data={"month": "x"}).status_code == 302


def test_uptake_divides_by_the_register_and_the_csv_carries_the_register_figures(db, login):
    """People in the portal but not (or no longer) on a register count in neither part."""
    from tests.compliance_factories import DAY as PLAN_DAY
    from tests.compliance_factories import make_compliant_plan

    org, since = make_org("Riverside Surgery"), date(2005, 1, 1)
    for n in range(30):
        patient = make_compliant_plan(org, PLAN_DAY).patient
        left = PLAN_DAY - timedelta(days=5) if n >= 20 else None  # 10 left the register
        db.session.add(RegisterEntry(patient_id=patient.id, registered_on=since, left_on=left))
    on_register(db, org, 20, registered=since)  # on the register, no plan yet
    make_compliant_plan(org, PLAN_DAY)  # a plan in the portal, on no register
    db.session.commit()
    (total, _row) = register_figures(PLAN_DAY)
    assert (total.on_register, total.compliant, total.uptake) == (40, 20, 50.0)

    client = login(make_user(Role.COMMISSIONER))
    month = PLAN_DAY.strftime("%Y-%m")
    page = client.get(f"/reports?month={month}").get_data(as_text=True)
    assert "counts those on the practices" in page
    assert "50.0%" in page
    csv = client.get(f"/reports.csv?month={month}").get_data(as_text=True)
    assert ",register,,All,on_register,40\r\n" in csv
    assert ",register,,All,uptake,50.0\r\n" in csv
    assert f",register,{org.id},{org.id},compliant,20\r\n" in csv


def test_before_any_register_the_report_says_what_it_counts(db, login):
    page = login(make_user(Role.COMMISSIONER)).get("/reports").get_data(as_text=True)
    assert "No register has been imported yet: every figure" in page


def _register_population(db):
    """On one practice's register since 2005: 20 people with a plan meeting the requirements
    and 20 with no activity in the portal at all; 10 with such a plan who left the register
    in 2006, and 5 with such a plan who are in the portal but on no register. Another
    practice with no register has 10 people with such a plan."""
    from tests.compliance_factories import DAY as PLAN_DAY
    from tests.compliance_factories import add_conditions, make_compliant_plan

    org, no_register, since = (
        make_org("Riverside Surgery"),
        make_org("Hill Surgery"),
        date(2005, 1, 1),
    )
    for n in range(30):
        patient = make_compliant_plan(org, PLAN_DAY).patient
        left = date(2006, 1, 1) if n >= 20 else None
        db.session.add(RegisterEntry(patient_id=patient.id, registered_on=since, left_on=left))
    for person in on_register(db, org, 20, registered=since):
        add_conditions(person)
    for _ in range(5):
        make_compliant_plan(org, PLAN_DAY)
    for _ in range(10):
        make_compliant_plan(no_register, PLAN_DAY)
    db.session.commit()
    return org, no_register, PLAN_DAY


def _rows(report, key):
    (breakdown,) = [b for b in report.breakdowns if b.key == key]
    return {row.key: (row.people, row.compliant) for row in breakdown.rows}


@pytest.mark.usefixtures("english")
def test_every_figure_of_the_report_divides_by_the_register(db):
    """The monthly series and every breakdown count the register's people (someone with no
    portal activity included, leavers and people on no register left out), like the total."""
    from portal.reports.services import monthly_report

    org, no_register, day = _register_population(db)
    month, today = day.replace(day=1), day + timedelta(days=15)
    report = monthly_report(month, org.id, today=today)
    assert report.denominator == "register"
    assert (report.people, report.compliant, report.percent) == (40, 20, 50.0)
    series = {point.month.strftime("%Y-%m"): point for point in report.series}
    assert (series["2011-03"].people, series["2011-03"].compliant) == (40, 20)
    # before anyone was recorded in the portal, the register was already there
    assert (series["2010-12"].people, series["2010-12"].compliant) == (40, 0)
    assert _rows(report, "sex") == {"female": (40, 20)}
    assert _rows(report, "condition") == {"73211009": (40, 20)}
    assert sum(people for people, _ in _rows(report, "age_band").values()) == 40

    # all organisations: the practice without a register still counts its portal patients
    everyone = monthly_report(month, today=today)
    assert everyone.denominator == "mixed"
    assert _rows(everyone, "organisation") == {str(org.id): (40, 20), str(no_register.id): (10, 10)}
    assert (everyone.people, everyone.series[-1].people) == (50, 50)
    assert monthly_report(month, no_register.id, today=today).denominator == "portal"


@pytest.mark.usefixtures("english")
def test_a_summarised_month_keeps_the_register_denominator(db):
    from portal.reports.services import monthly_report
    from portal.reports.summary import summarise

    org, _other, day = _register_population(db)
    month, today = day.replace(day=1), day + timedelta(days=15)
    live = monthly_report(month, org.id, today=today)
    summarise(month, today=today)
    stored = monthly_report(month, org.id, today=today)
    assert stored.calculated_at is not None
    assert (stored.denominator, stored.people, stored.compliant) == ("register", 40, 20)
    assert _rows(stored, "sex") == _rows(live, "sex")
    later = monthly_report(date(2011, 4, 1), org.id, today=today)
    assert (later.series[-2].people, later.series[-2].compliant) == (40, 20)


def test_the_page_csv_and_command_say_what_the_figures_count(db, login, app):
    org, _other, day = _register_population(db)
    month = day.strftime("%Y-%m")
    client = login(make_user(Role.COMMISSIONER))
    page = client.get(f"/reports?month={month}&organisation={org.id}").get_data(as_text=True)
    assert "people who have left a register are not counted" in page
    assert "50.0%" in page
    page = client.get(f"/reports?month={month}").get_data(as_text=True)
    assert "organisations that have not imported a register yet are counted" in page
    csv = client.get(f"/reports.csv?month={month}").get_data(as_text=True)
    assert ",summary,,All,denominator,mixed\r\n" in csv
    result = app.test_cli_runner().invoke(args=["report", "--month", month])
    assert "organisations that have not imported a register yet" in result.output
