"""The registers in the commissioner's report: the denominator and the offers, suppressed."""

from datetime import date, timedelta

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
