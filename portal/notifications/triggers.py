"""Which changes notify whom: read from the audit events each change writes.

Every change to a plan or a grant is audited in the same transaction as the change itself
(``portal.audit``). Queuing notifications from those events, just before they are flushed,
puts each notification in that same transaction without a line in the services that make
the changes: a change that rolls back takes its notifications with it.

Recipients are read fresh and must be allowed to see what the message links to
(``portal.permissions``): a carer whose access was revoked or has ended, or the named contact
of a patient who has withdrawn consent, is told nothing (only the grantee of the grant being
changed or ended hears about that grant).
"""

import logging
import uuid

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from portal.models import AccessGrant, AuditEvent, CarePlan, NotificationKind, Patient, Role, User
from portal.notifications.outbox import queue
from portal.permissions import Action, Relation, active_grants_query, can, relation

log = logging.getLogger(__name__)
K = NotificationKind

CRISIS_ACTIONS = frozenset(
    f"{kind}.{verb}"
    for kind in ("crisis_step", "contact")
    for verb in ("create", "edit", "remove", "delete")
)


def current_carers(patient_id: int, *columns):
    """The carers whose grant for this patient is in force today (``User`` rows, or the
    given columns of them)."""
    return (
        select(*columns or (User,))
        .join(AccessGrant, AccessGrant.grantee_id == User.id)
        .where(AccessGrant.id.in_(active_grants_query().with_only_columns(AccessGrant.id)))
        .where(AccessGrant.patient_id == patient_id)
    )


def _event_id() -> str:
    return uuid.uuid4().hex


def _number(detail: str) -> int | None:
    """The id in an audit detail such as ``grant 12``."""
    last = detail.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else None


# What queuing a notification reads of its recipient (``outbox.queue_many``).
_RECIPIENT = ("active", "email", "phone", "role", "preferred_locale")


def _patient_user(session: Session, patient_id: int) -> tuple[Patient, User | None]:
    patient = session.get(Patient, patient_id)
    user = patient.user if patient else None
    if user is not None and (unread := inspect(user).unloaded.intersection(_RECIPIENT)):
        # A page read the account with the name only (who proposed what): the rest in one
        # query, not one per column.
        session.refresh(user, sorted(unread))
    return patient, user


def _tell_patient(session, audit, kind, key, endpoint, **params) -> None:
    patient, user = _patient_user(session, audit.patient_id)
    if user is None:
        return  # no account: told by the practice, as today
    queue(
        session,
        user,
        kind,
        key,
        patient_id=patient.id,
        params={"link": [endpoint, {"patient_id": patient.id}], **params},
        locale=user.preferred_locale or patient.preferred_language,
    )


def crisis_changed(session: Session, audit: AuditEvent) -> None:
    """A patient, carer or care team member of another organisation changed a crisis step or
    contact: the named contact and the other carers are told at once (one message until they
    have had it, however many edits)."""
    actor = session.get(User, audit.actor_id) if audit.actor_id else None
    if actor is None or actor.role not in (Role.PATIENT, Role.CARER, Role.PROFESSIONAL):
        return
    plan = session.scalar(select(CarePlan).where(CarePlan.patient_id == audit.patient_id))
    if plan is None:
        return
    if actor.role == Role.PROFESSIONAL and relation(actor, plan.patient) == Relation.PROFESSIONAL:
        return  # the practice's change is agreed as it is made; a member's is a proposal
    recipients = []
    if plan.named_contact is not None:
        recipients.append((plan.named_contact, "staff", "contingency.overview"))
    _crisis_news(session, audit, actor, recipients)


