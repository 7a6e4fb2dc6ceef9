"""Notifications: the outbox written with the change, delivery exactly once, the channels,
who is told what (and who is not), in their language."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import jobs, mail
from portal.models import (
    Channel,
    CrisisStep,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
    Role,
)
from portal.models.base import utcnow
from portal.notifications import channels, outbox
from portal.notifications.messages import render
from tests.factories import make_user
from tests.notify_support import notify_api, smtp  # noqa: F401 - fixtures

STEP = {
    "level": "amber",
    "signs": "Coughing up green phlegm",
    "actions": "Start the rescue pack and ring the practice",
    "who_to_call": "GP practice",
}
K = NotificationKind


def rows(db, **where) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.session.scalars(query))


def add_step(client, patient):
    response = client.post(f"/patients/{patient.id}/contingency/steps/new", data=STEP)
    assert response.status_code == 302
    return response


# --- who is told about a crisis change ---------------------------------------------------


def test_a_patients_crisis_change_tells_the_named_contact_and_current_carers_only(
    db, cast, login, smtp  # noqa: F811
):
    add_step(login(cast.users["owner"]), cast.a)

    told = {n.user_id: n for n in rows(db, kind=K.CRISIS_CHANGED)}
    users = cast.users
    expected = {
        users["professional"].id,
        users["carer_crisis"].id,
        users["carer_view"].id,
        users["carer_contribute"].id,
    }
    assert set(told) == expected  # not the revoked or expired carer, not the patient
    assert all(n.status == NotificationStatus.SENT for n in told.values())  # after the commit
    assert told[users["professional"].id].params["audience"] == "staff"
    received = {m["To"]: m for m in smtp.messages}
    assert set(received) == {users[name].email for name in (
        "professional", "carer_crisis", "carer_view", "carer_contribute"
    )}
    nurse_mail = received[users["professional"].email]
    body = nurse_mail.get_content()
    assert nurse_mail["Subject"] == "A crisis plan has been changed"
    assert f"/patients/{cast.a.id}/contingency" in body
    for health_detail in (*STEP.values(), cast.a.given_name, cast.a.family_name):
        assert health_detail not in body and health_detail not in nurse_mail["Subject"]
    assert "/account/messages/" in body  # the link to choose or stop messages


def test_a_carers_crisis_change_is_not_sent_back_to_that_carer(db, cast, login):
    add_step(login(cast.users["carer_contribute"]), cast.a)
    told = {n.user_id for n in rows(db, kind=K.CRISIS_CHANGED)}
    assert cast.users["carer_contribute"].id not in told
    assert cast.users["professional"].id in told and cast.users["carer_view"].id in told


def test_a_professionals_crisis_change_tells_nobody(db, cast):
    from portal import audit

    audit.record("crisis_step.edit", cast.a.id, "crisis_step 1", cast.users["professional"].id)
    db.session.commit()
    assert rows(db) == []
    audit.record("crisis_step.edit", cast.a.id, "crisis_step 1", cast.users["owner"].id)
    db.session.commit()
    assert len(rows(db)) == 4


def test_several_changes_before_delivery_make_one_message(db, cast, login, monkeypatch):
    monkeypatch.setattr(jobs, "run_due", lambda: 0)  # nothing delivered in between
    monkeypatch.setattr(jobs, "_run_at_teardown", lambda exc: None)
    client = login(cast.users["owner"])
    add_step(client, cast.a)
    add_step(client, cast.a)
    nurse = cast.users["professional"].id
    assert len(rows(db, kind=K.CRISIS_CHANGED, user_id=nurse)) == 1


def test_a_change_that_is_rolled_back_queues_nothing(db, cast):
    from portal import audit

    db.session.add(CrisisStep(plan_id=cast.plan_a.id, level="red", signs="x", actions="y"))
    audit.record("crisis_step.create", cast.a.id, "crisis_step 0", actor_id=cast.users["owner"].id)
    db.session.flush()
    assert len(rows(db)) == 4
    db.session.rollback()
    assert rows(db) == []
    assert jobs.run_due() == 0


def test_the_message_is_in_the_recipients_language_with_the_english_below(
    db, cast, login, smtp  # noqa: F811
):
    cast.users["professional"].preferred_locale = "cy"
    db.session.commit()
    add_step(login(cast.users["owner"]), cast.a)
    welsh = next(m for m in smtp.messages if m["To"] == cast.users["professional"].email)
    english = next(m for m in smtp.messages if m["To"] == cast.users["carer_view"].email)
    assert english["Subject"] == "A crisis plan has been changed"
    assert welsh["Subject"] != english["Subject"]
    own, below = welsh.get_content().replace("\r\n", "\n").split(mail.ENGLISH_DIVIDER)
    assert "Sign in" not in own and own.startswith("Helo,")
    assert below.startswith("Hello,") and "Sign in to My care plan" in below
    # An English reader gets the message once.
    assert mail.ENGLISH_DIVIDER.strip() not in english.get_content()


# --- delivery: retries, exactly once, nothing lost -----------------------------------------


def queued_one(db, user, kind=K.PLAN_AGREED, key="test") -> Notification:
    row = outbox.queue(db.session, user, kind, key, params={"link": ["plans.home", {}]})
    db.session.commit()
    jobs.run_due()
    return row


def test_mail_server_down_keeps_the_message_and_it_arrives_once_when_back(
    db, app, monkeypatch, smtp  # noqa: F811
):
    user = make_user(Role.PATIENT)
    smtp.refuse = "421 Service not available"
    row = queued_one(db, user)
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert row.next_attempt_at > utcnow()
    assert outbox.dispatch_pending() == 0  # not due yet: backing off

    smtp.refuse = None
    monkeypatch.setattr(outbox, "utcnow", lambda: utcnow() + timedelta(minutes=2))
    assert outbox.dispatch_pending() == 1
    assert outbox.dispatch_pending() == 0
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    assert [m["To"] for m in smtp.messages] == [user.email]
    assert smtp.messages[0]["Message-ID"] == f"<notification-{row.id}@careplan.invalid>"


def test_mail_server_unreachable_is_a_retry_not_a_loss(db, app, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", closed)
    row = queued_one(db, make_user(Role.PATIENT))
    assert row.status == NotificationStatus.PENDING and "ConnectionRefusedError" in row.last_error


def test_a_refused_address_fails_for_good_and_is_not_retried(db, smtp):  # noqa: F811
    smtp.refuse = "550 No such mailbox"
    row = queued_one(db, make_user(Role.PATIENT))
    assert row.status == NotificationStatus.FAILED and row.last_error == (
        "AddressRefused: SMTP 550"
    )
    assert outbox.dispatch_pending() == 0


def test_gives_up_after_the_last_attempt(db, monkeypatch, smtp):  # noqa: F811
    smtp.refuse = "451 Try again later"
    row = queued_one(db, make_user(Role.PATIENT))
    row.attempts = outbox.MAX_ATTEMPTS - 1
    row.next_attempt_at = None
    db.session.commit()
    outbox.dispatch_pending()
    assert row.status == NotificationStatus.FAILED and smtp.messages == []


def test_delivering_twice_sends_once(db, smtp):  # noqa: F811
    row = queued_one(db, make_user(Role.PATIENT))
    assert outbox.deliver(row.id) is None  # a repeated or duplicate job finds nothing to do
    assert len(smtp.messages) == 1


def test_a_row_claimed_by_another_worker_is_left_alone_until_its_lease_ends(
    db, monkeypatch, smtp  # noqa: F811
):
    row = outbox.queue(db.session, make_user(Role.PATIENT), K.PLAN_AGREED, "k")
    db.session.commit()
    db.session.info.pop("jobs_due", None)
    assert outbox.claim(row.id, utcnow())  # another worker took it, then died
    assert outbox.deliver(row.id) is None
    later = utcnow() + outbox.CLAIM_LEASE + timedelta(seconds=1)
    monkeypatch.setattr(outbox, "utcnow", lambda: later)
    assert outbox.dispatch_pending() == 1
    assert row.status == NotificationStatus.SENT and len(smtp.messages) == 1


def test_notifications_committed_together_go_over_one_connection(db, smtp):  # noqa: F811
    users = [make_user(Role.PATIENT) for _ in range(5)]
    for user in users:
        outbox.queue(db.session, user, K.PLAN_AGREED, "together")
    db.session.commit()
    assert jobs.run_due() == 1  # one job for the five
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)
    assert len(set(smtp.peers)) == 1


def test_one_refused_address_does_not_stop_the_rest_of_a_batch(db, smtp):  # noqa: F811
    users = [make_user(Role.PATIENT, email=f"n{n}@example.org") for n in range(3)]
    for user in users:
        outbox.queue(db.session, user, K.PLAN_AGREED, "batch")
    db.session.commit()
    smtp.refuse = "550 No such mailbox"
    ids = [n.id for n in rows(db)]
    db.session.info.pop("jobs_due", None)
    first = outbox.deliver(ids[0])
    smtp.refuse = None
    assert first == NotificationStatus.FAILED
    assert outbox.deliver_many(ids) == 2
    assert [m["To"] for m in smtp.messages] == ["n1@example.org", "n2@example.org"]


def test_the_same_event_is_never_queued_twice(db):
    user = make_user(Role.PATIENT)
    assert outbox.queue(db.session, user, K.PLAN_AGREED, "plan 1:version 2") is not None
    assert outbox.queue(db.session, user, K.PLAN_AGREED, "plan 1:version 2") is None
    db.session.commit()
    assert outbox.queue(db.session, user, K.PLAN_AGREED, "plan 1:version 2") is None
    assert len(rows(db)) == 1


def test_broker_down_loses_nothing_and_the_dispatcher_delivers(
    db, cast, app, login, monkeypatch, caplog, smtp  # noqa: F811
):
    from tests.notify_support import free_port

    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/15")
    monkeypatch.setitem(jobs.celery.conf, "broker_url", app.config["CELERY_BROKER_URL"])
    add_step(login(cast.users["owner"]), cast.a)  # the change itself goes through
    assert "not queued: the broker is unreachable" in caplog.text
    waiting = rows(db, kind=K.CRISIS_CHANGED)
    assert len(waiting) == 4 and {n.status for n in waiting} == {NotificationStatus.PENDING}
    assert smtp.messages == []

    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", None)  # broker back (here: in-process)
    assert outbox.dispatch_pending() == 4
    assert outbox.dispatch_pending() == 0
    assert len(smtp.messages) == 4
    assert {n.status for n in rows(db)} == {NotificationStatus.SENT}


def test_without_a_mail_server_development_keeps_the_email_in_the_outbox_folder(db, app):
    from pathlib import Path

    before = set(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    row = queued_one(db, make_user(Role.PATIENT))
    assert row.status == NotificationStatus.SENT
    assert len(set(Path(app.config["OUTBOX_DIR"]).glob("*.eml")) - before) == 1


def test_clean_up_removes_old_sent_messages_and_keeps_failures(db):
    user = make_user(Role.PATIENT)
    old = utcnow() - outbox.KEEP_SENT - timedelta(days=1)
    for key, status in (("a", NotificationStatus.SENT), ("b", NotificationStatus.FAILED)):
        row = outbox.queue(db.session, user, K.PLAN_AGREED, key)
        row.status, row.sent_at = status, old
    recent = outbox.queue(db.session, user, K.PLAN_AGREED, "c")
    recent.status, recent.sent_at = NotificationStatus.SENT, utcnow()
    db.session.commit()
    db.session.info.pop("jobs_due", None)
    assert outbox.clean_up() == 1
    assert [r.idempotency_key.split(":")[0] for r in rows(db)] == ["b", "c"]


# --- account security emails ----------------------------------------------------------------


def test_a_password_reset_goes_through_the_outbox_with_its_link_sealed(db, client, smtp):  # noqa: F811
    import re

    user = make_user(Role.PATIENT, preferred_locale="cy", email="reset@example.org")
    db.session.add(NotificationPreference(user_id=user.id, kind=K.PLAN_AGREED, channel="none"))
    db.session.commit()
    smtp.refuse = "421 Service not available"  # the mail server is down at first
    client.post("/forgot-password", data={"email": user.email})
    [row] = rows(db, kind=K.ACCOUNT_SECURITY)
    assert row.status == NotificationStatus.PENDING and row.params["email"] == "password_reset"
    assert "reset-password" not in str(row.params)  # no usable link in the clear

    smtp.refuse = None
    row.next_attempt_at = None
    db.session.commit()
    outbox.dispatch_pending()
    [mail] = smtp.messages
    body = mail.get_content()
    link = re.search(r"http://localhost(/reset-password/\S+)", body).group(1)
    assert mail["To"] == user.email and mail["Subject"] != "Reset your password"  # Welsh
    assert "/account/messages/" not in body  # an account email cannot be turned off
    assert row.status == NotificationStatus.SENT and "sealed" not in row.params  # spent
    assert client.get(link).status_code == 200


def test_a_security_email_rolled_back_with_its_change_is_never_sent(db, smtp):  # noqa: F811
    from portal.auth import emails, services

    user = make_user(Role.PROFESSIONAL, active=False)  # told even when just deactivated
    db.session.commit()
    services.notify(user, emails.account_deactivated)
    db.session.rollback()
    assert rows(db) == [] and jobs.run_due() == 0
    services.notify(user, emails.account_deactivated, to="old@example.org")
    db.session.commit()
    jobs.run_due()
    assert [m["To"] for m in smtp.messages] == ["old@example.org"]


def test_one_click_unsubscribe_stops_that_kind_of_email_and_nothing_else(
    db, app, cast, login, smtp  # noqa: F811
):
    owner = cast.users["owner"]
    queued_one(db, owner)
    add_step(login(cast.users["carer_contribute"]), cast.a)  # the nurse must hear of it
    mail = next(m for m in smtp.messages if m["To"] == owner.email)
    nurse_mail = next(m for m in smtp.messages if m["To"] == cast.users["professional"].email)
    assert "List-Unsubscribe" not in nurse_mail  # staff cannot turn crisis changes off
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    stop = mail["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")
    assert stop in mail.get_content()  # the same link in the text, for any mail program

    client = app.test_client()  # nobody signed in
    assert client.get(stop + "x").status_code == 404  # a forged or altered link
    page = client.get(stop)  # opening the link changes nothing yet
    assert "Your care plan has been agreed" in page.get_data(as_text=True)
    assert outbox.chosen_channel(db.session, owner, K.PLAN_AGREED) == Channel.EMAIL
    answer = client.post(stop, data={"List-Unsubscribe": "One-Click"})  # no CSRF token
    assert answer.status_code == 200
    assert outbox.chosen_channel(db.session, owner, K.PLAN_AGREED) == Channel.NONE
    assert outbox.chosen_channel(db.session, owner, K.MEETING_BOOKED) == Channel.EMAIL
    assert outbox.queue(db.session, owner, K.PLAN_AGREED, "after") is None


# --- SMS and letters through GOV.UK Notify ------------------------------------------------


def sms_user(db):
    user = make_user(Role.PATIENT, phone="07700 900111")
    db.session.add(NotificationPreference(user_id=user.id, kind=K.PLAN_AGREED, channel="sms"))
    db.session.flush()
    return user


def test_sms_goes_through_notify_with_no_health_detail(db, notify_api, monkeypatch):  # noqa: F811
    monkeypatch.setattr(outbox, "after_quiet_hours", lambda now: None)
    user = sms_user(db)
    row = queued_one(db, user)
    assert row.channel == Channel.SMS and row.status == NotificationStatus.SENT
    [(kind, body)] = notify_api.requests
    assert kind == "sms"
    assert body["phone_number"] == "07700 900111"
    assert body["template_id"] == str(__import__("uuid").UUID(int=3))
    assert body["reference"] == row.idempotency_key
    assert body["personalisation"]["body"].startswith("Your care plan has been agreed.")
    assert "http://localhost/" in body["personalisation"]["body"]


def test_notify_down_is_retried_and_a_rejected_number_is_not(db, notify_api, monkeypatch):  # noqa: F811
    monkeypatch.setattr(outbox, "after_quiet_hours", lambda now: None)
    notify_api.status = 500
    row = queued_one(db, sms_user(db))
    assert row.status == NotificationStatus.PENDING and row.last_error.endswith("Notify 500")
    notify_api.status = 400
    row.next_attempt_at = None
    db.session.commit()
    outbox.dispatch_pending()
    assert row.status == NotificationStatus.FAILED and row.last_error.endswith("Notify 400")


def test_a_wrong_api_key_is_refused_by_notify(db, app, notify_api, monkeypatch):  # noqa: F811
    monkeypatch.setattr(outbox, "after_quiet_hours", lambda now: None)
    monkeypatch.setitem(app.config, "NOTIFY_API_KEY", "x" * 37 + "-" + "0" * 36 + "-" + "9" * 36)
    row = queued_one(db, sms_user(db))
    assert row.status == NotificationStatus.FAILED and notify_api.requests == []


def test_a_letter_goes_to_notify_with_the_address_lines(db, notify_api):  # noqa: F811
    user = make_user(Role.PATIENT)
    row = Notification(
        idempotency_key="letter-1",
        kind=K.PLAN_AGREED,
        channel=Channel.LETTER,
        user_id=user.id,
        address="Margaret Hughes\n1 High Street\nLeeds\nLS1 1AA",
        locale="en",
        params={},
    )
    db.session.add(row)
    db.session.flush()
    channels.send(row)
    [(kind, body)] = notify_api.requests
    assert kind == "letter" and body["reference"] == "letter-1"
    assert body["personalisation"]["address_line_4"] == "LS1 1AA"
    assert body["personalisation"]["subject"] == "Your care plan has been agreed"


def test_sms_is_held_during_quiet_hours(db, app):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    late = datetime(2026, 12, 7, 22, 30, tzinfo=london)
    early = datetime(2026, 12, 8, 6, 0, tzinfo=london)
    day = datetime(2026, 12, 8, 12, 0, tzinfo=london)
    morning = datetime(2026, 12, 8, 8, 0, tzinfo=london)
    assert outbox.after_quiet_hours(late) == morning
    assert outbox.after_quiet_hours(early) == morning
    assert outbox.after_quiet_hours(day) is None


# --- preferences ----------------------------------------------------------------------------


def test_none_means_no_message_except_crisis_changes_to_staff(db, cast, login):
    for name in ("carer_view", "professional"):
        db.session.add(
            NotificationPreference(
                user_id=cast.users[name].id, kind=K.CRISIS_CHANGED, channel=Channel.NONE
            )
        )
    db.session.commit()
    add_step(login(cast.users["owner"]), cast.a)
    told = {n.user_id for n in rows(db)}
    assert cast.users["professional"].id in told
    assert cast.users["carer_view"].id not in told


def test_sms_without_a_phone_number_falls_back_to_email(db):
    user = make_user(Role.PATIENT)
    db.session.add(NotificationPreference(user_id=user.id, kind=K.PLAN_AGREED, channel="sms"))
    db.session.flush()
    assert outbox.chosen_channel(db.session, user, K.PLAN_AGREED) == Channel.EMAIL


def test_an_inactive_account_is_sent_nothing(db):
    user = make_user(Role.PATIENT, active=False)
    assert outbox.queue(db.session, user, K.PLAN_AGREED, "k") is None


# --- every kind renders in every language --------------------------------------------------


@pytest.mark.parametrize("kind", sorted(set(NotificationKind) - {K.ACCOUNT_SECURITY}))
def test_every_kind_has_a_subject_and_a_sign_in_link(db, app, kind):
    row = Notification(
        id=1,
        idempotency_key="k",
        kind=kind,
        channel=Channel.EMAIL,
        address="a@example.org",
        locale="ar",
        params={"weeks": 8, "audience": "carer", "link": ["plans.home", {}]},
    )
    message = render(row)
    assert message.subject and "http://localhost/" in message.body


def test_review_reminder_says_how_many_weeks(db, app):
    row = Notification(
        idempotency_key="k",
        kind=K.REVIEW_REMINDER,
        channel=Channel.SMS,
        address="07700 900111",
        locale="en",
        params={"weeks": 2, "link": ["preparation.preparation", {"patient_id": 3}]},
    )
    message = render(row)
    assert "due in 2 weeks" in message.body
    assert message.short.endswith("/patients/3/preparation")
    assert "/account/messages/" not in message.body  # no unsubscribe line in a text message


# --- the preferences page and "we could not reach this patient" --------------------------


def test_a_patient_chooses_text_messages_for_one_kind_and_none_for_another(db, login):
    user = make_user(Role.PATIENT, phone="07700 900222")
    client = login(user)
    page = client.get("/account/messages/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Your care plan review is coming up" in html and "Text message" in html
    response = client.post(
        "/account/messages/",
        data={"review_reminder": "sms", "plan_agreed": "none", "meeting_booked": "email",
              "invitation_accepted": "email"},
    )
    assert response.status_code == 302
    assert outbox.chosen_channel(db.session, user, K.REVIEW_REMINDER) == Channel.SMS
    assert outbox.queue(db.session, user, K.PLAN_AGREED, "k") is None
    assert outbox.chosen_channel(db.session, user, K.MEETING_MOVED) == Channel.EMAIL


def test_choices_a_person_cannot_make_are_refused_without_an_error(db, login):
    user = make_user(Role.PATIENT)  # no phone number: no text messages
    client = login(user)
    assert "Text message" not in client.get("/account/messages/").get_data(as_text=True)
    for data in (
        {"review_reminder": "sms"},
        {"review_reminder": "<script>", "plan_agreed": "x" * 5000},
        {"crisis_changed": "none"},
    ):
        response = client.post("/account/messages/", data=data)
        assert response.status_code in (200, 302)
    saved = db.session.scalars(select(NotificationPreference.channel)).all()
    assert "sms" not in saved and "<script>" not in saved


def test_staff_cannot_turn_off_crisis_changes(db, login):
    nurse = make_user(Role.PROFESSIONAL)
    html = login(nurse).get("/account/messages/").get_data(as_text=True)
    assert "always sent to you by email" in html
    assert 'name="crisis_changed"' not in html


def test_the_review_page_says_when_the_patient_could_not_be_reached(db, cast, login, smtp):  # noqa: F811
    nurse = login(cast.users["professional"])
    assert "We could not reach this patient" not in nurse.get(
        f"/patients/{cast.a.id}/review"
    ).get_data(as_text=True)
    smtp.refuse = "550 No such mailbox"
    outbox.queue(db.session, cast.users["owner"], K.PLAN_AGREED, "k", patient_id=cast.a.id)
    db.session.commit()
    jobs.run_due()
    html = nurse.get(f"/patients/{cast.a.id}/review").get_data(as_text=True)
    assert "We could not reach this patient" in html
    # The server's refusal is not shown (an NHS number may hold the digits 550: look for the words).
    assert "No such mailbox" not in html and cast.users["owner"].email not in html

    smtp.refuse = None
    owner = cast.users["owner"]
    later = outbox.queue(db.session, owner, K.MEETING_BOOKED, "m", patient_id=cast.a.id)
    assert later is None  # nothing more is sent to an address that refused
    owner.email = "new.address@example.org"
    outbox.queue(db.session, owner, K.MEETING_BOOKED, "m", patient_id=cast.a.id)
    db.session.commit()
    jobs.run_due()  # a message to the new address arrived: reachable again
    html = nurse.get(f"/patients/{cast.a.id}/review").get_data(as_text=True)
    assert "We could not reach this patient" not in html
    assert [m["To"] for m in smtp.messages] == ["new.address@example.org"]


def test_notify_reports_a_text_that_never_arrived_and_nothing_more_goes_to_that_number(
    db, app, client, notify_api, monkeypatch  # noqa: F811
):
    monkeypatch.setattr(outbox, "after_quiet_hours", lambda now: None)
    user = sms_user(db)
    row = queued_one(db, user)
    assert row.status == NotificationStatus.SENT
    receipt = {"id": "x", "reference": row.idempotency_key, "status": "permanent-failure"}
    receipts = "/account/messages/notify-status"
    assert client.post(receipts, json=receipt).status_code == 404  # no token configured
    monkeypatch.setitem(app.config, "NOTIFY_CALLBACK_TOKEN", "callback-secret")
    wrong = {"Authorization": "Bearer guessed"}
    assert client.post(receipts, json=receipt, headers=wrong).status_code == 404
    right = {"Authorization": "Bearer callback-secret"}
    for bad in ({}, [1], {"reference": 5}):
        assert client.post(receipts, json=bad, headers=right).status_code == 400
    answer = client.post(receipts, json=receipt, headers=right)
    assert answer.status_code == 204
    db.session.refresh(row)
    assert row.status == NotificationStatus.FAILED and row.last_error == (
        "AddressRefused: Notify permanent-failure"
    )
    assert outbox.queue(db.session, user, K.PLAN_AGREED, "again") is None


@pytest.mark.real_commits
def test_workers_racing_for_the_same_notification_send_it_once(app, db, smtp):  # noqa: F811
    """Two workers handed the same row at the same moment, each on its own connection."""
    import threading

    users = [make_user(Role.PATIENT) for _ in range(10)]
    for user in users:
        outbox.queue(db.session, user, K.PLAN_AGREED, "race")
    db.session.commit()
    db.session.info.pop("jobs_due", None)
    ids = [n.id for n in rows(db)]
    start = threading.Barrier(2)
    errors = []

    def worker():
        try:
            with app.app_context():
                start.wait()
                outbox.deliver_many(ids)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)
    assert {n.status for n in rows(db)} == {NotificationStatus.SENT}
