"""Staff accounts and organisations: each change is audited with the admin as actor and the
account or organisation id as detail, and ends the person's sessions where access changes.

Patient and carer accounts belong to the patient's own journeys (sign-up by invitation,
sharing) and are never found here.
"""

import hashlib

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal import accounts, audit
from portal.auth import emails, mfa
from portal.auth.services import find_user, issue_password_link, notify
from portal.extensions import db
from portal.models import Organisation, OrganisationKind, Role, User
from portal.models.user import STAFF_ROLES
from portal.pagination import Page, paginate
from portal.security import end_every_session

PAGE_SIZE = 25
ACCOUNT_FIELDS = ("display_name", "role", "organisation_id", "job_title", "can_audit")
ORGANISATION_FIELDS = ("name", "ods_code", "kind", "reply_working_days")


class LastAdmin(Exception):
    """The change would leave nobody able to manage accounts."""


class Taken(Exception):
    """The email address or ODS code already belongs to another record."""


def fingerprint(item, fields) -> str:
    """The saved values a form was opened with, to spot a change made by someone else since."""
    values = repr([getattr(item, f) for f in fields])
    return hashlib.sha256(values.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def staff_accounts(search: str, page: int) -> Page:
    """Staff accounts by name, matching ``search`` in the name or email; two queries a page."""
    query = select(User).where(User.role.in_(STAFF_ROLES))
    if search:
        needle = search.lower()
        query = query.where(
            or_(
                func.lower(User.display_name).contains(needle, autoescape=True),
                func.lower(User.email).contains(needle, autoescape=True),
            )
        )
    query = query.order_by(func.lower(User.display_name), User.id)
    return paginate(query, page, PAGE_SIZE, joinedload(User.organisation))


def organisations(page: int) -> Page:
    query = select(Organisation).order_by(func.lower(Organisation.name), Organisation.id)
    return paginate(query, page, PAGE_SIZE)


def staff_account(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.role in STAFF_ROLES else None


def organisation_by_code(code: str) -> Organisation | None:
    return db.session.scalars(select(Organisation).where(Organisation.ods_code == code)).first()


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )


def leaves_no_admin(user: User, role: str, active: bool) -> bool:
    """Would this change remove the last active administrator?"""
    losing = user.role == Role.ADMIN and user.active and (role != Role.ADMIN or not active)
    return losing and _other_active_admins(user) == 0


# --------------------------------------------------------------------------- #
# Changing accounts
# --------------------------------------------------------------------------- #


def _send_password_link(user: User) -> tuple[str, int]:
    hours = current_app.config["SET_PASSWORD_HOURS"]
    link = issue_password_link(user, hours)
    return link, hours


def create_account(details: dict, email: str) -> User:
    """A staff account with no usable password: the person chooses one from the emailed link,
    then must set up two-step verification at first sign-in."""
    if find_user(email) is not None:
        raise Taken
    try:
        user = accounts.create_account(email, **details)  # no password: known to nobody
    except IntegrityError:  # the same address added at the same moment
        db.session.rollback()
        raise Taken from None
    link, hours = _send_password_link(user)
    audit.record("admin.account_created", detail=f"user {user.id}")
    notify(user, emails.account_created, link=link, hours=hours)
    db.session.commit()
    return user


def change_account(user: User, details: dict) -> None:
    if leaves_no_admin(user, details["role"], user.active):
        raise LastAdmin
    access_changed = (user.role, user.organisation_id, user.can_audit) != (
        details["role"],
        details["organisation_id"],
        details["can_audit"],
    )
    for field, value in details.items():
        setattr(user, field, value)
    if access_changed:
        end_every_session(user)  # what they may see is decided afresh at the next sign-in
    audit.record("admin.account_changed", detail=f"user {user.id}")
    db.session.commit()


def set_active(user: User, active: bool) -> None:
    """Deactivating ends every session at once; the account can be reactivated later."""
    if user.active == active:
        return
    if leaves_no_admin(user, user.role, active):
        raise LastAdmin
    user.active = active
    end_every_session(user)
    audit.record(
        "admin.account_reactivated" if active else "admin.account_deactivated",
        detail=f"user {user.id}",
    )
    if not active:
        notify(user, emails.account_deactivated)
    db.session.commit()


def reset_mfa(user: User) -> None:
    """Clears the authenticator secret and recovery codes and signs the person out: at their
    next sign-in they must set two-step verification up again."""
    mfa.disable(user)  # also ends every session
    audit.record("admin.mfa_reset", detail=f"user {user.id}")
    notify(user, emails.mfa_reset)
    db.session.commit()


def resend_password_link(user: User) -> None:
    """A fresh set-password link; any earlier one stops working."""
    link, hours = _send_password_link(user)
    audit.record("admin.password_link_sent", detail=f"user {user.id}")
    notify(user, emails.account_created, link=link, hours=hours)
    db.session.commit()


# --------------------------------------------------------------------------- #
# Organisations
# --------------------------------------------------------------------------- #


def save_organisation(
    organisation: Organisation,
    name: str,
    ods_code: str,
    reply_working_days: int = 2,
    kind: str = OrganisationKind.GP_PRACTICE,
) -> None:
    other = organisation_by_code(ods_code)
    if other is not None and other.id != organisation.id:
        raise Taken
    creating = organisation.id is None
    organisation.name = name
    organisation.ods_code = ods_code
    organisation.reply_working_days = reply_working_days
    organisation.kind = kind
    db.session.add(organisation)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Taken from None
    verb = "created" if creating else "changed"
    audit.record(f"admin.organisation_{verb}", detail=f"organisation {organisation.id}")
    db.session.commit()
