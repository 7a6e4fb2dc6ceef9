"""Each kind of notification: what triggers it, who gets it and who does not; the schedule."""

import importlib
from datetime import date, datetime, timedelta

from sqlalchemy import select

from portal import audit, jobs
from portal.meetings import services as meetings
from portal.models import (
    AccessGrant,
    Notification,
    NotificationKind,
    NotificationStatus,
    PasswordResetToken,
    Role,
)
from portal.models.base import utcnow
from portal.notifications import schedule
from portal.sharing import services as sharing
from tests.factories import (
    make_grant,
    make_invitation,
    make_org,
    make_patient,
    make_plan,
    make_user,
)
from tests.notify_support import smtp  # noqa: F401 - fixture

K = NotificationKind


def told(db, kind) -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.user_id).where(Notification.kind == kind).order_by(Notification.id)
        )
    )


def test_booking_then_moving_a_meeting_tells_the_patient(db, cast):
    nurse, when = cast.users["professional"], datetime(2027, 3, 1, 10, 0)
    meetings.schedule_meeting(cast.plan_a, nurse, when, "Surgery")
    assert told(db, K.MEETING_BOOKED) == [cast.users["owner"].id]
    meetings.schedule_meeting(cast.plan_a, nurse, when + timedelta(days=1), "Surgery")
    assert told(db, K.MEETING_MOVED) == [cast.users["owner"].id]
    assert told(db, K.MEETING_BOOKED) == [cast.users["owner"].id]  # not booked twice


def test_a_named_contact_request_tells_the_named_contact(db, cast):
    meetings.request_named_contact(
        cast.plan_a, "I would like a nurse who speaks Urdu", cast.plan_a.version
    )
    assert told(db, K.NAMED_CONTACT_REQUEST) == [cast.users["professional"].id]
    row = db.session.scalar(select(Notification))
    assert "Urdu" not in str(row.params)  # the reason stays in the portal


def test_a_named_contact_request_without_a_named_contact_tells_nobody(db, cast):
    meetings.request_named_contact(cast.plan_b, "Please give me one", cast.plan_b.version)
    assert told(db, K.NAMED_CONTACT_REQUEST) == []


def test_an_agreed_plan_version_tells_the_patient_once(db, cast):
    for _ in range(2):  # the same version recorded twice (a repeated event) is one message
        audit.record("plan_version.create", cast.a.id, "version 2", cast.users["professional"].id)
        db.session.commit()
    assert told(db, K.PLAN_AGREED) == [cast.users["owner"].id]


def test_an_accepted_invitation_tells_the_patient(db):
    patient = make_patient(make_org())
    make_plan(patient)
    grant, _ = make_invitation(patient, email="son@example.org")
    carer = make_user(Role.CARER, email="son@example.org")
    assert sharing.accept(grant, carer)
    assert told(db, K.INVITATION_ACCEPTED) == [patient.user_id]
    row = db.session.scalar(select(Notification))
    assert row.params["link"] == ["sharing.manage", {"patient_id": patient.id}]


def test_changing_and_ending_access_tells_that_carer_only(db, cast):
    grant = db.session.scalar(
        select(AccessGrant).where(AccessGrant.grantee_id == cast.users["carer_view"].id)
    )
    assert sharing.change(grant, "crisis", None)
    assert told(db, K.ACCESS_CHANGED) == [cast.users["carer_view"].id]
    sharing.revoke(grant)
    assert told(db, K.ACCESS_ENDED) == [cast.users["carer_view"].id]
    sharing.revoke(grant)  # already ended: nothing more
    assert told(db, K.ACCESS_ENDED) == [cast.users["carer_view"].id]
    assert cast.users["owner"].id not in told(db, K.ACCESS_ENDED)


def test_cancelling_an_invitation_nobody_accepted_tells_nobody(db):
    patient = make_patient(make_org())
    grant, _ = make_invitation(patient)
    sharing.revoke(grant)
    assert told(db, K.ACCESS_ENDED) == []


def test_a_revoked_carer_hears_nothing_more(db, cast, login):
    revoked = cast.users["carer_revoked"].id
    meetings.request_named_contact(cast.plan_a, "x", cast.plan_a.version)
    client = login(cast.users["owner"])
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"level": "red", "signs": "s", "actions": "a", "who_to_call": ""},
    )
    assert revoked not in set(db.session.scalars(select(Notification.user_id)))


def test_the_patients_language_is_used_when_their_account_has_none(db):
    patient = make_patient(make_org(), preferred_language="ur")
    make_plan(patient)
    audit.record("plan_version.create", patient.id, "version 1")
    db.session.commit()
    assert db.session.scalar(select(Notification.locale)) == "ur"


# --- review reminders and the schedule ----------------------------------------------------


