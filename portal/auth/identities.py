"""Which portal account an outside sign-in identity (NHS login, CIS2) belongs to."""

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import audit
from portal.auth import oidc
from portal.extensions import db
from portal.models import IdentityProvider, SignInIdentity, User


class Outcome(StrEnum):
    SIGNED_IN = "signed_in"
    LINKED = "linked"
    LOW_LEVEL = "low_level"  # identity not verified to P9: no account is opened
    NO_RECORD = "no_record"  # NHS number and date of birth match no patient record
    RECORD_HAS_ACCOUNT = "record_has_account"  # the record belongs to an account already
    EMAIL_IN_USE = "email_in_use"
    LINKED_ELSEWHERE = "linked_elsewhere"  # this NHS login belongs to another account
    NOT_YOURS = "not_yours"  # linking: the NHS login is not the account holder's own record
    INACTIVE = "inactive"
    NO_ROLE = "no_role"  # CIS2: the chosen role at that organisation is not mapped here


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    user: User | None = None
    strong: bool = False  # the provider did two-factor authentication


LINKED_ACTION = {
    IdentityProvider.NHS_LOGIN: "auth.nhs_login_linked",
    IdentityProvider.CIS2: "auth.cis2_linked",
}


def linked_user(provider: IdentityProvider, subject: str) -> User | None:
    return db.session.scalar(
        select(User)
        .join(SignInIdentity, SignInIdentity.user_id == User.id)
        .where(SignInIdentity.provider == provider, SignInIdentity.subject == subject)
    )


def is_linked(user: User, provider: IdentityProvider) -> bool:
    return (
        db.session.scalar(
            select(SignInIdentity.id).where(
                SignInIdentity.user_id == user.id, SignInIdentity.provider == provider
            )
        )
        is not None
    )


def link(user: User, provider: IdentityProvider, subject: str, patient_id: int | None = None):
    """Record that ``subject`` at ``provider`` is ``user``, in the audit trail too."""
    db.session.add(SignInIdentity(user_id=user.id, provider=provider, subject=subject))
    audit.record(LINKED_ACTION[provider], patient_id, actor_id=user.id)


def already_linked(user: User, provider: IdentityProvider, subject: str) -> Outcome | None:
    """``LINKED`` if done before, ``LINKED_ELSEWHERE`` if either side is someone else's."""
    owner = linked_user(provider, subject)
    if owner is not None:
        return Outcome.LINKED if owner.id == user.id else Outcome.LINKED_ELSEWHERE
    if is_linked(user, provider):  # to a different identity at the same provider
        return Outcome.LINKED_ELSEWHERE
    return None


SERVICE_NAMES = {
    IdentityProvider.NHS_LOGIN: ("nhs-login", _l("NHS login")),
    IdentityProvider.CIS2: ("cis2", _l("NHS Care Identity Service 2")),
}


def offered(user: User) -> list[tuple[str, str, bool]]:
    """The sign-in services this account may link (address part, name, linked already):
    NHS login for patients and carers, CIS2 for staff, each only when configured."""
    provider = IdentityProvider.CIS2 if user.is_staff else IdentityProvider.NHS_LOGIN
    if not oidc.configured(provider):
        return []
    slug, name = SERVICE_NAMES[provider]
    return [(slug, name, is_linked(user, provider))]
