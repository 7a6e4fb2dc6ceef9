"""Invitations, grants, consent and the activity log behind "who can see my plan".

Access itself is decided in ``portal.permissions`` from what these functions store; nothing
here caches a decision, so a change takes effect on the very next request.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import joinedload

from portal import accounts, audit, labels, mail
from portal.auth.services import find_user
from portal.extensions import db
from portal.i18n import LANGUAGES, current_language, format_date, supported
from portal.models import (
    AccessGrant,
    AuditEvent,
    ConsentMethod,
    ConsentRecord,
    Organisation,
    Patient,
    Role,
    User,
)
from portal.models.base import utcnow
from portal.pagination import Page
from portal.permissions import active_grants_query

ACTIVITY_PAGE_SIZE = 25


def hash_token(token: str) -> str:
    """Only this digest is stored: a copy of the database cannot be used to accept an invitation."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --------------------------------------------------------------------------- #
# Grants as the patient sees them
# --------------------------------------------------------------------------- #


def grant_status(grant: AccessGrant, now: datetime | None = None) -> str:
    """One of the keys of ``labels.GRANT_STATUSES``."""
    now = now or utcnow()
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_on is not None and grant.expires_on < date.today():
        return "ended"
    if grant.accepted_at is None:
        expires = grant.invitation_expires_at
        return "invitation_expired" if expires is not None and expires < now else "pending"
    return "active"


CURRENT_STATUSES = frozenset({"pending", "invitation_expired", "active"})


def grants_for(patient_id: int) -> list[AccessGrant]:
    """Every grant and invitation of the patient, with the people, in one query."""
    return list(
        db.session.scalars(
            select(AccessGrant)
            .where(AccessGrant.patient_id == patient_id)
            .options(joinedload(AccessGrant.grantee))
            .order_by(AccessGrant.created_at.desc(), AccessGrant.id.desc())
        )
    )


def grant_of(patient_id: int, grant_id: int) -> AccessGrant | None:
    """The grant only if it belongs to this patient: a forged id of another patient's is None."""
    grant = db.session.get(AccessGrant, grant_id, options=[joinedload(AccessGrant.grantee)])
    return grant if grant is not None and grant.patient_id == patient_id else None


def already_shared(patient_id: int, email: str) -> bool:
    """True while a current invitation or grant exists for this email address."""
    email = normalise_email(email)
    grants = db.session.scalars(
        select(AccessGrant)
        .outerjoin(User, AccessGrant.grantee_id == User.id)
        .where(
            AccessGrant.patient_id == patient_id,
            AccessGrant.revoked_at.is_(None),
            or_(func.lower(AccessGrant.invited_email) == email, func.lower(User.email) == email),
        )
    )
    return any(grant_status(g) in CURRENT_STATUSES for g in grants)


# --------------------------------------------------------------------------- #
# Invitations
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Invitation:
    grant: AccessGrant
    link: str
    emailed: bool


def _new_token(grant: AccessGrant) -> str:
    token = secrets.token_urlsafe(32)
    grant.token_hash = hash_token(token)
    grant.invitation_expires_at = utcnow() + timedelta(days=current_app.config["INVITATION_DAYS"])
    return token


def invitation_languages() -> list[tuple[str, str]]:
    """The portal's languages for the invitation email, each named in itself."""
    return [(code, LANGUAGES[code]) for code in supported()]


def invitation_language(asked: str | None) -> str:
    """The language asked for, if the portal has it; else the patient's own."""
    return asked if asked in supported() else current_language()


def invite(
    patient: Patient,
    inviter: User,
    email: str,
    relationship: str,
    scope: str,
    end_date: date | None,
    language: str | None = None,
) -> Invitation:
    """Create a pending grant with a single-use link and deliver it; commits."""
    grant = AccessGrant(
        patient_id=patient.id,
        invited_email=normalise_email(email),
        relationship_to_patient=relationship.strip(),
        language=current_language(),
        invitation_language=invitation_language(language),
        scope=scope,
        expires_on=end_date,
        created_by_id=inviter.id,
    )
    token = _new_token(grant)
    db.session.add(grant)
    db.session.flush()
    audit.record("sharing.invite", patient.id, f"grant {grant.id}")
    db.session.commit()
    return _deliver(grant, patient, token)


def resend(grant: AccessGrant, patient: Patient) -> Invitation:
    """A fresh link and expiry for a pending invitation; the old link stops working. Commits."""
    token = _new_token(grant)
    audit.record("sharing.resend", patient.id, f"grant {grant.id}")
    db.session.commit()
    return _deliver(grant, patient, token)


def _deliver(grant: AccessGrant, patient: Patient, token: str) -> Invitation:
    language = invitation_language(grant.invitation_language)
    link = accounts.email_link("sharing.invitation", token=token, lang=language)
    subject, body = invitation_email(grant, patient, token)
    delivery = mail.send(grant.invited_email, subject, body)
    return Invitation(grant=grant, link=link, emailed=delivery.sent)