def plan_due_in(days: int, **patient):
    p = make_patient(make_org(), **patient)
    plan = make_plan(p)
    plan.next_review_date = date(2027, 1, 1) + timedelta(days=days)
    return p, plan


def test_review_reminders_8_and_2_weeks_before_each_once(db):
    today = date(2027, 1, 1)
    eight, _ = plan_due_in(56)
    two, _ = plan_due_in(14)
    between, _ = plan_due_in(30)
    far, _ = plan_due_in(57)
    past, _ = plan_due_in(-1)
    no_account, _ = plan_due_in(56)
    no_account.user_id = None
    db.session.commit()

    assert schedule.review_reminders(today) == 3
    reminders = {n.patient_id: n for n in db.session.scalars(select(Notification))}
    assert set(reminders) == {eight.id, two.id, between.id}
    assert reminders[eight.id].params["weeks"] == 8
    assert reminders[two.id].params["weeks"] == 2
    assert reminders[between.id].params["weeks"] == 4  # told how long is really left
    assert reminders[two.id].params["link"] == ["preparation.preparation", {"patient_id": two.id}]

    assert schedule.review_reminders(today) == 0  # a second run the same day queues nothing
    assert schedule.review_reminders(today + timedelta(days=1)) == 1  # far: 8 weeks away now
    assert schedule.review_reminders(today + timedelta(days=42)) == 1  # eight's 2-week stage
    jobs.run_due()
    statuses = set(db.session.scalars(select(Notification.status)))
    assert statuses == {NotificationStatus.SENT}


def test_a_person_who_left_the_register_is_not_reminded(db):
    from portal.models import RegisterEntry

    stayed, _ = plan_due_in(56)
    left, _ = plan_due_in(56)
    for patient, left_on in ((stayed, None), (left, date(2026, 12, 1))):
        db.session.add(
            RegisterEntry(patient_id=patient.id, registered_on=date(2001, 1, 1), left_on=left_on)
        )
    db.session.commit()
    assert schedule.review_reminders(date(2027, 1, 1)) == 1
    assert db.session.scalars(select(Notification.patient_id)).all() == [stayed.id]


def test_a_moved_review_date_is_reminded_again(db):
    _, plan = plan_due_in(56)
    db.session.commit()
    assert schedule.review_reminders(date(2027, 1, 1)) == 1
    plan.next_review_date -= timedelta(days=7)  # brought forward: a new date to get ready for
    db.session.commit()
    assert schedule.review_reminders(date(2027, 1, 1)) == 1


# --- the care team's morning: changes waiting, new patients near day 28 -----------------------


def test_the_named_contact_gets_one_morning_digest_of_changes_waiting(db, cast, smtp):  # noqa: F811
    nurse, today = cast.users["professional"], date.today()
    other_nurse = make_user(Role.PROFESSIONAL, cast.org)  # named contact of nobody
    for patient in (cast.a, cast.b, cast.no_consent):
        patient.initial_assessment_date = today - timedelta(days=400)  # not new patients
    db.session.commit()  # the crisis steps the cast's plans start with wait for review
    assert schedule.care_team_digest(today) == 1
    assert schedule.care_team_digest(today) == 0  # once a day
    jobs.run_due()
    [mail] = smtp.messages
    body = mail.get_content()
    assert mail["To"] == nurse.email and other_nurse.email not in {m["To"] for m in smtp.messages}
    assert "1 patient you are the named contact for has changes" in body
    assert "/worklist?" in body and "filter=proposals" in body
    assert cast.a.family_name not in body and "Lips blue" not in body
    assert mail["List-Unsubscribe"]  # a digest can be turned off


def test_the_care_team_is_told_once_when_a_new_patient_nears_day_28_with_no_plan(db):
    today = date(2027, 3, 1)
    org = make_org()
    nurses = [make_user(Role.PROFESSIONAL, org) for _ in range(2)]
    make_user(Role.PROFESSIONAL, make_org())  # another practice: not told
    due = make_patient(org, initial_assessment_date=today - timedelta(days=22))
    make_patient(org, initial_assessment_date=today - timedelta(days=10))  # weeks to go
    agreed = make_patient(org, initial_assessment_date=today - timedelta(days=22))
    make_plan(agreed).agreed_version = 1
    db.session.commit()
    assert schedule.care_team_digest(today) == 2
    told = db.session.scalars(select(Notification)).all()
    assert {n.user_id for n in told} == {nurse.id for nurse in nurses}
    assert {n.patient_id for n in told} == {due.id} and told[0].params["days"] == 6
    assert schedule.care_team_digest(today + timedelta(days=1)) == 0  # told once


