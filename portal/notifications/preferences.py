"""Each person's choice of channel per kind of message, and who could not be reached."""

from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import (
    Channel,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
    Role,
    User,
)
from portal.models.base import utcnow

K = NotificationKind

# The kinds each role may choose about ("moved" follows "booked", "ended" follows "changed").
# A crisis change always reaches staff, so professionals have no choice about it.
CHOICES_BY_ROLE = {
    Role.PATIENT: (
        K.REVIEW_REMINDER,
        K.MEETING_BOOKED,
        K.RESULTS_SHARED,
        K.PLAN_AGREED,
        K.INVITATION_ACCEPTED,
        K.CONVERSATION_MESSAGE,
    ),
    Role.CARER: (K.CRISIS_CHANGED, K.ACCESS_CHANGED, K.CONVERSATION_MESSAGE),
    Role.PROFESSIONAL: (K.NAMED_CONTACT_REQUEST, K.PROPOSALS_WAITING, K.CONVERSATION_MESSAGE),
}

UNREACHABLE_WINDOW = timedelta(days=90)


def kinds_for(user: User) -> tuple[NotificationKind, ...]:
    return CHOICES_BY_ROLE.get(user.role, ())


def channels_for(user: User) -> tuple[Channel, ...]:
    """Text messages only for someone whose account has a phone number."""
    if user.phone:
        return (Channel.EMAIL, Channel.SMS, Channel.NONE)
    return (Channel.EMAIL, Channel.NONE)


def current_choices(user: User) -> dict[NotificationKind, Channel]:
    saved = dict(
        db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.channel).where(
                NotificationPreference.user_id == user.id
            )
        )
        .tuples()
        .all()
    )
    allowed = channels_for(user)
    return {
        kind: Channel(saved[kind]) if saved.get(kind) in allowed else Channel.EMAIL
        for kind in kinds_for(user)
    }


def save_choices(user: User, choices: dict[NotificationKind, Channel]) -> None:
    """Keep only choices this person may make; audited; commits."""
    allowed_kinds, allowed_channels = kinds_for(user), channels_for(user)
    saved = {
        p.kind: p
        for p in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    for kind, channel in choices.items():
        if kind not in allowed_kinds or channel not in allowed_channels:
            continue
        row = saved.get(kind) or NotificationPreference(user_id=user.id, kind=kind)
        row.channel = channel
        db.session.add(row)
    audit.record("account.messages_changed", actor_id=user.id)
    db.session.commit()


def may_stop(user: User, kind: NotificationKind) -> bool:
    """An email this person could turn off (not one about their account, nor a crisis change
    to staff): it carries a one-click unsubscribe link."""
    from portal.notifications.outbox import PREFERENCE_OF

    return PREFERENCE_OF.get(kind, kind) in kinds_for(user)


def _stop_links() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="unsubscribe")


def stop_token(user_id: int, kind: NotificationKind) -> str:
    """Signed, for one person and one kind: the link works without signing in, for as long
    as the email is kept."""
    return _stop_links().dumps([user_id, str(kind)])


def from_stop_token(token: str) -> tuple[User, NotificationKind] | None:
    try:
        user_id, kind = _stop_links().loads(token)
        user, kind = db.session.get(User, int(user_id)), NotificationKind(kind)
    except (BadSignature, TypeError, ValueError):
        return None
    if user is None or not may_stop(user, kind):
        return None
    return user, kind


def stop(user: User, kind: NotificationKind) -> None:
    """No more emails of this kind (the one-click unsubscribe); audited; commits."""
    from portal.notifications.outbox import PREFERENCE_OF

    save_choices(user, {PREFERENCE_OF.get(kind, kind): Channel.NONE})


def could_not_reach(patient_id: int) -> bool:
    """A recent message to the patient's own account failed and none has arrived since."""
    since = utcnow() - UNREACHABLE_WINDOW
    last = db.session.execute(
        select(Notification.status)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.patient_id == patient_id,
            User.role == Role.PATIENT,
            Notification.created_at >= since,
            Notification.status.in_((NotificationStatus.SENT, NotificationStatus.FAILED)),
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(1)
    ).scalar()
    return last == NotificationStatus.FAILED