def _crisis_news(session: Session, audit: AuditEvent, actor: User, recipients: list) -> None:
    """Tell ``recipients`` and the patient's carers that the crisis plan changed.

    The carers may keep a printed crisis sheet: whenever what it shows changes, they hear.
    """
    key = f"crisis_changed:patient {audit.patient_id}:{_event_id()}"
    carers = session.scalars(current_carers(audit.patient_id))
    recipients = [*recipients, *((carer, "carer", "contingency.crisis") for carer in carers)]
    patient = session.get(Patient, audit.patient_id)
    for user, audience, endpoint in recipients:
        if user.id == actor.id or not can(user, Action.VIEW_CRISIS, patient):
            continue  # e.g. the named contact of a patient who has withdrawn consent
        if _already_waiting(session, user, audit.patient_id, K.CRISIS_CHANGED):
            continue
        queue(
            session,
            user,
            K.CRISIS_CHANGED,
            key,
            patient_id=audit.patient_id,
            params={"audience": audience, "link": [endpoint, {"patient_id": audit.patient_id}]},
        )


def crisis_reviewed(session: Session, audit: AuditEvent) -> None:
    """A professional decided on crisis changes between meetings: the patient is told that
    a new version is agreed, and the carers that the crisis plan changed."""
    key = f"plan_agreed:patient {audit.patient_id}:{audit.detail}"
    _tell_patient(session, audit, K.PLAN_AGREED, key, "contingency.crisis", crisis=True)
    actor = session.get(User, audit.actor_id) if audit.actor_id else None
    if actor is not None:
        _crisis_news(session, audit, actor, [])


def _already_waiting(session: Session, user: User, patient_id: int, kind: K) -> bool:
    """A message of this kind about this patient is still waiting: it covers this news too."""
    from portal.models import Notification, NotificationStatus

    return (
        session.scalar(
            select(Notification.id).where(
                Notification.user_id == user.id,
                Notification.patient_id == patient_id,
                Notification.kind == kind,
                Notification.status == NotificationStatus.PENDING,
            )
        )
        is not None
    )


def _tell_named_contact(session, audit, kind, key, needs: Action, endpoint: str) -> None:
    """Queue ``kind`` for the plan's named contact, if there is one who may still ``needs``."""
    plan = session.scalar(select(CarePlan).where(CarePlan.patient_id == audit.patient_id))
    if plan is None or plan.named_contact is None:
        return
    if not can(plan.named_contact, needs, session.get(Patient, audit.patient_id)):
        return
    queue(
        session,
        plan.named_contact,
        kind,
        key,
        patient_id=audit.patient_id,
        params={"link": [endpoint, {"patient_id": audit.patient_id}]},
    )


def named_contact_request(session: Session, audit: AuditEvent) -> None:
    key = f"named_contact_request:patient {audit.patient_id}:{_event_id()}"
    _tell_named_contact(
        session, audit, K.NAMED_CONTACT_REQUEST, key, Action.VIEW_PLAN, "meetings.named_contact"
    )


def meeting_booked(session: Session, audit: AuditEvent) -> None:
    kind = K.MEETING_MOVED if audit.action == "meeting.reschedule" else K.MEETING_BOOKED
    _tell_patient(session, audit, kind, f"{kind}:{audit.detail}:{_event_id()}", "plans.plan")


def plan_agreed(session: Session, audit: AuditEvent) -> None:
    key = f"plan_agreed:patient {audit.patient_id}:{audit.detail}"
    _tell_patient(session, audit, K.PLAN_AGREED, key, "plans.plan")


def results_shared(session: Session, audit: AuditEvent) -> None:
    """One message for several results shared together (until the first has been sent)."""
    patient, user = _patient_user(session, audit.patient_id)
    if user is None or _already_waiting(session, user, patient.id, K.RESULTS_SHARED):
        return
    key = f"results_shared:patient {patient.id}:{_event_id()}"
    _tell_patient(session, audit, K.RESULTS_SHARED, key, "meetings.results")


def invitation_accepted(session: Session, audit: AuditEvent) -> None:
    key = f"invitation_accepted:{audit.detail}"
    _tell_patient(session, audit, K.INVITATION_ACCEPTED, key, "sharing.manage")


