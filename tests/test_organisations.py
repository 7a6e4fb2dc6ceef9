"""Care across organisations: the care team beyond the practice, staff leaving, and urgent
care's emergency access, as each person would see them."""

from datetime import date

from sqlalchemy import select

from portal.models import AuditEvent, CareTeamMembership, CrisisStep, Notification, Patient
from portal.nhs_number import synthetic
from portal.organisations import services
from tests.conftest import sign_in
from tests.factories import make_membership, make_user
from tests.support import other_app


def _events(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def _plan(request_as, user, cast):
    return request_as(user, "GET", f"/patients/{cast.a.id}/plan").status_code


def test_the_practice_proposes_and_the_patient_agrees_then_ends(db, org_cast, request_as):
    cast = org_cast
    matron = cast.users["member_proposed"]
    page = request_as(cast.users["professional"], "GET", f"/patients/{cast.a.id}/care-team/access")
    assert "Riverside Community Health" in page.get_data(as_text=True)
    response = request_as(
        cast.users["professional"],
        "POST",
        f"/patients/{cast.a.id}/care-team/access",
        data={"organisation": cast.hospice.id, "professional": "", "scope": "crisis"},
    )
    assert response.status_code == 302
    proposed = db.session.scalars(
        select(CareTeamMembership).where(
            CareTeamMembership.organisation_id == cast.hospice.id,
            CareTeamMembership.status == "proposed",
        )
    ).one()
    assert proposed.scope == "crisis" and proposed.professional_id is None
    [event] = _events(db, "care_team.propose")
    assert event.organisation_id == cast.hospice.id

    # The patient sees every team and person, agrees to the matron, then ends it.
    membership = db.session.scalars(
        select(CareTeamMembership).where(CareTeamMembership.professional_id == matron.id)
    ).one()
    sharing = request_as(cast.a.user, "GET", f"/patients/{cast.a.id}/sharing").get_data(True)
    assert "Waiting for your agreement" in sharing and "St Anne&#39;s Hospice" in sharing
    assert _plan(request_as, matron, cast) == 404
    base = f"/patients/{cast.a.id}/sharing/teams/{membership.id}"
    assert request_as(cast.a.user, "POST", f"{base}/agree").status_code == 302
    assert _plan(request_as, matron, cast) == 200
    assert request_as(cast.a.user, "POST", f"{base}/end").status_code == 302
    assert _plan(request_as, matron, cast) == 404  # on the very next request
    db.session.refresh(membership)
    assert membership.status == "ended" and membership.ended_by_id == cast.a.user_id
    # Ended memberships stay in the history, and both steps name the organisation.
    assert "Access stopped" in request_as(
        cast.a.user, "GET", f"/patients/{cast.a.id}/sharing"
    ).get_data(True)
    for action in ("care_team.agree", "care_team.end"):
        assert [e.organisation_id for e in _events(db, action)] == [cast.community.id]


def test_spoken_consent_recorded_by_the_practice_opens_access_at_once(db, org_cast, request_as):
    cast = org_cast
    nurse = make_user(organisation=cast.hospice, role="professional")
    db.session.commit()
    response = request_as(
        cast.users["professional"],
        "POST",
        f"/patients/{cast.a.id}/care-team/access",
        data={
            "organisation": cast.hospice.id,
            "professional": nurse.id,
            "scope": "view",
            "spoken_consent": "y",
            "end_date-day": "1",
            "end_date-month": "1",
            "end_date-year": str(date.today().year + 1),
        },
    )
    assert response.status_code == 302
    membership = db.session.scalars(
        select(CareTeamMembership).where(CareTeamMembership.professional_id == nurse.id)
    ).one()
    assert (membership.status, membership.consent_method) == ("active", "in_person")
    assert _plan(request_as, nurse, cast) == 200


def test_a_professional_of_another_organisation_or_a_forged_id_is_refused(
    db, org_cast, request_as
):
    cast = org_cast
    outsider = cast.users["member_crisis"]  # works for the community trust, not the hospice
    response = request_as(
        cast.users["professional"],
        "POST",
        f"/patients/{cast.a.id}/care-team/access",
        data={"organisation": cast.hospice.id, "professional": outsider.id, "scope": "view"},
    )
    assert "Choose someone who works for the organisation" in response.get_data(True)
    others = make_membership(cast.b, cast.community, scope="view")
    db.session.commit()
    forged = f"/patients/{cast.a.id}/sharing/teams/{others.id}/end"
    assert request_as(cast.a.user, "POST", forged).status_code == 404
    assert db.session.get(CareTeamMembership, others.id).status == "active"


def test_a_member_sees_the_patient_in_their_worklist_until_access_ends(db, org_cast, request_as):
    cast = org_cast
    matron = cast.users["member_view"]
    page = request_as(matron, "GET", "/worklist").get_data(True)
    assert f'href="/patients/{cast.a.id}/plan">Alice Able' in page
    assert "Baker" not in page and "Start a care plan" not in page
    crisis_only = request_as(cast.users["member_crisis"], "GET", "/worklist").get_data(True)
    assert f'href="/patients/{cast.a.id}/crisis">Alice Able' in crisis_only
    services.remove_organisation(cast.a.id, cast.community.id, cast.users["professional"])
    assert "Able" not in request_as(matron, "GET", "/worklist").get_data(True)
    assert _plan(request_as, cast.users["member_contribute"], cast) == 404


def test_leaving_an_organisation_loses_its_patients_at_once(db, org_cast, request_as):
    cast = org_cast
    hospice_nurse = cast.users["member_team"]
    assert _plan(request_as, hospice_nurse, cast) == 200
    assert services.leave(hospice_nurse, cast.hospice)
    assert _plan(request_as, hospice_nurse, cast) == 404
    # A second organisation joined later, then left: the same.
    services.join(hospice_nurse, cast.community)
    make_membership(cast.a, cast.community, None, "crisis")
    db.session.commit()
    assert request_as(hospice_nurse, "GET", f"/patients/{cast.a.id}/crisis").status_code == 200
    services.leave(hospice_nurse, cast.community)
    assert request_as(hospice_nurse, "GET", f"/patients/{cast.a.id}/crisis").status_code == 404
    assert {e.organisation_id for e in _events(db, "staff.leave")} == {
        cast.hospice.id,
        cast.community.id,
    }


def test_the_activity_page_names_the_organisation(db, org_cast, request_as):
    cast = org_cast
    request_as(cast.users["member_view"], "GET", f"/patients/{cast.a.id}/plan")
    [event] = _events(db, "plan.view")
    assert event.organisation_id == cast.community.id
    page = request_as(cast.a.user, "GET", f"/patients/{cast.a.id}/activity").get_data(True)
    assert "Riverside Community Health" in page


# --------------------------------------------------------------------------- #
# Emergency access
# --------------------------------------------------------------------------- #


def _search(client, nhs_number, born: date):
    data = {
        "nhs_number": nhs_number,
        "date_of_birth-day": str(born.day),
        "date_of_birth-month": str(born.month),
        "date_of_birth-year": str(born.year),
    }
    return client.post("/urgent-care", data=data)


def test_search_reveals_nothing_unless_nhs_number_and_birth_date_both_match(
    db, org_cast, client, login
):
    cast = org_cast
    crew = cast.users["urgent_before_reason"]
    login(crew)
    wrong_date = _search(client, cast.a.nhs_number, date(1960, 2, 2))
    other_number = _search(client, synthetic(99_999), cast.a.date_of_birth)
    for response in (wrong_date, other_number):
        page = response.get_data(True)
        assert "No care plan matches" in page
        assert "Alice" not in page and "Bob" not in page
    assert client.post("/urgent-care/open", data={"reason": "called_to_attend"}).status_code == 302
    assert client.get(f"/patients/{cast.a.id}/crisis").status_code == 404
    searches = _events(db, "emergency.search")
    assert [(e.patient_id, e.organisation_id) for e in searches] == [(None, cast.ambulance.id)] * 2


def test_the_crisis_plan_opens_after_a_reason_and_the_named_contact_is_told(
    db, org_cast, client, login
):
    cast = org_cast
    crew = cast.users["urgent_before_reason"]
    login(crew)
    found = _search(client, cast.a.nhs_number, cast.a.date_of_birth).get_data(True)
    assert "Alice Able" in found and "Open the crisis plan" in found
    [search] = _events(db, "emergency.search")
    assert search.patient_id == cast.a.id  # on her activity page
    assert client.get(f"/patients/{cast.a.id}/crisis").status_code == 404  # no reason yet
    missing = client.post("/urgent-care/open", data={"reason": "other"})
    assert "Say why you need to see the crisis plan" in missing.get_data(True)
    opened = client.post(
        "/urgent-care/open", data={"reason": "other", "reason_text": "Found on the floor"}
    )
    assert opened.headers["Location"].endswith(f"/patients/{cast.a.id}/crisis")
    assert client.get(f"/patients/{cast.a.id}/crisis").status_code == 200
    assert client.get(f"/patients/{cast.a.id}/plan").status_code == 404  # crisis summary only
    [event] = _events(db, "emergency.open")
    assert (event.actor_id, event.organisation_id) == (crew.id, cast.ambulance.id)
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "emergency_access")
    ).all()
    assert [n.user_id for n in told] == [cast.users["professional"].id]  # the named contact
    login(cast.a.user)
    page = client.get(f"/patients/{cast.a.id}/activity").get_data(True)
    assert "Opened your crisis plan in an emergency" in page
    assert "Northern Ambulance Service" in page


