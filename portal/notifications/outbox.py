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

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, delete, event, or_, select, update
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


def chosen_channel(session: Session, user: User, kind: NotificationKind) -> Channel:
    """The person's choice for this kind, or email; SMS only with a phone number."""
    choice = session.scalar(
        select(NotificationPreference.channel).where(
            NotificationPreference.user_id == user.id,
            NotificationPreference.kind == PREFERENCE_OF.get(kind, kind),
        )
    )
    channel = Channel(choice) if choice else Channel.EMAIL
    if channel == Channel.NONE and user.role in STAFF_ROLES and kind in STAFF_ALWAYS:
        channel = Channel.EMAIL
    if channel == Channel.SMS and not user.phone:
        channel = Channel.EMAIL
    return channel


def after_quiet_hours(now: datetime) -> datetime | None:
    """When an SMS queued at ``now`` may go: ``None`` for at once, else 08:00 UK time."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    local = now.astimezone(zone)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=zone)


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

    ``key`` names the event (``review_reminder:plan 4:2027-03-01:8``); a second row with the
    same key is never added. ``params`` must hold no health detail.
    """
    if not user.active:
        return None
    key = f"{key}:user {user.id}"[:200]
    added = session.info.setdefault("outbox_keys", set())  # this transaction's, not flushed
    with session.no_autoflush:  # one flush for a whole batch, not one per row
        channel = chosen_channel(session, user, kind)
        if channel == Channel.NONE or key in added:
            return None
        if session.scalar(select(Notification.id).where(Notification.idempotency_key == key)):
            return None
    added.add(key)
    now = utcnow()
    row = Notification(
        idempotency_key=key,
        kind=kind,
        channel=channel,
        user_id=user.id,
        patient_id=patient_id,
        address=user.phone if channel == Channel.SMS else user.email,
        locale=locale or user.preferred_locale or "en",
        params=params or {},
        status=NotificationStatus.PENDING,
        next_attempt_at=after_quiet_hours(now) if channel == Channel.SMS else None,
        created_at=now,
    )
    session.add(row)
    return row


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


def claim(notification_id: int, now: datetime) -> bool:
    """Waiting -> sending, for this worker alone (one conditional UPDATE); commits."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _waiting(now))
        .values(
            status=NotificationStatus.SENDING,
            claimed_at=now,
            attempts=Notification.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


@jobs.job("notifications.deliver")
def deliver(notification_id: int) -> NotificationStatus | None:
    """Send one notification if it is still waiting; its new status (``None``: not ours)."""
    from portal.notifications import channels

    now = utcnow()
    if not claim(notification_id, now):
        return None
    row = db.session.get(Notification, notification_id, populate_existing=True)
    try:
        channels.send(row)
    except TemporaryFailure as failure:
        if row.attempts >= MAX_ATTEMPTS:
            return _finish(row, NotificationStatus.FAILED, failure)
        row.status = NotificationStatus.PENDING
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts))
        row.last_error = _reason(failure)
        db.session.commit()
        raise jobs.Retry(backoff(row.attempts)) from None
    except PermanentFailure as failure:
        return _finish(row, NotificationStatus.FAILED, failure)
    row.sent_at = utcnow()
    return _finish(row, NotificationStatus.SENT, None)


def _reason(failure: Exception) -> str:
    """Why it failed, for staff: the exception's type and message, never the address."""
    return f"{type(failure).__name__}: {failure}"[:200]


def _finish(row: Notification, status: NotificationStatus, failure: Exception | None):
    row.status = status
    row.last_error = _reason(failure) if failure else None
    db.session.commit()
    if failure:
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


@jobs.job("notifications.deliver_many")
def deliver_many(notification_ids: list[int]) -> int:
    """Deliver several notifications over one SMTP connection; each is still claimed alone,
    so a notification in two jobs is sent once. One that must wait keeps its retry time and
    the dispatcher hands it on again. Returns how many were sent."""
    from portal.notifications import channels

    sent = 0
    with channels.smtp_connection():
        for notification_id in notification_ids:
            try:
                sent += deliver(notification_id) == NotificationStatus.SENT
            except jobs.Retry:
                continue
    return sent


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
