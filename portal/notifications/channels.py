"""Delivery channels: email over SMTP, SMS and letters through GOV.UK Notify.

Each raises ``TemporaryFailure`` for what may pass (a server down, a timeout, a rate limit)
and ``PermanentFailure`` for what will not (an address refused, a channel not configured).
"""

import smtplib
import threading
from contextlib import contextmanager

from flask import current_app
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from portal import mail
from portal.models import Channel, Notification
from portal.notifications import bounces
from portal.notifications.messages import Message, render
from portal.notifications.outbox import AddressRefused, PermanentFailure, TemporaryFailure


def send(row: Notification) -> None:
    message = render(row)
    senders = {Channel.EMAIL: send_email, Channel.SMS: send_sms, Channel.LETTER: send_letter}
    senders[Channel(row.channel)](row, message)


def send_email(row: Notification, message: Message) -> None:
    config = current_app.config
    email = mail.build_message(row.address, message.subject, message.body)
    # The same message keeps the same Message-ID if it is ever handed over twice.
    domain = config["MAIL_SENDER"].rpartition("@")[2] or "careplan.invalid"
    email["Message-ID"] = f"<notification-{row.id}@{domain}>"
    if message.stop:  # one click in the mail program stops this kind (RFC 8058)
        email["List-Unsubscribe"] = f"<{message.stop}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if not config.get("MAIL_SERVER"):
        if config["ENV"] in ("development", "testing"):
            mail.write_to_outbox(email)
            return
        raise PermanentFailure("no mail server configured")
    try:
        _hand_over(email, bounces.return_path(row.id))
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _ in refused.recipients.values()]
        if all(400 <= code < 500 for code in codes):
            raise TemporaryFailure("recipient deferred") from None
        raise AddressRefused("recipient refused") from None
    except smtplib.SMTPResponseException as error:
        if 500 <= error.smtp_code < 600:
            raise AddressRefused(f"SMTP {error.smtp_code}") from None
        raise TemporaryFailure(f"SMTP {error.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as error:
        raise TemporaryFailure(type(error).__name__) from None


_shared = threading.local()


@contextmanager
def smtp_connection():
    """Emails sent inside share one SMTP connection (a batch of notifications), opened on
    first use and closed at the end."""
    _shared.reuse, _shared.smtp = True, None
    try:
        yield
    finally:
        _shared.reuse = False
        _drop_connection()


def _drop_connection() -> None:
    smtp, _shared.smtp = getattr(_shared, "smtp", None), None
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _hand_over(email, sender: str | None) -> None:
    """Over the batch's shared connection if there is one; ``sender``: the return path."""
    if not getattr(_shared, "reuse", False):
        mail.send_smtp(email, sender)
        return
    for reopened in (False, True):
        if _shared.smtp is None:
            _shared.smtp = mail.open_smtp()
        try:
            mail.hand_over(_shared.smtp, email, sender)
            return
        except smtplib.SMTPServerDisconnected:
            _drop_connection()  # the server closed an idle connection: one fresh try
            if reopened:
                raise
        except (OSError, smtplib.SMTPException):
            _drop_connection()
            raise


def notify_client() -> NotificationsAPIClient:
    config = current_app.config
    if not config.get("NOTIFY_API_KEY"):
        raise PermanentFailure("GOV.UK Notify is not configured")
    return NotificationsAPIClient(
        config["NOTIFY_API_KEY"], base_url=config["NOTIFY_BASE_URL"], timeout=10
    )


def _notify_call(call) -> None:
    try:
        call()
    except APIError as error:
        status = error.status_code
        if status in (429, 503) or status >= 500:
            raise TemporaryFailure(f"Notify {status}") from None
        if status == 400 and "ValidationError" in str(error.message):
            raise AddressRefused(f"Notify {status}") from None  # e.g. not a real phone number
        raise PermanentFailure(f"Notify {status}") from None


def send_sms(row: Notification, message: Message) -> None:
    client = notify_client()
    template = current_app.config.get("NOTIFY_SMS_TEMPLATE_ID")
    if not template:
        raise PermanentFailure("no SMS template configured")
    _notify_call(
        lambda: client.send_sms_notification(
            phone_number=row.address,
            template_id=template,
            personalisation={"body": message.short},
            reference=row.idempotency_key,
        )
    )


def send_letter(row: Notification, message: Message) -> None:
    """A letter to the postal address kept in ``address`` (one line per address line)."""
    client = notify_client()
    template = current_app.config.get("NOTIFY_LETTER_TEMPLATE_ID")
    if not template:
        raise PermanentFailure("no letter template configured")
    lines = [line.strip() for line in row.address.splitlines() if line.strip()][:7]
    if len(lines) < 3:  # Notify needs at least three lines, the last a postcode
        raise PermanentFailure("incomplete postal address")
    personalisation = {f"address_line_{n}": line for n, line in enumerate(lines, start=1)}
    personalisation.update(subject=message.subject, body=message.body)
    _notify_call(
        lambda: client.send_letter_notification(
            template_id=template, personalisation=personalisation, reference=row.idempotency_key
        )
    )
