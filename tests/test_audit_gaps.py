"""Every view of plan content is audited, and reaches the patient in plain words."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.models import AuditEvent, CareTeamMember, ReviewMeeting
from portal.versions.services import create_version


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_four_staff_views_are_audited(db, cast, login):
    member = CareTeamMember(plan_id=cast.plan_a.id, name="Dr Anna Patel", role="GP")
    db.session.add(member)
    db.session.commit()
    nurse = login(cast.users["professional"])

    assert nurse.get(f"/patients/{cast.a.id}/meetings/schedule").status_code == 200
    assert [e.detail for e in _events(db, "review.view")] == ["booking form"]

    assert nurse.get(f"/patients/{cast.a.id}/care-team/{member.id}").status_code == 200
    assert nurse.get(f"/patients/{cast.a.id}/care-team/new").status_code == 200
    viewed = _events(db, "care_team.view")
    assert {e.patient_id for e in viewed} == {cast.a.id} and len(viewed) == 2

    assert nurse.get("/worklist").status_code == 200  # the professional's home
    listed = _events(db, "patients.list")
    assert len(listed) == 1 and listed[0].actor_id == cast.users["professional"].id

    cast.users["professional"].can_audit = True
    db.session.commit()
    assert nurse.get("/audits").status_code == 200
    assert len(_events(db, "plan_audit.list")) == 1


def test_downloads_and_comparisons_reach_the_patient_in_plain_words(db, cast, login):
    nurse = cast.users["professional"]
    for _ in range(2):
        create_version(cast.plan_a, nurse)
    db.session.add(
        ReviewMeeting(
            plan_id=cast.plan_a.id,
            status="scheduled",
            scheduled_for=datetime.now(UTC) + timedelta(days=7),
        )
    )
    db.session.commit()
    owner = login(cast.users["owner"])
    assert owner.get(f"/patients/{cast.a.id}/versions/compare?from=1&to=2").status_code == 200
    assert owner.get(f"/patients/{cast.a.id}/meetings/next.ics").status_code == 200
    assert owner.get(f"/patients/{cast.a.id}/plan.fhir.json").status_code == 200
    page = owner.get(f"/patients/{cast.a.id}/activity").get_data(as_text=True)
    assert "Compared two versions of your plan" in page
    assert "Saved your review meeting to a calendar" in page
    assert "Downloaded your plan for another health system" in page
    assert "Did something else with the plan" not in page
