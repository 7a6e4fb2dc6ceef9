"""Bounces reported after the mail server accepted a message: each email's return path names
its notification by an opaque token, and the bounce receiver (a real aiosmtpd server on
loopback, as ``flask bounce-server`` runs it) records a permanent failure from a delivery
report (RFC 3464) as an SMTP 5xx at sending is recorded."""

import logging
import smtplib
from email.message import EmailMessage

import pytest

from portal import jobs
from portal.models import NotificationKind, NotificationStatus, Role
from portal.notifications import bounces, outbox
from tests.factories import make_user
from tests.notify_support import free_port, smtp  # noqa: F401 - fixtures

BOUNCES = "bounces@careplan.example.nhs.uk"


@pytest.fixture
def bounce_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BOUNCE_ADDRESS", BOUNCES)
    return BOUNCES


@pytest.fixture
def receiver(app, bounce_address, caplog):
    """The bounce server on a free loopback port; every log line kept for checking."""
    caplog.set_level(logging.DEBUG)
    server = bounces.controller(app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def dsn(recipient: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A delivery report as Postfix writes one: a human part, the delivery-status part, and
    the returned message's headers."""
    return (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
        "To: bounces@careplan.example.nhs.uk\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        '\tboundary="B1"\r\n'
        "\r\n"
        "--B1\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n"
        "Arrival-Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mail.example.org\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <someone>: Recipient address rejected\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "Subject: Your care plan\r\n"
        "Message-ID: <notification-1@careplan.invalid>\r\n"
        "\r\n"
        "--B1--\r\n"
    ).encode()


def send_to(server, recipient: str, data: bytes) -> None:
    with smtplib.SMTP(server.hostname, server.port, timeout=10) as client:
        client.sendmail("<>", [recipient], data)


def sent_email(db, smtp, bounce_address):  # noqa: F811
    user = make_user(Role.PATIENT)
    row = outbox.queue(db.session, user, NotificationKind.PLAN_AGREED, "bounce", patient_id=None)
    db.session.commit()
    jobs.run_due()
    assert row.status == NotificationStatus.SENT
    return user, row, smtp.senders[-1]


def test_each_email_has_its_own_return_path_that_names_nothing(db, smtp, bounce_address):  # noqa: F811
    user, row, sender = sent_email(db, smtp, bounce_address)
    local, _, domain = sender.partition("@")
    assert domain == "careplan.example.nhs.uk" and local.startswith("bounces+")
    token = local.removeprefix("bounces+")
    assert len(token) == 26 and token.isalnum() and token == token.lower()
    assert str(row.id) not in token and user.email.split("@")[0] not in token
    assert bounces.notification_of(sender) == row.id
    assert bounces.notification_of(sender.upper()) == row.id  # a mail server changed the case
    assert smtp.messages[-1]["From"] == "no-reply@careplan.invalid"  # the From is unchanged


def test_without_a_bounce_address_the_envelope_sender_is_the_from_address(db, smtp):  # noqa: F811
    user = make_user(Role.PATIENT)
    outbox.queue(db.session, user, NotificationKind.PLAN_AGREED, "plain")
    db.session.commit()
    jobs.run_due()
    assert smtp.senders == ["no-reply@careplan.invalid"]


def test_forged_and_altered_tokens_name_no_notification(app, bounce_address):
    with app.test_request_context():
        good = bounces.token(42)
        assert bounces.notification_id(good) == 42
        altered = ("b" if good[0] != "b" else "c") + good[1:]
        for bad in (altered, good[:-1], good + "a", "x" * 26, "", "../../etc", "é" * 26):
            assert bounces.notification_id(bad) is None
        for bad in (f"bounces+{good}@elsewhere.example", f"other+{good}@careplan.example.nhs.uk",
                    "bounces@careplan.example.nhs.uk", "no-at-sign"):
            assert bounces.notification_of(bad) is None


@pytest.mark.real_commits
def test_a_delivery_report_of_a_permanent_failure_stops_further_email(
    app, db, smtp, receiver, bounce_address, caplog  # noqa: F811
):
    user, row, sender = sent_email(db, smtp, bounce_address)
    send_to(receiver, sender, dsn(user.email))
    db.session.expire_all()
    assert row.status == NotificationStatus.FAILED
    assert row.last_error == "AddressRefused: bounced after delivery"
    # As after an SMTP 5xx: nothing more is queued for the address.
    assert outbox.queue(db.session, user, NotificationKind.MEETING_BOOKED, "later") is None
    token = sender.split("+")[1].split("@")[0]
    assert token not in caplog.text and user.email not in caplog.text
    assert "Recipient address rejected" not in caplog.text


@pytest.mark.real_commits
def test_the_review_page_says_a_patient_whose_email_bounced_could_not_be_reached(
    app, db, cast, login, smtp, receiver, bounce_address  # noqa: F811
):
    owner = cast.users["owner"]
    row = outbox.queue(db.session, owner, NotificationKind.PLAN_AGREED, "k", patient_id=cast.a.id)
    db.session.commit()
    jobs.run_due()
    send_to(receiver, smtp.senders[-1], dsn(owner.email))
    db.session.expire_all()
    assert row.status == NotificationStatus.FAILED
    html = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/review").get_data(
        as_text=True
    )
    assert "We could not reach this patient" in html


@pytest.mark.real_commits
@pytest.mark.parametrize(
    ("action", "status"), [("delayed", "4.4.7"), ("failed", "4.2.2"), ("delivered", "2.0.0")]
)
def test_a_delay_or_a_temporary_failure_is_ignored(
    app, db, smtp, receiver, bounce_address, action, status  # noqa: F811
):
    user, row, sender = sent_email(db, smtp, bounce_address)
    send_to(receiver, sender, dsn(user.email, action, status))
    db.session.expire_all()
    assert row.status == NotificationStatus.SENT


@pytest.mark.real_commits
def test_hostile_mail_to_the_bounce_address_changes_nothing(
    app, db, smtp, receiver, bounce_address, caplog  # noqa: F811
):
    user, row, sender = sent_email(db, smtp, bounce_address)
    token = sender.split("+")[1].split("@")[0]
    forged = sender.replace(token, ("b" if token[0] != "b" else "c") + token[1:])
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send_to(receiver, forged, dsn(user.email))
    assert refused.value.recipients[forged][0] == 550

    # Not a delivery report: an out-of-office reply quoting the address.
    reply = EmailMessage()
    reply["Subject"] = "Out of office"
    reply.set_content(f"Action: failed\nStatus: 5.1.1\nFinal-Recipient: rfc822; {user.email}")
    send_to(receiver, sender, bytes(reply))
    # A report about another address (a token from a message forwarded elsewhere).
    send_to(receiver, sender, dsn("someone.else@example.org"))
    # Too large: refused when announced (ESMTP SIZE), or once past the limit (plain SMTP).
    huge = dsn(user.email) + (b"x" * 76 + b"\r\n") * (bounces.MAX_BYTES // 70)
    with pytest.raises(smtplib.SMTPSenderRefused) as announced:
        send_to(receiver, sender, huge)
    assert announced.value.smtp_code == 552
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client:
        client.helo()
        with pytest.raises(smtplib.SMTPDataError) as sent:
            client.sendmail("<>", [sender], huge)
    assert sent.value.smtp_code == 552
    # Garbage that is not even a message.
    send_to(receiver, sender, (b"\x00\xff" * 30 + b"\r\n") * 20 + b"\r\n--")
    db.session.expire_all()
    assert row.status == NotificationStatus.SENT
    assert token not in caplog.text and forged not in caplog.text and user.email not in caplog.text


def test_reading_reports(app):
    assert bounces.permanent_failures(dsn("A.Person@Example.org")) == {"a.person@example.org"}
    assert bounces.permanent_failures(dsn("a@example.org", "delayed", "4.4.7")) == set()
    assert bounces.permanent_failures(b"") == set()
    assert bounces.permanent_failures(b"Content-Type: multipart/report\r\n\r\nno parts") == set()


def test_the_bounce_server_command_needs_a_bounce_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BOUNCE_ADDRESS", None)
    result = app.test_cli_runner().invoke(args=["bounce-server", "--port", str(free_port())])
    assert result.exit_code == 2 and "PORTAL_MAIL_BOUNCE_ADDRESS" in result.output
