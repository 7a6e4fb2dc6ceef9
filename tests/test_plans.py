from portal.models import AuditEvent, Goal, Role
from tests.factories import make_grant, make_org, make_patient, make_plan, make_user


def test_plan_page_shows_the_whole_plan(cast, login):
    client = login(cast.users["owner"])
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "My care plan" in body
    assert "Next review" in body
    headings = ("My goals", "My wishes and preferences", "Named contact", "If things get worse")
    for heading in headings:
        assert heading in body
    for domain in ("My health", "My family", "Money, work and benefits", "My home"):
        assert domain in body
    assert "Goal 1" in body and "Goal 2" in body
    assert "Nurse Named" in body
    assert "Lips blue" in body  # red crisis step summarised
    assert f"/patients/{cast.a.id}/crisis" in body


def test_plan_marks_proposals_and_who_proposed(db, cast, login):
    db.session.add(
        Goal(
            plan_id=cast.plan_a.id,
            title="Swim once a week",
            status="proposed",
            proposed_by_id=cast.users["carer_contribute"].id,
            updated_by_id=cast.users["carer_contribute"].id,
        )
    )
    db.session.commit()
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "Swim once a week" in body
    assert "Added by Carer contribute – not yet agreed" in body
    assert "Suggestion – not yet agreed" in body  # a needs section with no author recorded


def test_patient_text_carries_the_language_it_was_written_in(db, cast, login):
    db.session.add(
        Goal(plan_id=cast.plan_a.id, title="ہفتے میں تین بار سیر", status="proposed", language="ur")
    )
    db.session.add(
        Goal(plan_id=cast.plan_a.id, title="每周散步三次", status="proposed", language="zh_Hans")
    )
    db.session.commit()
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert '<span dir="auto" lang="ur">ہفتے میں تین بار سیر</span>' in body
    assert '<span dir="auto" lang="zh-Hans">每周散步三次</span>' in body


def test_hostile_text_is_shown_as_text(db, cast, login):
    db.session.add(
        Goal(plan_id=cast.plan_a.id, title="<script>alert(1)</script>", status="proposed")
    )
    db.session.commit()
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_viewing_the_plan_is_audited(db, cast, login):
    login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/plan")
    event = db.session.query(AuditEvent).filter_by(action="plan.view").one()
    assert event.patient_id == cast.a.id
    assert event.actor_id == cast.users["carer_view"].id


def test_plan_page_query_count_does_not_grow_with_goals(db, login, count_queries):
    org = make_org()
    small, big = make_patient(org), make_patient(org)
    make_plan(small, goals=1, named_contact=make_user(Role.PROFESSIONAL, org))
    make_plan(big, goals=40, named_contact=make_user(Role.PROFESSIONAL, org))
    db.session.commit()
    counts = []
    for patient in (small, big):
        client = login(patient.user)
        with count_queries() as counter:
            assert client.get(f"/patients/{patient.id}/plan").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[1] <= 17
    # Seen again unchanged: the access check, the fingerprint and the audit event only.
    with count_queries() as counter:
        assert client.get(f"/patients/{big.id}/plan").status_code == 200
    assert counter.count <= 6


def test_carer_home_has_one_tap_crisis_link(db, login):
    patient = make_patient(given_name="Margaret")
    make_plan(patient)
    carer = make_user(Role.CARER)
    make_grant(patient, carer, "crisis")
    db.session.commit()
    body = login(carer).get("/").get_data(as_text=True)
    assert f'href="/patients/{patient.id}/crisis"' in body
    assert "Crisis plan for Margaret" in body
    assert f'href="/patients/{patient.id}/plan"' not in body  # crisis scope: nothing else


def test_professional_home_is_the_worklist_of_their_own_practice(cast, login):
    client = login(cast.users["professional"])
    body = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Alice Able" in body and "Bob Baker" in body
    assert f'href="/patients/{cast.no_consent.id}/plan"' not in body  # she objected
    body = login(cast.users["professional_other_org"]).get("/", follow_redirects=True)
    assert "Alice Able" not in body.get_data(as_text=True)


def test_crisis_page_has_tap_to_call_links(cast, login):
    body = login(cast.users["carer_crisis"]).get(f"/patients/{cast.a.id}/crisis").get_data(
        as_text=True
    )
    assert 'href="tel:999"' in body
    assert 'href="tel:+447700900123"' in body  # E.164, dials from any phone
    assert "Walks with a stick" in body


def test_professional_sees_language_interpreter_and_communication_needs(db, cast, login):
    cast.a.preferred_language = "ur"
    cast.a.interpreter_needed = True
    cast.a.interpreter_language = "Urdu"
    cast.a.communication_needs = "Large print letters"
    db.session.commit()
    body = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/plan").get_data(
        as_text=True
    )
    assert "Urdu (اردو)" in body
    assert "Yes – Urdu" in body
    assert "Large print letters" in body


def test_health_endpoint_answers_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
