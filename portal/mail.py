"""Sending email: by SMTP when ``MAIL_SERVER`` is set, otherwise a local outbox in development.

Used directly for invitations and activation codes: the caller decides what to do when
nothing was sent (for an invitation: show the link to the patient to pass on). Account and
notification emails go through the outbox (``portal.notifications``), which uses
``build_message`` and ``open_smtp``.

Settings: ``MAIL_SERVER``, ``MAIL_PORT`` (25), ``MAIL_USE_TLS`` (STARTTLS, off),
``MAIL_USERNAME`` / ``MAIL_PASSWORD`` (optional), ``MAIL_SENDER``, and ``OUTBOX_DIR`` where, in
development and testing, a message that was not sent by SMTP is written as an ``.eml`` file.
"""

import secrets
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from flask_babel import force_locale

from portal import bidi
from portal.i18n import formatting_locale


@dataclass(frozen=True)
class Delivery:
    sent: bool  # handed to the SMTP server
    outbox_file: Path | None = None  # development copy, if one was written


# Between a message in the reader's language and the same message in English below it.
ENGLISH_DIVIDER = "\n\n" + "-" * 40 + "\n\n"


def in_language_and_english(
    locale: str | None, compose: Callable[[str], tuple[str, str]]
) -> tuple[str, str]:
    """(subject, body) written by ``compose(code)`` in ``locale``, with the English body below
    when that is another language, so whoever helps the reader with English can read it too.

    ``compose`` is called once per language with the language's code (for links that open the
    portal in that language); the subject is the reader's.
    """
    code = locale or "en"
    parts = []
    for language in dict.fromkeys([code, "en"]):
        with force_locale(formatting_locale(language)):
            parts.append(compose(language))
    return parts[0][0], ENGLISH_DIVIDER.join(body.strip("\n") for _subject, body in parts) + "\n"


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    # Numbers, codes and addresses keep their order inside right-to-left sentences.
    message.set_content(bidi.isolate_numbers(body))
    return message


def send(to: str, subject: str, body: str) -> Delivery:
    """Send a plain-text email; never raises for a mail failure (it is logged instead)."""
    config = current_app.config
    message = build_message(to, subject, body)
    sent = False
    if config.get("MAIL_SERVER"):
        sent = _send_smtp(message)
    outbox_file = None
    if not sent and config["ENV"] in ("development", "testing"):
        outbox_file = write_to_outbox(message)
    return Delivery(sent=sent, outbox_file=outbox_file)


def _send_smtp(message: EmailMessage) -> bool:
    try:
        send_smtp(message)
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("Could not send email")
        return False
    return True


def send_smtp(message: EmailMessage, sender: str | None = None) -> None:
    """Hand a message to ``MAIL_SERVER`` (``sender``: the envelope's return path, else the
    From address); raises ``OSError`` or ``SMTPException`` on failure (the outbox retries)."""
    with open_smtp() as smtp:
        hand_over(smtp, message, sender)


def hand_over(smtp: smtplib.SMTP, message: EmailMessage, sender: str | None = None) -> None:
    """``send_message``, with the envelope sender only when one is given."""
    if sender:
        smtp.send_message(message, from_addr=sender)
    else:
        smtp.send_message(message)


def open_smtp() -> smtplib.SMTP:
    """A connection to ``MAIL_SERVER``, TLS and login done (for several messages in a row)."""
    config = current_app.config
    port = int(config.get("MAIL_PORT", 25))
    smtp = smtplib.SMTP(config["MAIL_SERVER"], port, timeout=10)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def write_to_outbox(message: EmailMessage) -> Path:
    """Keep a copy as ``.eml`` in ``OUTBOX_DIR`` so development needs no mail server."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.eml"
    path.write_bytes(bytes(message))
    return path
