"""Bounces that arrive after the mail server accepted a message (RFC 3464 delivery reports).

Each notification email is sent with its own return path (VERP): ``MAIL_BOUNCE_ADDRESS``
``bounces@careplan.example.nhs.uk`` becomes ``bounces+<token>@careplan.example.nhs.uk``. The
token is the notification's id encrypted in one AES block with a key derived from the
secret key: it says nothing to whoever reads it, and a forged or altered one decrypts to
nonsense and is refused. A report that reaches the receiver (``flask bounce-server``, an SMTP
server on loopback the mail server hands the bounce address's mail to) marks the message
failed for its address when it says ``Action: failed`` with a ``5.x.x`` status, exactly as
an SMTP 5xx at sending does: nothing more is sent to that address and staff see "we could not
reach this person". A delay (``4.x.x``, ``Action: delayed``), an out-of-office reply or
anything else that is not a delivery report is accepted and ignored, so no mail server sends
a bounce of the bounce. Nothing is logged with a token, an address or the report's text.
"""

import asyncio
import base64
import hashlib
import hmac
import logging
import struct
from email import message_from_bytes, policy
from email.message import Message

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Flask, current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import Channel, Notification

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024  # a delivery report is a few KB; it may quote the message (ours are small)
_MAGIC = b"portal-b"  # the first half of the block: what a forged token cannot reproduce


def _cipher() -> Cipher:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    key = hmac.new(secret, b"portal bounce address", hashlib.sha256).digest()
    # One block of fixed layout, never two the same: ECB is the plain block cipher here.
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305


def token(notification_id: int) -> str:
    """26 lower-case letters and digits (mail servers may change the case of an address)."""
    encryptor = _cipher().encryptor()
    block = encryptor.update(_MAGIC + struct.pack(">Q", notification_id)) + encryptor.finalize()
    return base64.b32encode(block).decode().rstrip("=").lower()


def notification_id(value: str) -> int | None:
    """The notification a token stands for; None for anything forged, altered or malformed."""
    if len(value) != 26 or not value.isalnum() or not value.isascii():
        return None
    try:
        block = base64.b32decode(value.upper() + "======")
    except ValueError:
        return None
    decryptor = _cipher().decryptor()
    plain = decryptor.update(block) + decryptor.finalize()
    if not hmac.compare_digest(plain[:8], _MAGIC):
        return None
    return struct.unpack(">Q", plain[8:])[0]


def return_path(notification_id: int) -> str | None:
    """The envelope sender for a notification email; None without ``MAIL_BOUNCE_ADDRESS``."""
    address = current_app.config.get("MAIL_BOUNCE_ADDRESS")
    if not address:
        return None
    local, _, domain = address.rpartition("@")
    return f"{local}+{token(notification_id)}@{domain}"


def notification_of(recipient: str) -> int | None:
    """The notification a bounce address names, if it is one of ours with a good token."""
    address = current_app.config.get("MAIL_BOUNCE_ADDRESS")
    if not address or "@" not in recipient:
        return None
    local, _, domain = address.rpartition("@")
    their_local, _, their_domain = recipient.strip().rpartition("@")
    prefix = local.lower() + "+"
    if their_domain.lower() != domain.lower() or not their_local.lower().startswith(prefix):
        return None
    return notification_id(their_local[len(prefix) :].lower())


# --- reading a delivery report ---------------------------------------------------------------


def _address(field: str | None) -> str:
    """``rfc822; someone@example.org`` -> ``someone@example.org``."""
    _kind, _, value = (field or "").partition(";")
    return value.strip().strip("<>").lower()


def permanent_failures(raw: bytes) -> set[str]:
    """The recipients a delivery report says failed for good (``Action: failed`` with a 5.x.x
    ``Status``), lower-cased; empty for delays, successes and anything not a report."""
    try:
        report = message_from_bytes(raw, policy=policy.compat32)
    except Exception:  # noqa: BLE001 - hostile input: whatever it is, it is not a report
        return set()
    if report.get_content_type() != "multipart/report" or (
        report.get_param("report-type") or ""
    ).lower() != "delivery-status":
        return set()
    failed = set()
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks[1:] if isinstance(blocks, list) else []:  # the per-recipient fields
            if not isinstance(block, Message):
                continue
            action = (block.get("Action") or "").strip().lower()
            status = (block.get("Status") or "").strip()
            if action == "failed" and status.startswith("5."):
                for field in ("Original-Recipient", "Final-Recipient"):
                    if recipient := _address(block.get(field)):
                        failed.add(recipient)
    return failed


def record(notification: int, raw: bytes) -> bool:
    """Mark the notification failed for its address if the report says its recipient failed
    for good (matching the address it was sent to, so a report forged with a token from a
    message forwarded elsewhere cannot mark another address). Commits; True if marked."""
    from portal.notifications.outbox import AddressRefused, refuse

    row = db.session.scalar(select(Notification).where(Notification.id == notification))
    if row is None or row.channel != Channel.EMAIL:
        return False
    if (row.address or "").lower() not in permanent_failures(raw):
        return False
    refuse(row, AddressRefused("bounced after delivery"))
    return True


# --- the receiver ------------------------------------------------------------------------------


class BounceHandler:
    """aiosmtpd handler: recipients other than good bounce addresses are refused at RCPT;
    a report is read after the message is accepted."""

    def __init__(self, app: Flask):
        self.app = app

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.app.app_context():
            known = notification_of(address) is not None
        if not known:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "replace")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._read, list(envelope.rcpt_tos), raw)
        return "250 OK"  # even when ignored: a refusal would only bring a bounce of the bounce

    def _read(self, recipients: list[str], raw: bytes) -> None:
        with self.app.app_context():
            for recipient in recipients:
                notification = notification_of(recipient)
                try:
                    marked = notification is not None and record(notification, raw)
                except Exception:  # noqa: BLE001 - one bad report must not stop the server
                    db.session.rollback()
                    log.exception("A bounce could not be recorded")
                    continue
                if marked:
                    log.info("Bounce recorded: notification %s not delivered", notification)
                else:
                    log.info("A message to the bounce address was not a permanent failure")
            db.session.remove()


def controller(app: Flask, host: str, port: int):
    """An aiosmtpd server for bounces, not yet started (``.start()``, ``.stop()``)."""
    from aiosmtpd.controller import Controller

    # aiosmtpd logs each command line, with the addresses (and so the tokens), at INFO.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return Controller(
        BounceHandler(app),
        hostname=host,
        port=port,
        data_size_limit=app.config.get("BOUNCE_MAX_BYTES", MAX_BYTES),
    )