def invitation_email(grant: AccessGrant, patient: Patient, token: str) -> tuple[str, str]:
    """Subject and text in the language the patient chose for the carer, with the English
    below it when that is another language. Each part's link opens the invitation page in
    its own language, so the English link is also the way to switch."""
    def compose(code: str) -> tuple[str, str]:
        link = accounts.email_link("sharing.invitation", token=token, lang=code)
        subject = _("%(name)s has shared their care plan with you", name=patient.full_name)
        return subject, invitation_text(grant, patient, link)

    return mail.in_language_and_english(invitation_language(grant.invitation_language), compose)


def invitation_text(grant: AccessGrant, patient: Patient, link: str) -> str:
    """The invitation email in the language in force (``invitation_email`` chooses it)."""
    lines = [
        _("Hello,"),
        "",
        _(
            "%(name)s has invited you to see their NHS personalised care plan on My care plan.",
            name=patient.full_name,
        ),
        _(
            "How they described you: %(relationship)s",
            relationship=grant.relationship_to_patient,
        ),
        "",
        str(labels.SCOPE_HINTS_FOR_CARER[grant.scope]),
    ]
    if grant.expires_on:
        lines.append(
            _("Your access ends on %(date)s.", date=format_date(grant.expires_on, "long"))
        )
    lines += [
        "",
        _(
            "To accept, open this link. You can use it once, until %(date)s:",
            date=format_date(grant.invitation_expires_at, "long"),
        ),
        link,
        "",
        _(
            "If you were not expecting this email, you can ignore it. Nobody can see the plan "
            "through this invitation unless the link is used."
        ),
    ]
    return "\n".join(str(line) for line in lines) + "\n"


class InvitationProblem(StrEnum):
    UNKNOWN = "unknown"  # never existed, already used, or replaced by a newer link
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    WRONG_ACCOUNT = "wrong_account"
    PATIENT_ACCOUNT = "patient_account"
    STAFF_ACCOUNT = "staff_account"


def find_invitation(token: str) -> tuple[AccessGrant | None, InvitationProblem | None]:
    """The pending grant for a link, or what is wrong with the link."""
    if not token or len(token) > 100:
        return None, InvitationProblem.UNKNOWN
    grant = db.session.scalars(
        select(AccessGrant)
        .where(AccessGrant.token_hash == hash_token(token))
        .options(joinedload(AccessGrant.patient))
    ).first()
    if grant is None or grant.accepted_at is not None:
        return None, InvitationProblem.UNKNOWN
    status = grant_status(grant)
    if status == "revoked":
        return grant, InvitationProblem.CANCELLED
    if status in ("invitation_expired", "ended"):
        return grant, InvitationProblem.EXPIRED
    return grant, None


def account_problem(grant: AccessGrant, user: User) -> InvitationProblem | None:
    """Why this signed-in account may not take up the invitation, if it may not."""
    if user.role == Role.PATIENT:
        return InvitationProblem.PATIENT_ACCOUNT
    if user.role != Role.CARER:
        return InvitationProblem.STAFF_ACCOUNT
    if normalise_email(user.email) != normalise_email(grant.invited_email):
        return InvitationProblem.WRONG_ACCOUNT
    return None