def test_after_opting_out_urgent_care_sees_only_that_a_plan_exists_and_whom_to_ring(
    db, org_cast, client, login
):
    cast = org_cast
    cast.org.phone = "01632 960000"
    db.session.commit()
    login(cast.a.user)
    client.post(f"/patients/{cast.a.id}/sharing/emergency", data={"allow": "no"})
    assert db.session.get(Patient, cast.a.id).emergency_access is False
    assert _events(db, "emergency.refuse")
    crew = cast.users["urgent_before_reason"]
    login(crew)
    page = _search(client, cast.a.nhs_number, cast.a.date_of_birth).get_data(True)
    assert "chosen not to let urgent care open their plan" in page
    assert "01632 960000" in page and "Open the crisis plan" not in page
    assert client.post("/urgent-care/open", data={"reason": "called_to_attend"}).status_code == 302
    assert client.get(f"/patients/{cast.a.id}/crisis").status_code == 404
    login(cast.users["carer_view"])
    crisis = client.get(f"/patients/{cast.a.id}/crisis").get_data(True)
    assert "has chosen not to share it with them" in crisis  # the plan says so


def test_searches_are_limited_per_clinician(app, db, org_cast):
    cast = org_cast
    crew = cast.users["urgent_before_reason"]
    config = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "EMERGENCY_SEARCH_LIMITS": "3 per minute",
    }

    with other_app(app, config) as limited:
        client = limited.test_client()
        sign_in(client, crew)
        answers = [
            _search(client, cast.b.nhs_number, date(1970, 1, n + 1)).status_code
            for n in range(4)
        ]
    assert answers == [200, 200, 200, 429]


