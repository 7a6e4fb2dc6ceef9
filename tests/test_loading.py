"""The plan and crisis pages load from statements built once at import (``portal.loading``)."""

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


def test_plan_page_shows_every_collection_in_a_fixed_number_of_queries(db, login, count_queries):
    org = make_org()
    small, big = make_patient(org), make_patient(org)
    make_plan(small, goals=1, named_contact=make_user(Role.PROFESSIONAL, org))
    plan = make_plan(big, goals=1, named_contact=make_user(Role.PROFESSIONAL, org))
    _grow(db, plan, 12)
    counts = []
    for patient in (small, big):
        client = login(patient.user)
        with count_queries() as counter:
            body = client.get(f"/patients/{patient.id}/plan").text
        counts.append(counter.count)
    assert "Extra goal 11" in body and "About family" in body and "Loud rooms" in body
    assert counts[0] == counts[1]
    assert counts[1] <= 14, counter.statements


def test_crisis_page_shows_every_item_in_a_fixed_number_of_queries(db, login, count_queries):
    org = make_org()
    small, big = make_patient(org), make_patient(org)
    make_plan(small)
    _grow(db, make_plan(big), 12)
    counts = []
    for patient in (small, big):
        client = login(patient.user)
        with count_queries() as counter:
            body = client.get(f"/patients/{patient.id}/crisis").text
        counts.append(counter.count)
    assert "Sign 11" in body and "Contact 11" in body and "Walks with a stick" in body
    assert counts[0] == counts[1]
    assert counts[1] <= 6, counter.statements