def accept(grant: AccessGrant, user: User) -> bool:
    """Make the grant active for ``user`` and spend the link; False if it was spent meanwhile.

    The update is conditional on the link still being unused, so two clicks racing each other
    cannot both succeed. Commits.
    """
    now = utcnow()
    result = db.session.execute(
        update(AccessGrant)
        .where(
            AccessGrant.id == grant.id,
            AccessGrant.token_hash == grant.token_hash,
            AccessGrant.accepted_at.is_(None),
            AccessGrant.revoked_at.is_(None),
        )
        .values(grantee_id=user.id, accepted_at=now, token_hash=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    audit.record("sharing.accept", grant.patient_id, f"grant {grant.id}", actor_id=user.id)
    db.session.commit()
    db.session.refresh(grant)
    return True


def account_exists(email: str) -> bool:
    return find_user(email) is not None


def create_carer(grant: AccessGrant, display_name: str, password: str, locale: str) -> User:
    """A carer account for the invited email address (flushed, not committed)."""
    user = accounts.create_account(
        normalise_email(grant.invited_email),
        Role.CARER,
        display_name.strip(),
        password=password,
        preferred_locale=locale,
    )
    audit.record("auth.account_created", detail="carer", actor_id=user.id)
    return user


# --------------------------------------------------------------------------- #
# Changing and ending grants
# --------------------------------------------------------------------------- #


def change(grant: AccessGrant, scope: str, end_date: date | None) -> bool:
    """New scope and end date; False (nothing written) if neither changed. Commits."""
    if grant.scope == scope and grant.expires_on == end_date:
        return False
    grant.scope = scope
    grant.expires_on = end_date
    audit.record("sharing.change", grant.patient_id, f"grant {grant.id}")
    db.session.commit()
    return True


def revoke(grant: AccessGrant, action: str = "sharing.revoke") -> None:
    """Stop a grant or cancel an invitation. The row is kept so the history stays readable.

    A pending invitation keeps its token digest, so its link can say it was cancelled.
    Commits.
    """
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        audit.record(action, grant.patient_id, f"grant {grant.id}")
        db.session.commit()


def shared_with(user: User) -> list[AccessGrant]:
    """Current grants to a carer, with the patients, for "Shared with me"."""
    return list(
        db.session.scalars(
            active_grants_query()
            .where(AccessGrant.grantee_id == user.id)
            .options(joinedload(AccessGrant.patient))
            .order_by(AccessGrant.accepted_at, AccessGrant.id)
        )
    )


def own_active_grant(user: User, grant_id: int) -> AccessGrant | None:
    return db.session.scalars(
        active_grants_query()
        .where(AccessGrant.id == grant_id, AccessGrant.grantee_id == user.id)
        .options(joinedload(AccessGrant.patient))
    ).first()


# --------------------------------------------------------------------------- #
# Consent to share with the care team
# --------------------------------------------------------------------------- #


def record_consent(
    patient: Patient, share: bool, user: User, method: ConsentMethod = ConsentMethod.ONLINE
) -> bool:
    """Append a dated decision and mirror it on the patient; False if nothing changed.

    ``method``: chosen online by the patient, or told in person or signed on paper and
    recorded by a professional.

    Professionals' access reads ``Patient.care_team_consent`` on every request, so a
    withdrawal closes the plan to them from their next request.
    """
    if patient.care_team_consent is share:
        return False
    db.session.add(
        ConsentRecord(
            patient_id=patient.id,
            share_with_care_team=share,
            recorded_by_id=user.id,
            method=method,
        )
    )
    patient.care_team_consent = share
    audit.record("consent.given" if share else "consent.withdrawn", patient.id)
    db.session.commit()
    return True


def consent_history(patient_id: int) -> list[tuple[ConsentRecord, User | None]]:
    """Every consent decision, newest first, with who recorded it."""
    rows = db.session.execute(
        select(ConsentRecord, User)
        .outerjoin(User, ConsentRecord.recorded_by_id == User.id)
        .where(ConsentRecord.patient_id == patient_id)
        .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc())
    )
    return [(record, user) for record, user in rows]


# --------------------------------------------------------------------------- #
# Who has looked at my plan
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ActivityRow:
    """What one person did to the plan, however many times, on one day (UTC)."""

    actor: User | None
    actor_id: int | None
    organisation: Organisation | None
    action: str
    times: int
    latest: datetime
    earliest: datetime
    detail: str | None  # only a registered system's name: it has no account to name it


def activity_query(patient_id: int, leave_out: int | None = None):
    """The activity page's rows before paging (one per person, action and day, UTC), and their
    order: newest first."""
    day = func.date(AuditEvent.occurred_at)
    system = case((AuditEvent.action == "fhir.system_read", AuditEvent.detail), else_=None)
    latest = func.max(AuditEvent.occurred_at).label("latest")
    query = (
        select(
            AuditEvent.actor_id,
            AuditEvent.organisation_id,
            AuditEvent.action,
            func.count().label("times"),
            latest,
            func.min(AuditEvent.occurred_at).label("earliest"),
            system.label("detail"),
        )
        .where(AuditEvent.patient_id == patient_id)
        .group_by(AuditEvent.actor_id, AuditEvent.organisation_id, AuditEvent.action, day, system)
    )
    if leave_out is not None:
        query = query.where(or_(AuditEvent.actor_id.is_(None), AuditEvent.actor_id != leave_out))
    return query, (latest.desc(), func.max(AuditEvent.id).desc())


def activity(
    patient_id: int,
    page: int,
    per_page: int = ACTIVITY_PAGE_SIZE,
    leave_out: int | None = None,
) -> Page:
    """One page of the patient's audit trail, newest first, each person's repeats of one action
    on one day as a single row ("looked at the care plan, 9 times"), so her own visits do not
    push the nurse's and her son's down the pages. ``leave_out`` hides one person's rows."""
    query, newest_first = activity_query(patient_id, leave_out)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    ordered = query.order_by(*newest_first)
    rows = db.session.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
    ids = {row.actor_id for row in rows if row.actor_id is not None}
    people = {}
    if ids:
        people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    org_ids = {row.organisation_id for row in rows if row.organisation_id is not None}
    organisations = {}
    if org_ids:
        organisations = {
            o.id: o
            for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))
        }
    items = [
        ActivityRow(
            people.get(row.actor_id),
            row.actor_id,
            organisations.get(row.organisation_id),
            row.action,
            row.times,
            row.latest,
            row.earliest,
            row.detail,
        )
        for row in rows
    ]
    return Page(items=items, page=page, pages=pages, total=total)
