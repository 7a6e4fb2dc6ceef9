"""Scheduled jobs (run by Celery beat, see ``portal.jobs.SCHEDULE``).

Each is safe to run twice or late: review reminders are keyed by plan, review date and stage,
so a missed day is caught up the next and a repeated run queues nothing new.
"""

from datetime import date, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload

from portal import jobs
from portal.compliance import NEW_PATIENT_DAYS
from portal.extensions import db
from portal.models import (
    AccessGrant,
    CarePlan,
    NotificationKind,
    PasswordResetToken,
    Patient,
    RegisterEntry,
    Role,
    User,
)
from portal.models.base import utcnow
from portal.notifications.outbox import Outgoing, queue, queue_many

# Reminder stages: weeks before the review, and the first day of the window each covers.
REMINDER_STAGES = ((8, 56, 15), (2, 14, 0))  # (stage, from days before, to days before)
REMINDER_BATCH = 1000
KEEP_SPENT_CODES = timedelta(days=1)
KEEP_EXPIRED_INVITATIONS = timedelta(days=30)


def local_today() -> date:
    from portal.meetings.services import local_today as today

    return today()


@jobs.job("notifications.review_reminders")
def review_reminders(today: date | None = None) -> int:
    """Remind each patient 8 and 2 weeks before their review, with the "getting ready" link.

    A plan first seen inside a window (a review booked at short notice) gets that stage's
    reminder, saying how many weeks are actually left.
    """
    today = today or local_today()
    queued = 0
    for stage, start, end in REMINDER_STAGES:
        last_id = 0
        while True:
            plans = db.session.scalars(
                select(CarePlan)
                .join(Patient, Patient.id == CarePlan.patient_id)
                .outerjoin(RegisterEntry, RegisterEntry.patient_id == Patient.id)
                .where(
                    CarePlan.id > last_id,
                    CarePlan.status == "active",
                    Patient.user_id.is_not(None),
                    RegisterEntry.left_on.is_(None),  # a person who left the register: none
                    CarePlan.next_review_date >= today + timedelta(days=end),
                    CarePlan.next_review_date <= today + timedelta(days=start),
                )
                .options(joinedload(CarePlan.patient).joinedload(Patient.user))
                .order_by(CarePlan.id)
                .limit(REMINDER_BATCH)
            ).all()
            if not plans:
                break
            rows = queue_many(db.session, [_reminder(plan, stage, today) for plan in plans])
            queued += sum(row is not None for row in rows)
            last_id = plans[-1].id
            db.session.commit()
    return queued


