"""The plan and crisis pages load from statements built once at import (``portal.loading``)."""

import pytest

from portal.models import CareTeamMember, Contact, CrisisStep, Goal, NeedsSection, Role, Wish
from tests.factories import make_org, make_patient, make_plan, make_user


def _grow(db, plan, n: int) -> None:
    """Many items in every collection the plan and crisis pages show."""
    for i in range(n):
        db.session.add(Goal(plan_id=plan.id, title=f"Extra goal {i}", status="proposed"))
        db.session.add(CrisisStep(plan_id=plan.id, level="amber", signs=f"Sign {i}", actions="a"))
        db.session.add(Contact(plan_id=plan.id, kind="other", name=f"Contact {i}", phone="111"))
        db.session.add(CareTeamMember(plan_id=plan.id, name=f"Member {i}", role="Nurse"))
    for domain in ("family", "home", "social"):
        db.session.add(NeedsSection(plan_id=plan.id, domain=domain, text=f"About {domain}"))
    db.session.add(Wish(plan_id=plan.id, kind="things_to_avoid", text="Loud rooms"))
    db.session.commit()


def test_each_patient_sees_their_own_plan_from_the_shared_statement(db, login):
    org = make_org()
    first, second = make_patient(org), make_patient(org)
    make_plan(first, goals=1)
    plan = make_plan(second, goals=1)
    db.session.add(Goal(plan_id=plan.id, title="Only on the second plan", status="proposed"))
    db.session.add(CrisisStep(plan_id=plan.id, level="amber", signs="Second's sign", actions="a"))
    db.session.commit()
    for patient, shown in ((first, False), (second, True), (first, False)):
        client = login(patient.user)
        plan_page = client.get(f"/patients/{patient.id}/plan").text
        crisis_page = client.get(f"/patients/{patient.id}/crisis").text
        assert ("Only on the second plan" in plan_page) is shown
        assert ("Second&#39;s sign" in crisis_page) is shown


@pytest.mark.parametrize(
    ("page", "shown", "most"),
    [
        # The plan page: 14, one for the number of conversations about each goal, one for the
        # summary's results for the next review and one for the agreed wording shown beside
        # waiting suggestions.
        ("plan", ("Extra goal 11", "About family", "Loud rooms"), 17),
        # The crisis page reads the agreed snapshot too, to hold unreviewed changes apart.
        ("crisis", ("Sign 11", "Contact 11", "Walks with a stick"), 7),
    ],
)
def test_page_shows_every_item_in_a_fixed_number_of_queries(
    db, login, count_queries, page, shown, most
):
    org = make_org()
    small, big = make_patient(org), make_patient(org)
    plans = [
        make_plan(patient, goals=1, named_contact=make_user(Role.PROFESSIONAL, org))
        for patient in (small, big)
    ]
    _grow(db, plans[1], 12)
    counts = []
    for patient in (small, big):
        client = login(patient.user)
        with count_queries() as counter:
            body = client.get(f"/patients/{patient.id}/{page}").text
        counts.append(counter.count)
    assert all(text in body for text in shown)
    assert counts[0] == counts[1]
    assert counts[1] <= most, counter.statements