def test_the_beat_schedule_runs_the_registered_jobs():
    for module in jobs.JOB_MODULES:  # as the worker does when it starts
        importlib.import_module(module)
    names = {entry["task"] for entry in jobs.SCHEDULE.values()}
    assert names == {
        "notifications.dispatch_pending",
        "notifications.review_reminders",
        "reports.summarise_all_missing",
        "sharing.expire_invitations",
        "notifications.clean_up",
        "notifications.access_ended",
        "notifications.care_team_digest",
        "drafts.clean_up",
        "activation.clean_up",
        "audit.create_partitions",
    }
    assert names <= set(jobs.JOBS)
    assert jobs.SCHEDULE["dispatch-pending"]["schedule"] == 60.0
    nightly = jobs.SCHEDULE["report-summarise"]["schedule"]
    assert nightly.hour == {1} and nightly.minute == {30}  # after midnight UK time


def test_expiry_forgets_old_codes_and_old_invitation_links(db):
    patient = make_patient(make_org())
    old, _ = make_invitation(patient, email="a@example.org", days=-31)
    recent, _ = make_invitation(patient, email="b@example.org", days=-1)
    user = make_user(Role.PATIENT)
    for hours in (-48, 1):
        db.session.add(
            PasswordResetToken(
                user_id=user.id,
                token_hash=f"h{hours}",
                expires_at=utcnow() + timedelta(hours=hours),
            )
        )
    db.session.commit()
    assert schedule.expire_invitations() == 2
    db.session.expire_all()
    assert db.session.get(AccessGrant, old.id).token_hash is None
    assert db.session.get(AccessGrant, recent.id).token_hash is not None
    left = db.session.scalars(select(PasswordResetToken.token_hash)).all()
    assert left == ["h1"]


def test_the_report_job_summarises_the_months(db, english):
    from portal.models import MonthlySummary

    patient = make_patient(make_org())
    make_plan(patient)
    db.session.commit()
    schedule.summarise_all_missing()
    assert db.session.scalar(select(MonthlySummary.month)) is not None


def test_carer_grant_scope_does_not_matter_for_crisis_news(db):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    patient = make_patient(org)
    make_plan(patient, named_contact=nurse)
    crisis_only = make_user(Role.CARER)
    make_grant(patient, crisis_only, "crisis")
    audit.record("contact.edit", patient.id, "contact 1", patient.user_id)
    db.session.commit()
    assert set(told(db, K.CRISIS_CHANGED)) == {nurse.id, crisis_only.id}


def test_shared_results_tell_the_patient_once_until_the_message_has_gone(db, cast, monkeypatch):
    nurse = cast.users["professional"]
    monkeypatch.setattr(jobs, "_run_at_teardown", lambda exc: None)
    for name in ("HbA1c", "Blood pressure"):
        meetings.share_result(cast.plan_a, nurse, name, "48", None, "")
    assert told(db, K.RESULTS_SHARED) == [cast.users["owner"].id]
    row = db.session.scalar(select(Notification).where(Notification.kind == K.RESULTS_SHARED))
    assert row.params["link"] == ["meetings.results", {"patient_id": cast.a.id}]
    assert "HbA1c" not in str(row.params)
    jobs.run_due()
    meetings.share_result(cast.plan_a, nurse, "Weight", "70", None, "")
    assert told(db, K.RESULTS_SHARED) == [cast.users["owner"].id] * 2


def test_staff_are_not_told_about_a_patient_who_has_withdrawn_consent(db, cast):
    cast.a.care_team_consent = False
    db.session.commit()
    audit.record("crisis_step.edit", cast.a.id, "crisis_step 1", cast.users["owner"].id)
    meetings.request_named_contact(cast.plan_a, "x", cast.plan_a.version)
    nurse = cast.users["professional"].id
    assert nurse not in told(db, K.CRISIS_CHANGED)
    assert told(db, K.NAMED_CONTACT_REQUEST) == []
    assert cast.users["carer_view"].id in told(db, K.CRISIS_CHANGED)  # carers still are


def test_a_carer_is_told_once_when_their_access_reaches_its_end_date(db):
    today = date.today()
    patient = make_patient(make_org())
    ended = make_user(Role.CARER)
    grant = make_grant(patient, ended, "view", expires_on=today - timedelta(days=1))
    make_grant(patient, make_user(Role.CARER), "view", expires_on=today)  # still today
    make_grant(patient, make_user(Role.CARER), "view", expires_on=today - timedelta(days=30))
    db.session.commit()
    assert schedule.access_ended(today) == 1
    assert told(db, K.ACCESS_ENDED) == [ended.id]  # not one that ended a month ago
    assert schedule.access_ended(today + timedelta(days=1)) == 1  # the other one, now
    sharing.revoke(grant)  # revoking it afterwards says nothing more
    assert told(db, K.ACCESS_ENDED).count(ended.id) == 1
