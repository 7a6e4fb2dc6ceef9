"""The offer of a care plan to each person on the register, and staff corrections of their
details. Each change is an audit event on the patient, so they see it in "who has looked at
my plan"."""

from datetime import date, timedelta

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import CarePlan, OfferOutcome, Patient, PlanOffer, User
from portal.register.importer import set_conditions

OFFER_CYCLE = timedelta(days=365)  # after a decline or no response, offer again a year later

NOT_OFFERED = "not_offered"
OFFERED = "offered"


def latest_offer(patient_id: int) -> PlanOffer | None:
    return db.session.scalars(
        select(PlanOffer)
        .where(PlanOffer.patient_id == patient_id)
        .order_by(PlanOffer.offered_on.desc(), PlanOffer.id.desc())
        .limit(1)
    ).first()


def state(offer: PlanOffer | None) -> str:
    """``not_offered``, ``offered`` (no answer yet) or the answer (an ``OfferOutcome``)."""
    if offer is None:
        return NOT_OFFERED
    return offer.outcome or OFFERED


def offer_again_from(offer: PlanOffer | None) -> date | None:
    """When a declined or unanswered offer is due to be made again."""
    if offer is None or offer.outcome not in (OfferOutcome.DECLINED, OfferOutcome.NO_RESPONSE):
        return None
    return (offer.outcome_on or offer.offered_on) + OFFER_CYCLE


def may_offer(offer: PlanOffer | None) -> bool:
    """A new offer can be recorded unless one is waiting for an answer or was accepted."""
    return state(offer) not in (OFFERED, OfferOutcome.ACCEPTED)


def record_offer(patient: Patient, method: str, offered_on: date, user: User) -> bool:
    if not may_offer(latest_offer(patient.id)):
        return False
    offer = PlanOffer(
        patient_id=patient.id,
        organisation_id=patient.organisation_id,
        offered_on=offered_on,
        method=method,
        offered_by_id=user.id,
    )
    db.session.add(offer)
    db.session.flush()
    audit.record("offer.recorded", patient.id, f"offer {offer.id}: {method}")
    db.session.commit()
    return True


def ensure_plan(patient: Patient) -> CarePlan:
    """The patient's plan, started empty if they have none, so their care team can open it."""
    plan = db.session.scalar(select(CarePlan).where(CarePlan.patient_id == patient.id))
    if plan is None:
        plan = CarePlan(patient_id=patient.id)
        db.session.add(plan)
        db.session.flush()
        audit.record("plan.create", patient.id, f"plan {plan.id}")
    return plan


def record_outcome(
    patient: Patient, outcome: str, outcome_on: date, reason: str | None, user: User
) -> bool:
    """The answer to the open offer; accepting starts the plan. False when none is open."""
    offer = latest_offer(patient.id)
    if state(offer) != OFFERED:
        return False
    offer.outcome = outcome
    offer.outcome_on = max(outcome_on, offer.offered_on)
    offer.declined_reason = reason if outcome == OfferOutcome.DECLINED and reason else None
    if outcome == OfferOutcome.ACCEPTED:
        ensure_plan(patient)
    audit.record("offer.outcome", patient.id, f"offer {offer.id}: {outcome}")
    db.session.commit()
    return True


DETAILS = (
    "initial_assessment_date",
    "preferred_language",
    "interpreter_needed",
    "communication_needs",
    "ethnicity_category",
)


def correct_details(patient: Patient, values: dict, conditions: list[str]) -> list[str]:
    """Staff correct what the register holds; the names of the changed fields are audited."""
    changed = [name for name in DETAILS if getattr(patient, name) != values[name]]
    for name in changed:
        setattr(patient, name, values[name])
    if sorted(conditions) != sorted(c.code for c in patient.conditions):
        set_conditions(patient.id, sorted(set(conditions)))
        db.session.expire(patient, ["conditions"])
        changed.append("conditions")
    if changed:
        audit.record("register.details_corrected", patient.id, ", ".join(changed))
    db.session.commit()
    return changed
