"""What an NHS login answer means for the portal: whose account, and what they may see.

Only a verified identity (P9: identity proved to a high level) opens an account: its NHS
number and date of birth must both match one patient record. Anyone at a lower level may
sign in to NHS login but is shown only what that level allows, and no plan content.
"""

from datetime import date

from sqlalchemy import select

from portal import accounts, audit, nhs_number
from portal.auth import identities
from portal.auth.identities import Outcome, Result
from portal.auth.oidc import Answer
from portal.extensions import db
from portal.models import IdentityProvider, NhsNumberStatus, Patient, Role, User

NHS_LOGIN = IdentityProvider.NHS_LOGIN
VERIFIED_LEVEL = "P9"
# Credential parts of a vector of trust that include a second factor (a code, the NHS App).
STRONG_CREDENTIALS = frozenset({"Cd", "Ck", "Cm"})


def identity_level(claims: dict) -> str:
    """``P9``, ``P5`` or ``P0``: from the signed vector of trust, else the level claim."""
    vot = claims.get("vot")
    if isinstance(vot, str) and vot[:1] == "P":
        return vot.split(".")[0]
    level = claims.get("identity_proofing_level")
    return level if isinstance(level, str) and len(level) <= 4 else "P0"


def strong_authentication(claims: dict) -> bool:
    vot = claims.get("vot")
    return isinstance(vot, str) and bool(STRONG_CREDENTIALS & set(vot.split(".")[1:]))


def _record(claims: dict) -> Patient | None:
    """The one patient whose NHS number and date of birth both match the claims."""
    number, birthdate = claims.get("nhs_number"), claims.get("birthdate")
    if not isinstance(number, str) or not isinstance(birthdate, str):
        return None
    number = nhs_number.normalise(number)
    if not nhs_number.is_valid(number):
        return None
    try:
        born = date.fromisoformat(birthdate)
    except ValueError:
        return None
    return db.session.scalar(
        select(Patient).where(Patient.nhs_number == number, Patient.date_of_birth == born)
    )


def _mark_verified(claims: dict, user: User) -> None:
    """NHS login proves a P9 identity against the national register (PDS): when its NHS number
    and date of birth are those of this account's record, that number is verified."""
    record = _record(claims)
    if record is not None and record.user_id == user.id:
        record.nhs_number_status = NhsNumberStatus.VERIFIED


def sign_in(answer: Answer) -> Result:
    """The account this NHS login opens, creating a patient's on first verified sign-in.

    The caller commits, and starts the session only for ``SIGNED_IN``.
    """
    claims = answer.claims
    strong = strong_authentication(claims)
    if identity_level(claims) != VERIFIED_LEVEL:
        return Result(Outcome.LOW_LEVEL)
    if (user := identities.linked_user(NHS_LOGIN, answer.subject)) is not None:
        if user.active:
            _mark_verified(claims, user)
        return Result(Outcome.SIGNED_IN if user.active else Outcome.INACTIVE, user, strong)
    patient = _record(claims)
    if patient is None:
        return Result(Outcome.NO_RECORD)
    if patient.user_id is not None:
        return Result(Outcome.RECORD_HAS_ACCOUNT)
    email = claims.get("email")
    if not isinstance(email, str) or not email or len(email) > 254:
        return Result(Outcome.EMAIL_IN_USE)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        return Result(Outcome.EMAIL_IN_USE)
    user = accounts.create_account(email, Role.PATIENT, patient.full_name)
    patient.user_id = user.id
    patient.nhs_number_status = NhsNumberStatus.VERIFIED
    audit.record("auth.account_created", patient.id, actor_id=user.id)
    identities.link(user, NHS_LOGIN, answer.subject, patient.id)
    return Result(Outcome.SIGNED_IN, user, strong)


def link(user: User, answer: Answer) -> Outcome:
    """Link a signed-in account to the NHS login just used; the caller commits."""
    claims = answer.claims
    if identity_level(claims) != VERIFIED_LEVEL:
        return Outcome.LOW_LEVEL
    if (already := identities.already_linked(user, NHS_LOGIN, answer.subject)) is not None:
        return already
    own_record = db.session.scalar(select(Patient).where(Patient.user_id == user.id))
    if own_record is not None and _record(claims) is not own_record:
        return Outcome.NOT_YOURS
    identities.link(user, NHS_LOGIN, answer.subject, own_record.id if own_record else None)
    if own_record is not None:
        own_record.nhs_number_status = NhsNumberStatus.VERIFIED
    return Outcome.LINKED
