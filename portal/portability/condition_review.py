"""Long-term conditions an imported plan names: proposed, then added or turned down by a
professional of the practice, never put on the patient's list by a file alone."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import audit
from portal.extensions import db
from portal.models import Condition, ConditionProposal, Patient, ProposalStatus, User
from portal.models.base import utcnow


def pending(patient_id: int) -> list[ConditionProposal]:
    return list(
        db.session.scalars(
            select(ConditionProposal)
            .where(
                ConditionProposal.patient_id == patient_id,
                ConditionProposal.status == ProposalStatus.PROPOSED,
            )
            .options(joinedload(ConditionProposal.condition))
            .order_by(ConditionProposal.id)
        )
    )


class AlreadyDecided(Exception):
    """Someone else added or turned down this condition first."""


def decide(proposal: ConditionProposal, user: User, accept: bool) -> None:
    """Add the condition to the patient's list, or turn it down (it is not proposed again)."""
    if proposal.status != ProposalStatus.PROPOSED:
        raise AlreadyDecided
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.DECLINED
    proposal.decided_by_id, proposal.decided_at = user.id, utcnow()
    if accept:
        record = db.session.get(Patient, proposal.patient_id)
        condition = db.session.get(Condition, proposal.condition_code)
        if condition not in record.conditions:
            record.conditions.append(condition)
    action = "condition.proposal_accepted" if accept else "condition.proposal_declined"
    audit.record(action, proposal.patient_id, f"condition {proposal.condition_code}")
