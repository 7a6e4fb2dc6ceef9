"""The outbox: queue a notification in the caller's transaction; deliver it exactly once.

``queue`` adds a row to the session the change is being written in, so the notification
commits, or rolls back, with that change. Delivery claims the row with one conditional UPDATE
(pending and due -> sending), so of two workers handed the same row only one sends it; the
other finds nothing to claim. A failure that may pass (mail server or Notify down) puts the
row back with a later retry time (doubling, up to an hour); after ``MAX_ATTEMPTS`` it is
marked failed and staff see that the person could not be reached.

A worker that dies between sending and recording "sent" leaves the row "sending"; it is
claimed again after ``CLAIM_LEASE``. That one case can repeat a message, so the idempotency
key travels with it (the email's Message-ID, Notify's ``reference``) for the receiving end.
"""

import base64
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from flask import current_app
from sqlalchemy import and_, delete, event, or_, select, text, update
from sqlalchemy.orm import Session

from portal import jobs
from portal.extensions import db
from portal.models import (
    Channel,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
    User,
)
from portal.models.base import utcnow
from portal.models.user import STAFF_ROLES
from portal.notifications.preferences import may_stop

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
CLAIM_LEASE = timedelta(minutes=10)  # NOTIFY_CLAIM_LEASE_SECONDS overrides it
KEEP_SENT = timedelta(days=90)
DISPATCH_BATCH = 500
DELIVERY_BATCH = 100  # notifications per job: one SMTP connection, one task, for them all

# No SMS between these hours (UK time); an SMS queued then waits for the morning.
QUIET_START, QUIET_END = time(21, 0), time(8, 0)

# Sent whatever the person's preferences say: a crisis change must reach the care team.
STAFF_ALWAYS = frozenset({NotificationKind.CRISIS_CHANGED})

# Kinds that follow another kind's preference (one choice for "booked" and "moved").
PREFERENCE_OF = {
    NotificationKind.MEETING_MOVED: NotificationKind.MEETING_BOOKED,
    NotificationKind.ACCESS_ENDED: NotificationKind.ACCESS_CHANGED,
}


class TemporaryFailure(Exception):
    """The channel may work later (server down, timeout, rate limit)."""


class PermanentFailure(Exception):
    """Trying again will not help (address refused, channel not configured)."""


class AddressRefused(PermanentFailure):
    """The address itself is refused (no such mailbox, a number that does not exist, a
    bounce reported later): nothing more is sent to it, and staff see the person could not be
    reached."""


REFUSED = f"{AddressRefused.__name__}:%"  # how ``last_error`` starts for such a row


def refused_addresses(session: Session, addresses) -> set[str]:
    """Of these addresses, those a message was refused at (one query for a batch; it reads
    the failed rows through the index that starts with ``status``)."""
    return set(
        session.scalars(
            select(Notification.address).where(
                Notification.address.in_(set(addresses)),
                Notification.status == NotificationStatus.FAILED,
                Notification.last_error.like(REFUSED),
            )
        )
    )


def _channel(user: User, kind: NotificationKind, choice: str | None) -> Channel:
    """The channel for a saved ``choice`` (or none saved): email by default, staff always hear
    of a crisis change, SMS only with a phone number."""
    channel = Channel(choice) if choice else Channel.EMAIL
    if channel == Channel.NONE and user.role in STAFF_ROLES and kind in STAFF_ALWAYS:
        channel = Channel.EMAIL
    if channel == Channel.SMS and not user.phone:
        channel = Channel.EMAIL
    return channel


def _saved_choices(session: Session, user_ids, kinds) -> dict[tuple[int, str], str]:
    """(user id, kind) -> saved channel, for many people in one query."""
    return {
        (user_id, kind): channel
        for user_id, kind, channel in session.execute(
            select(
                NotificationPreference.user_id,
                NotificationPreference.kind,
                NotificationPreference.channel,
            ).where(
                NotificationPreference.user_id.in_(set(user_ids)),
                NotificationPreference.kind.in_(set(kinds)),
            )
        )
    }


def chosen_channel(session: Session, user: User, kind: NotificationKind) -> Channel:
    """The person's choice for this kind, or email; SMS only with a phone number."""
    wanted = PREFERENCE_OF.get(kind, kind)
    choice = _saved_choices(session, [user.id], [wanted]).get((user.id, wanted))
    return _channel(user, kind, choice)