def access_changed(session: Session, audit: AuditEvent) -> None:
    """Only the carer whose grant this is; an invitation not yet accepted has no one to tell."""
    grant_id = _number(audit.detail)
    grant = session.get(AccessGrant, grant_id) if grant_id else None
    if grant is None or grant.grantee is None:
        return
    ended = audit.action == "sharing.revoke"
    kind = K.ACCESS_ENDED if ended else K.ACCESS_CHANGED
    suffix = "" if ended else f":{_event_id()}"
    queue(
        session,
        grant.grantee,
        kind,
        f"{kind}:grant {grant.id}{suffix}",
        patient_id=grant.patient_id,
        params={"link": ["plans.home", {}]},
    )


def conversation_message(session: Session, audit: AuditEvent) -> None:
    """A new message: the other side is told (no words of it, only that there is one).

    The patient's side writing tells the named contact (or, with none, whoever is handling the
    conversation); the care team writing tells the patient and the carer who started it.
    Nobody is told of their own message, and only people who may still read it are told.
    """
    from portal.models import Conversation

    conversation = session.get(Conversation, _number(audit.detail) or 0)
    actor = session.get(User, audit.actor_id) if audit.actor_id else None
    if conversation is None or actor is None:
        return
    patient = session.get(Patient, conversation.patient_id)
    if actor.role == Role.PROFESSIONAL:
        candidates = [patient.user, session.get(User, conversation.started_by_id)]
    else:
        plan = session.scalar(select(CarePlan).where(CarePlan.patient_id == patient.id))
        contact = plan.named_contact if plan else None
        candidates = [contact or session.get(User, conversation.handler_id or 0)]
    told = set()
    for user in candidates:
        if user is None or user.id in (actor.id, *told):
            continue
        if not can(user, Action.READ_CONVERSATIONS, patient):
            continue
        told.add(user.id)
        if _already_waiting(session, user, patient.id, K.CONVERSATION_MESSAGE):
            continue  # the message still waiting says the same
        queue(
            session,
            user,
            K.CONVERSATION_MESSAGE,
            f"conversation_message:conversation {conversation.id}:{_event_id()}",
            patient_id=patient.id,
            params={
                "link": [
                    "conversations.thread",
                    {"patient_id": patient.id, "conversation_id": conversation.id},
                ]
            },
            locale=user.preferred_locale or (
                patient.preferred_language if user.id == patient.user_id else None
            ),
        )


def emergency_opened(session: Session, audit: AuditEvent) -> None:
    """Urgent care opened the crisis summary: the named contact is told at once."""
    key = f"emergency_access:{audit.detail}"
    _tell_named_contact(
        session, audit, K.EMERGENCY_ACCESS, key, Action.VIEW_CRISIS, "contingency.crisis"
    )


HANDLERS = {
    "conversation.start": conversation_message,
    "conversation.reply": conversation_message,
    **dict.fromkeys(CRISIS_ACTIONS, crisis_changed),
    "named_contact.request": named_contact_request,
    "meeting.schedule": meeting_booked,
    "meeting.reschedule": meeting_booked,
    "plan_version.create": plan_agreed,
    "contingency.changes_review": crisis_reviewed,
    "result.share": results_shared,
    "sharing.accept": invitation_accepted,
    "sharing.change": access_changed,
    "sharing.revoke": access_changed,
    "emergency.open": emergency_opened,
}


@event.listens_for(Session, "before_flush")
def _notify_from_audit_events(session: Session, _context, _instances) -> None:
    audits = [
        row for row in session.new if isinstance(row, AuditEvent) and row.action in HANDLERS
    ]
    if not audits:
        return
    with session.no_autoflush:
        for audit in audits:
            try:
                HANDLERS[audit.action](session, audit)
            except Exception:  # a notification must never stop the change it is about
                log.exception("Could not queue notifications for %s", audit.action)
