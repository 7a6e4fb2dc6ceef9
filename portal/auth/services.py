"""Password hashing, credential checks, password and email changes, and password reset."""

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import accounts, audit
from portal.auth import emails
from portal.extensions import db
from portal.models import PasswordResetToken, User
from portal.models.base import utcnow
from portal.security import end_every_session

hasher = PasswordHasher()  # argon2id with the library's current defaults

# Verified against when the email is unknown, so both paths take the same time.
_DUMMY_HASH = hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def find_user(email: str) -> User | None:
    return db.session.scalars(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).first()


def verify_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the account exists; rehashes when parameters changed."""
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def authenticate(email: str, password: str) -> tuple[User | None, int | None]:
    """The user if the password matches, and the id of the account the email names (if any).

    The id lets a failed attempt be audited against the account without logging the email.
    """
    user = find_user(email)
    if not verify_password(user, password) or not user.active:
        return None, user.id if user else None
    return user, user.id


def notify(user: User, message, to: str | None = None, **context) -> None:
    """Email the account holder in their language, through the outbox: queued in the
    caller's transaction (call it before the commit), delivered after it, retried if the mail
    server is down, and never sent for a change that rolled back.

    ``message`` is one of ``portal.auth.emails``: it returns (subject, body).
    """
    from portal.notifications.outbox import queue_account_email

    queue_account_email(db.session, user, message.__name__, to=to, **context)


def _invalidate_reset_tokens(user: User) -> None:
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def set_password(user: User, password: str) -> None:
    """New hash, every session ended, outstanding reset links cancelled."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_every_session(user)
    _invalidate_reset_tokens(user)


def change_password(user: User, password: str) -> None:
    set_password(user, password)
    audit.record("auth.password_changed", actor_id=user.id)
    notify(user, emails.password_changed)
    db.session.commit()


def change_email(user: User, email: str, confirmed_from: str | None = None) -> bool:
    """Old address is told, so a takeover cannot quietly move the account.

    ``confirmed_from``: the address an emailed link was made for. The move then happens only
    if the account still has it (a conditional UPDATE), so a link works once even when two
    tabs confirm it at the same moment; False when it was spent.
    """
    old = user.email
    if confirmed_from is not None:
        moved = db.session.execute(
            update(User)
            .where(User.id == user.id, User.email == confirmed_from)
            .values(email=email)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            db.session.rollback()
            return False
        set_committed_value(user, "email", email)
    else:
        user.email = email
    end_every_session(user)
    _invalidate_reset_tokens(user)
    audit.record("auth.email_changed", actor_id=user.id)
    notify(user, emails.email_changed, to=old)
    db.session.commit()
    return True


EMAIL_LINK_HOURS = 24


def _email_links() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="email-change")


def request_email_change(user: User, email: str) -> None:
    """The new address must prove it is the person's before the account moves to it.

    The signed link names the current address too, so it works once: after the change, or
    after any other change of address, it no longer matches.
    """
    token = _email_links().dumps({"user": user.id, "from": user.email, "to": email})
    audit.record("auth.email_change_requested", actor_id=user.id)
    link = accounts.email_link("account.confirm_email", token=token)
    notify(user, emails.confirm_new_email, to=email, link=link, hours=EMAIL_LINK_HOURS)
    db.session.commit()


def email_from_link(user: User, token: str) -> str | None:
    """The new address a link confirms for ``user``, or None if it is not theirs or too old."""
    try:
        data = _email_links().loads(token, max_age=EMAIL_LINK_HOURS * 3600)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("user") != user.id or data.get("from") != user.email:
        return None
    email = data.get("to")
    return email if isinstance(email, str) else None


def email_taken(email: str, user: User) -> bool:
    other = find_user(email)
    return other is not None and other.id != user.id


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def request_reset(email: str) -> None:
    """Email a single-use link if the account exists; the caller answers the same either way.

    The work in the request is the same either way, so the time taken tells nobody whether
    the address has an account: a link is made and sealed for the outbox; only the known
    address's is queued (and sent by a worker, after the answer).
    """
    user = find_user(email)
    known = user is not None and user.active
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    if known:
        link = issue_password_link(user, hours)
        audit.record("auth.reset_requested", actor_id=user.id)
        notify(user, emails.password_reset, link=link, hours=hours)
    else:
        link = accounts.email_link("auth.reset_password", token=_new_token()[0])
        audit.record("auth.reset_requested", detail="no such account")
        from portal.notifications.outbox import seal

        seal({"link": link, "hours": hours})  # the same work as queuing it
    db.session.commit()


def _new_token() -> tuple[str, str]:
    """A random single-use value and the hash that is stored of it."""
    raw = secrets.token_urlsafe(32)
    return raw, _token_hash(raw)


def issue_password_link(user: User, hours: int) -> str:
    """A new single-use link to choose a password, valid for ``hours``; earlier links stop
    working. Used for resets and for new staff accounts. The caller commits."""
    _invalidate_reset_tokens(user)
    raw, digest = _new_token()
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=digest,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return accounts.email_link("auth.reset_password", token=raw)


def valid_reset_token(raw: str) -> PasswordResetToken | None:
    """The unused, unexpired token for an active account, or None."""
    if not raw or len(raw) > 100:
        return None
    token = db.session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(raw))
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    return token


def complete_reset(token: PasswordResetToken, password: str) -> User | None:
    """Set the new password, spending the link; None if another request spent it first.

    The link is spent with a conditional UPDATE before anything else changes, so of two
    submissions racing each other exactly one sets a password.
    """
    spent = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == token.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        db.session.rollback()
        return None
    user = db.session.get(User, token.user_id)
    set_password(user, password)  # also cancels the account's other reset links
    audit.record("auth.reset_completed", actor_id=user.id)
    notify(user, emails.password_changed)
    db.session.commit()
    return user