def test_a_members_crisis_change_is_a_proposal_the_named_contact_hears_of(
    db, org_cast, request_as
):
    """Unlike the practice's own change, a member's waits for review and is told at once."""
    cast = org_cast
    response = request_as(
        cast.users["member_contribute"],
        "POST",
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"level": "red", "signs": "Confused", "actions": "Ring 999", "who_to_call": ""},
    )
    assert response.status_code == 302
    step = db.session.scalars(select(CrisisStep).where(CrisisStep.signs == "Confused")).one()
    assert step.pending_review
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "crisis_changed")
    ).all()
    assert cast.users["professional"].id in told
    [event] = _events(db, "crisis_step.create")
    assert event.organisation_id == cast.community.id


def test_the_copy_of_everything_held_lists_memberships_and_emergency_access(
    db, org_cast, request_as
):
    cast = org_cast
    page = request_as(cast.a.user, "GET", f"/patients/{cast.a.id}/my-data").get_data(True)
    assert "Teams and professionals in other organisations" in page
    assert "Riverside Community Health" in page and "St Anne&#39;s Hospice" in page
    assert "Northern Ambulance Service" in page and "I am attending this person now" in page


def test_an_administrator_adds_and_ends_a_second_organisation(db, org_cast, request_as):
    """Staff belong to one or more organisations; leaving one closes its patients at once."""
    cast = org_cast
    admin, matron = cast.users["admin"], cast.users["member_view"]
    base = f"/admin/accounts/{matron.id}/organisations"
    request_as(admin, "POST", base, data={"ods_code": cast.hospice.ods_code.lower()})
    page = request_as(admin, "GET", f"/admin/accounts/{matron.id}").get_data(True)
    assert "St Anne&#39;s Hospice" in page and "Riverside Community Health" in page
    assert _plan(request_as, matron, cast) == 200  # community membership, and the hospice team's
    request_as(admin, "POST", f"{base}/{cast.community.id}/leave")
    assert _plan(request_as, matron, cast) == 200  # still through the hospice team
    request_as(admin, "POST", f"{base}/{cast.hospice.id}/leave")
    assert _plan(request_as, matron, cast) == 404
    assert [e.actor_id for e in _events(db, "staff.leave")] == [admin.id, admin.id]
    refused = request_as(admin, "POST", base, data={"ods_code": "<b>"}, follow_redirects=True)
    assert "No organisation has this ODS code." in refused.get_data(True)