def _reminder(plan: CarePlan, stage: int, today: date) -> Outgoing:
    patient = plan.patient
    weeks = max((plan.next_review_date - today).days // 7, 1)
    return Outgoing(
        patient.user,
        NotificationKind.REVIEW_REMINDER,
        f"review_reminder:plan {plan.id}:{plan.next_review_date.isoformat()}:{stage}",
        patient_id=patient.id,
        params={"weeks": weeks, "link": ["preparation.preparation", {"patient_id": patient.id}]},
        locale=patient.user.preferred_locale or patient.preferred_language,
    )


NEW_PATIENT_ALERT_DAYS = 7  # the care team is told when a week of the 28 days is left
MY_PROPOSALS = {"whose": "mine", "filter": "proposals"}  # the worklist the digest links to


@jobs.job("notifications.care_team_digest")
def care_team_digest(today: date | None = None) -> int:
    """Each morning: every professional whose patients have changes waiting for review gets
    one email with how many (no names), and the care team of a new patient with no agreed plan
    a week before day 28 is told once. Returns the number queued."""
    from portal.worklist.services import Filter, my_counts

    today = today or local_today()
    items = []
    professionals = db.session.scalars(
        select(User).where(User.role == Role.PROFESSIONAL, User.active.is_(True))
    ).all()
    for user in professionals:
        waiting = my_counts(user, today)[Filter.PROPOSALS]
        if waiting:
            items.append(
                Outgoing(
                    user,
                    NotificationKind.PROPOSALS_WAITING,
                    f"{NotificationKind.PROPOSALS_WAITING}:{today.isoformat()}",
                    params={"count": waiting, "link": ["worklist.index", MY_PROPOSALS]},
                )
            )
    items += _new_patients_due(today)
    queued = sum(row is not None for row in queue_many(db.session, items))
    db.session.commit()
    return queued


def _new_patients_due(today: date) -> list[Outgoing]:
    """A new patient with no agreed plan, in the last week before day 28 (a missed morning
    is caught up): their named contact, or with none every professional of their practice."""
    first_day = today - timedelta(days=NEW_PATIENT_DAYS - 1)
    patients = db.session.scalars(
        select(Patient)
        .outerjoin(CarePlan, CarePlan.patient_id == Patient.id)
        .outerjoin(RegisterEntry, RegisterEntry.patient_id == Patient.id)
        .where(
            Patient.initial_assessment_date >= first_day,
            Patient.initial_assessment_date
            <= today - timedelta(days=NEW_PATIENT_DAYS - NEW_PATIENT_ALERT_DAYS),
            or_(CarePlan.id.is_(None), CarePlan.agreed_version == 0),
            RegisterEntry.left_on.is_(None),
        )
        .options(joinedload(Patient.plan).joinedload(CarePlan.named_contact))
    ).all()
    practice_staff: dict[int, list[User]] = {}
    items = []
    for patient in patients:
        contact = patient.plan.named_contact if patient.plan else None
        if contact is not None and contact.active:
            team = [contact]
        else:
            if patient.organisation_id not in practice_staff:
                practice_staff[patient.organisation_id] = db.session.scalars(
                    select(User).where(
                        User.role == Role.PROFESSIONAL,
                        User.active.is_(True),
                        User.organisation_id == patient.organisation_id,
                    )
                ).all()
            team = practice_staff[patient.organisation_id]
        left = NEW_PATIENT_DAYS - (today - patient.initial_assessment_date).days
        for user in team:  # the email names nobody; the worklist lists new patients
            items.append(
                Outgoing(
                    user,
                    NotificationKind.NEW_PATIENT_DUE,
                    f"{NotificationKind.NEW_PATIENT_DUE}:patient {patient.id}",
                    patient_id=patient.id,
                    params={"days": left, "link": ["worklist.index", {"filter": "new_patient"}]},
                )
            )
    return items


@jobs.job("notifications.access_ended")
def access_ended(today: date | None = None) -> int:
    """Tell carers whose access reached its end date (the day after it): the same message,
    and the same key, as when a patient stops sharing, so nobody hears it twice."""
    today = today or local_today()
    grants = db.session.scalars(
        select(AccessGrant)
        .where(
            AccessGrant.grantee_id.is_not(None),
            AccessGrant.accepted_at.is_not(None),
            AccessGrant.revoked_at.is_(None),
            AccessGrant.expires_on < today,
            AccessGrant.expires_on >= today - timedelta(days=7),  # a missed week catches up
        )
        .options(joinedload(AccessGrant.grantee))
    ).all()
    queued = 0
    for grant in grants:
        row = queue(
            db.session,
            grant.grantee,
            NotificationKind.ACCESS_ENDED,
            f"{NotificationKind.ACCESS_ENDED}:grant {grant.id}",
            patient_id=grant.patient_id,
            params={"link": ["plans.home", {}]},
        )
        queued += row is not None
    db.session.commit()
    return queued


@jobs.job("reports.summarise_all_missing")
def summarise_all_missing() -> None:
    """The nightly report summary (as ``flask report-summarise --all-missing``)."""
    from portal.reports.summary import summarise_missing

    summarise_missing(date.today())


@jobs.job("sharing.expire_invitations")
def expire_invitations() -> int:
    """Forget spent or expired sign-in codes, and the link digests of long-expired invitations.

    An expired invitation already refuses its link; after ``KEEP_EXPIRED_INVITATIONS`` the
    digest goes too (the link then reads as unknown). Returns the number of rows changed.
    """
    now = utcnow()
    codes = db.session.execute(
        PasswordResetToken.__table__.delete().where(
            PasswordResetToken.expires_at < now - KEEP_SPENT_CODES
        )
    )
    invitations = db.session.execute(
        update(AccessGrant)
        .where(
            AccessGrant.accepted_at.is_(None),
            AccessGrant.token_hash.is_not(None),
            AccessGrant.invitation_expires_at < now - KEEP_EXPIRED_INVITATIONS,
        )
        .values(token_hash=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return codes.rowcount + invitations.rowcount
