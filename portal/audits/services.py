"""Drawing and recording sample audits of an organisation's plans.

Only plans of patients who consent to share with the care team are sampled: the auditor reads
each plan as a member of the care team, and without that consent no professional may open it.
An audit of those plans is still a fair check of how the organisation plans care.
"""

from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from portal import audit
from portal.compliance import CRITERIA, assess, has_condition, load_evidence
from portal.extensions import db
from portal.models import CarePlan, Patient, PlanAudit, PlanAuditItem, User


def auditable_plans(organisation_id: int):
    return (
        select(CarePlan.id)
        .join(Patient, Patient.id == CarePlan.patient_id)
        .where(
            Patient.organisation_id == organisation_id,
            Patient.care_team_consent.is_(True),
            has_condition(),
        )
    )


def draw_sample(auditor: User, size: int, today: date | None = None) -> PlanAudit | None:
    """A new audit of up to ``size`` plans picked at random; None if there is nothing to audit."""
    today = today or date.today()
    plan_ids = list(
        db.session.scalars(
            auditable_plans(auditor.organisation_id).order_by(func.random()).limit(size)
        )
    )
    if not plan_ids:
        return None
    sample = PlanAudit(organisation_id=auditor.organisation_id, auditor_id=auditor.id)
    db.session.add(sample)
    db.session.flush()
    for plan_id, (plan, meetings, consents) in load_evidence(plan_ids).items():
        computed = assess(plan, meetings, consents, today)
        db.session.add(
            PlanAuditItem(
                audit_id=sample.id,
                plan_id=plan_id,
                criteria={key: {"computed": computed[key], "found": None} for key in CRITERIA},
            )
        )
    audit.record("plan_audit.create", detail=f"audit {sample.id}, {len(plan_ids)} plans")
    db.session.commit()
    return sample


def audits_of(organisation_id: int) -> list[tuple[PlanAudit, str, int, int, int]]:
    """The organisation's audits, newest first: (audit, auditor, sampled, checked, meeting)."""
    item = PlanAuditItem
    return list(
        db.session.execute(
            select(
                PlanAudit,
                User.display_name,
                func.count(item.id),
                func.count(item.meets_requirements),
                func.coalesce(func.sum(case((item.meets_requirements.is_(True), 1), else_=0)), 0),
            )
            .join(User, User.id == PlanAudit.auditor_id)
            .outerjoin(item, item.audit_id == PlanAudit.id)
            .where(PlanAudit.organisation_id == organisation_id)
            .group_by(PlanAudit.id, User.display_name)
            .order_by(PlanAudit.created_at.desc(), PlanAudit.id.desc())
        )
    )


def audit_for(organisation_id: int, audit_id: int) -> PlanAudit | None:
    return db.session.scalar(
        select(PlanAudit).where(
            PlanAudit.id == audit_id, PlanAudit.organisation_id == organisation_id
        )
    )


def items_of(sample: PlanAudit) -> list[tuple[PlanAuditItem, Patient]]:
    return list(
        db.session.execute(
            select(PlanAuditItem, Patient)
            .join(CarePlan, CarePlan.id == PlanAuditItem.plan_id)
            .join(Patient, Patient.id == CarePlan.patient_id)
            .where(PlanAuditItem.audit_id == sample.id)
            .order_by(Patient.family_name, Patient.given_name, PlanAuditItem.id)
        ).tuples()
    )


def item_for(sample: PlanAudit, item_id: int) -> PlanAuditItem | None:
    return db.session.scalar(
        select(PlanAuditItem).where(
            PlanAuditItem.id == item_id, PlanAuditItem.audit_id == sample.id
        )
    )


def plan_of(item: PlanAuditItem) -> CarePlan:
    return db.session.scalar(
        select(CarePlan).where(CarePlan.id == item.plan_id).options(joinedload(CarePlan.patient))
    )


def computed_now(item: PlanAuditItem, today: date | None = None) -> dict[str, bool]:
    plan, meetings, consents = load_evidence([item.plan_id])[item.plan_id]
    return assess(plan, meetings, consents, today or date.today())


def record_check(item: PlanAuditItem, patient_id: int, computed: dict, found: dict, notes: str):
    """Keep what the data showed beside what the auditor found; the plan meets the
    requirements only if the auditor found every criterion met."""
    item.criteria = {key: {"computed": computed[key], "found": found[key]} for key in CRITERIA}
    item.meets_requirements = all(found.values())
    item.notes = notes
    audit.record("plan_audit.check", patient_id, f"audit item {item.id}")
    db.session.commit()