def after_quiet_hours(now: datetime) -> datetime | None:
    """When an SMS queued at ``now`` may go: ``None`` for at once, else 08:00 UK time."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    local = now.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=zone)


@dataclass
class Outgoing:
    """One notification to queue: ``key`` names the event (``review_reminder:plan 4:...``);
    ``params`` must hold no health detail."""

    user: User
    kind: NotificationKind
    key: str
    patient_id: int | None = None
    params: dict | None = None
    locale: str | None = None


def queue(
    session: Session,
    user: User,
    kind: NotificationKind,
    key: str,
    patient_id: int | None = None,
    params: dict | None = None,
    locale: str | None = None,
) -> Notification | None:
    """Add a notification for ``user`` to the session's transaction; ``None`` if not wanted.

    A second row with the same key is never added.
    """
    return queue_many(session, [Outgoing(user, kind, key, patient_id, params, locale)])[0]


def queue_many(session: Session, items: list[Outgoing]) -> list[Notification | None]:
    """Queue many notifications with three queries in all (choices, keys already queued,
    refused addresses), not three a row: the daily reminders queue tens of thousands. One
    result per item."""
    added = session.info.setdefault("outbox_keys", set())  # this transaction's, not flushed
    keyed = [
        (item, f"{item.key}:user {item.user.id}"[:200]) if item.user.active else (item, None)
        for item in items
    ]
    keys = [key for _, key in keyed if key]
    if not keys:
        return [None] * len(items)
    with session.no_autoflush:  # one flush for a whole batch, not one per row
        choices = _saved_choices(
            session,
            [item.user.id for item, key in keyed if key],
            [PREFERENCE_OF.get(item.kind, item.kind) for item, key in keyed if key],
        )
        known = set(
            session.scalars(
                select(Notification.idempotency_key).where(Notification.idempotency_key.in_(keys))
            )
        )
        refused = refused_addresses(
            session, [a for item, _ in keyed for a in (item.user.email, item.user.phone) if a]
        )
    now = utcnow()
    results: list[Notification | None] = []
    for item, key in keyed:
        user, kind = item.user, item.kind
        choice = choices.get((user.id, PREFERENCE_OF.get(kind, kind))) if key else None
        channel = _channel(user, kind, choice)
        if key is None or channel == Channel.NONE or key in added or key in known:
            results.append(None)
            continue
        address = user.phone if channel == Channel.SMS else user.email
        if channel == Channel.EMAIL and may_stop(user, kind):
            item.params = {**(item.params or {}), "stop": True}  # one-click unsubscribe
        always = kind in STAFF_ALWAYS and user.role in STAFF_ROLES  # a crisis change: try
        if address in refused and not always:
            results.append(None)  # a bounced address: "we could not reach" is already shown
            continue
        added.add(key)
        results.append(_add(session, item, key, channel, address, now))
    return results


def _add(session, item: Outgoing, key: str, channel: Channel, address: str, now) -> Notification:
    row = Notification(
        idempotency_key=key,
        kind=item.kind,
        channel=channel,
        user_id=item.user.id,
        patient_id=item.patient_id,
        address=address,
        locale=item.locale or item.user.preferred_locale or "en",
        params=item.params or {},
        status=NotificationStatus.PENDING,
        next_attempt_at=after_quiet_hours(now) if channel == Channel.SMS else None,
        created_at=now,
    )
    session.add(row)
    return row


# --- account security emails ----------------------------------------------------------------


def _sealer() -> Fernet:
    digest = hashlib.sha256(b"outbox-seal:" + current_app.secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(values: dict) -> str:
    """Encrypt what an account email needs (a reset or confirmation link carries a token):
    the outbox row never holds a usable link in the clear, and loses it once delivered."""
    return _sealer().encrypt(json.dumps(values).encode()).decode()


def unseal(sealed: str) -> dict:
    return json.loads(_sealer().decrypt(sealed.encode()))


def queue_account_email(
    session: Session, user: User, email: str, to: str | None = None, **values
) -> Notification:
    """An account security email (``email`` names a function of ``portal.auth.emails``) in
    the caller's transaction: sent whatever the person's preferences, also to an account just
    deactivated, to ``to`` when given (the old address, told of a change)."""
    item = Outgoing(
        user,
        NotificationKind.ACCOUNT_SECURITY,
        f"{NotificationKind.ACCOUNT_SECURITY}:{email}:{uuid.uuid4().hex}",
        params={"email": email, "sealed": seal(values)},
    )
    key = f"{item.key}:user {user.id}"
    return _add(session, item, key, Channel.EMAIL, to or user.email, utcnow())


@event.listens_for(Session, "after_flush")
def _queue_delivery(session: Session, _context) -> None:
    """New notifications are handed to the workers once their transaction commits, in jobs
    of up to ``DELIVERY_BATCH`` (one held for quiet hours waits for the dispatcher)."""
    ids = [
        row.id
        for row in session.new
        if isinstance(row, Notification) and row.next_attempt_at is None
    ]
    for start in range(0, len(ids), DELIVERY_BATCH):
        jobs.defer(session, "notifications.deliver_many", ids[start : start + DELIVERY_BATCH])


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_keys(session: Session) -> None:
    session.info.pop("outbox_keys", None)


def backoff(attempts: int) -> int:
    """Seconds before the next try: 1, 2, 4 ... minutes, then hourly."""
    return min(60 * 2 ** max(attempts - 1, 0), 3600)


def claim_lease() -> timedelta:
    seconds = current_app.config.get("NOTIFY_CLAIM_LEASE_SECONDS")
    return timedelta(seconds=int(seconds)) if seconds else CLAIM_LEASE


def _waiting(now: datetime):
    """Pending and due, or claimed by a worker that has not finished within the lease."""
    due = and_(
        Notification.status == NotificationStatus.PENDING,
        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
    )
    abandoned = and_(
        Notification.status == NotificationStatus.SENDING,
        Notification.claimed_at < now - claim_lease(),
    )
    return or_(due, abandoned)


def claim_many(notification_ids: list[int], now: datetime) -> list[int]:
    """Waiting -> sending, for this worker alone; the ids it now holds. Commits.

    On PostgreSQL the rows are locked first, skipping any another worker is claiming at this
    moment (so two workers with overlapping batches never wait on each other's locks); the
    UPDATE keeps the condition, so on SQLite, where writers take turns, a row claimed in
    between is not claimed again.
    """
    if not notification_ids:
        return []
    _commit_quickly()
    free = list(
        db.session.scalars(
            select(Notification.id)
            .where(Notification.id.in_(notification_ids), _waiting(now))
            .order_by(Notification.id)
            .with_for_update(skip_locked=True)
        )
    )
    mine: list[int] = []
    if free:
        mine = sorted(
            db.session.scalars(
                update(Notification)
                .where(Notification.id.in_(free), _waiting(now))
                .values(
                    status=NotificationStatus.SENDING,
                    claimed_at=now,
                    attempts=Notification.attempts + 1,
                )
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
        )
    db.session.commit()
    return mine


def claim(notification_id: int, now: datetime) -> bool:
    return claim_many([notification_id], now) == [notification_id]


@jobs.job("notifications.deliver")
def deliver(notification_id: int) -> NotificationStatus | None:
    """Send one notification if it is still waiting; its new status (``None``: not ours).
    A failure that may pass asks the queue to run this job again after the back-off."""
    [status] = _deliver_batch([notification_id]) or [None]
    if status == NotificationStatus.PENDING:
        row = db.session.get(Notification, notification_id)
        raise jobs.Retry(backoff(row.attempts))
    return status


@jobs.job("notifications.deliver_many")
def deliver_many(notification_ids: list[int]) -> int:
    """Deliver several notifications over one SMTP connection. One that must wait keeps its
    retry time and the dispatcher hands it on again. Returns how many were sent."""
    return sum(status == NotificationStatus.SENT for status in _deliver_batch(notification_ids))


def _deliver_batch(notification_ids: list[int]) -> list[NotificationStatus]:
    """Claim the batch in one statement, load it in one, then send each and record its new
    status in its own commit: a worker killed mid-batch repeats at most the message it was
    handing over, and leaves the rest it claimed to be taken up after the lease.

    The loaded rows are not expired by those commits (no reload per row).
    """
    from portal.notifications import channels
    from portal.notifications.messages import links_context

    now = utcnow()
    mine = claim_many(notification_ids, now)
    if not mine:
        return []
    session = db.session()
    rows = session.scalars(
        select(Notification)
        .where(Notification.id.in_(mine))
        .order_by(Notification.id)
        .execution_options(populate_existing=True)
    ).all()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        with channels.smtp_connection(), links_context():
            return [_deliver_claimed(row, now) for row in rows]
    finally:
        session.expire_on_commit = expire


def _deliver_claimed(row: Notification, now: datetime) -> NotificationStatus:
    from portal.notifications import channels

    try:
        channels.send(row)
    except TemporaryFailure as failure:
        if row.attempts >= MAX_ATTEMPTS:
            return _finish(row, NotificationStatus.FAILED, failure)
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts))
        return _finish(row, NotificationStatus.PENDING, failure)
    except PermanentFailure as failure:
        return _finish(row, NotificationStatus.FAILED, failure)
    row.sent_at = utcnow()
    return _finish(row, NotificationStatus.SENT, None)


def _reason(failure: Exception) -> str:
    """Why it failed, for staff: the exception's type and message, never the address."""
    return f"{type(failure).__name__}: {failure}"[:200]


def _commit_quickly() -> None:
    """Let this transaction's commit return before its record reaches the disk (PostgreSQL).

    A killed worker loses nothing by it (the server already has the record); only a crash of
    the database server itself can forget the last fraction of a second of "sent" marks, and
    those messages are sent again with the same Message-ID or Notify reference. Waiting for
    the disk on every message would limit delivery to the disk's flush rate.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _finish(row: Notification, status: NotificationStatus, failure: Exception | None):
    _commit_quickly()
    if status != NotificationStatus.PENDING and "sealed" in (row.params or {}):
        row.params = {k: v for k, v in row.params.items() if k != "sealed"}  # link spent
    row.status = status
    row.last_error = _reason(failure) if failure else None
    db.session.commit()
    if failure and status == NotificationStatus.FAILED:
        log.warning("Notification %s failed: %s", row.id, type(failure).__name__)
    return status


def due_ids(now: datetime, limit: int = DISPATCH_BATCH) -> list[int]:
    """Notifications waiting to be sent: never handed to a worker, due a retry, or abandoned."""
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(_waiting(now))
            .order_by(Notification.id)
            .limit(limit)
        )
    )


@jobs.job("notifications.dispatch_pending")
def dispatch_pending() -> int:
    """Hand every due notification to the workers (or send it here without a broker).

    This is what makes the outbox safe: a row whose job was never queued (broker down at the
    commit) or was lost is found here, every minute.
    """
    ids = due_ids(utcnow())
    db.session.commit()
    batches = [ids[start : start + DELIVERY_BATCH] for start in range(0, len(ids), DELIVERY_BATCH)]
    if jobs.uses_broker():
        jobs.publish_many([("notifications.deliver_many", (batch,)) for batch in batches])
    else:
        for batch in batches:
            deliver_many(batch)
    return len(ids)


def record_refusal(reference: str, why: str) -> bool:
    """A refusal reported after delivery (GOV.UK Notify's status callback, a bounce): the
    row named by its idempotency key is marked failed for its address. Commits."""
    row = db.session.scalar(select(Notification).where(Notification.idempotency_key == reference))
    if row is None:
        return False
    refuse(row, AddressRefused(why))
    return True


def refuse(row: Notification, failure: AddressRefused) -> None:
    """Mark a sent (or waiting) message failed for its address, as a refusal at sending is:
    nothing more goes to the address and staff see the person could not be reached. Commits."""
    row.status = NotificationStatus.FAILED
    row.last_error = _reason(failure)
    db.session.commit()


@jobs.job("notifications.clean_up")
def clean_up() -> int:
    """Delete notifications sent more than ``KEEP_SENT`` ago (failures are kept for staff)."""
    result = db.session.execute(
        delete(Notification).where(
            Notification.status == NotificationStatus.SENT,
            Notification.sent_at < utcnow() - KEEP_SENT,
        )
    )
    db.session.commit()
    return result.rowcount
