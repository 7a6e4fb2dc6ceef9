"""The registers in the commissioner's report: the denominator and the offers, suppressed."""

from datetime import date, timedelta

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
    assert "counted against the people on the practices" in page
    assert "50.0%" in page
    csv = client.get(f"/reports.csv?month={month}").get_data(as_text=True)
    assert ",register,,All,on_register,40\r\n" in csv
    assert ",register,,All,uptake,50.0\r\n" in csv
    assert f",register,{org.id},{org.id},compliant,20\r\n" in csv


def test_before_any_register_the_report_says_what_it_counts(db, login):
    page = login(make_user(Role.COMMISSIONER)).get("/reports").get_data(as_text=True)
    assert "No register has been imported yet" in page
