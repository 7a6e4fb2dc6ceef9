"""Indexes that carry the professional's worklist across a practice of thousands.

Changes waiting for review are few beside everything agreed, so each table holding
reviewable content has a partial index of just its waiting rows: the worklist finds every
plan with something to review without reading the agreed rows at all.
"""

from sqlalchemy import Index

from portal.models.contingency import Contact, CrisisStep, UsualState
from portal.models.patient import Patient
from portal.models.plan import CarePlan, Goal, NeedsSection, Wish
from portal.models.register import PlanOffer

REVIEWABLE = (NeedsSection, Goal, Wish, CrisisStep, UsualState, Contact)

for _model in REVIEWABLE:
    Index(
        f"ix_{_model.__tablename__}_waiting",
        _model.plan_id,
        postgresql_where=_model.pending_review.is_(True),
        sqlite_where=_model.pending_review.is_(True),
    )

# The practice's patients read from one index, without their table: the worklist's sort and
# filters need only these columns of each (PostgreSQL's index-only scan).
Index(
    "ix_patients_worklist",
    Patient.organisation_id,
    Patient.id,
    postgresql_include=[
        "family_name",
        "given_name",
        "care_team_consent",
        "initial_assessment_date",
    ],
)
# The few plans whose patient asked for a different named contact.
Index(
    "ix_care_plans_contact_request",
    CarePlan.id,
    postgresql_where=CarePlan.named_contact_request.is_not(None),
    sqlite_where=CarePlan.named_contact_request.is_not(None),
)
# A patient's offers latest first: whether the last one was declined is read from the index.
Index("ix_plan_offers_latest", PlanOffer.patient_id, PlanOffer.offered_on, PlanOffer.id)
