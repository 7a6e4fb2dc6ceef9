"""Indexes that carry the professional's worklist across a practice of thousands.

Changes waiting for review are few beside everything agreed, so each table holding
reviewable content has a partial index of just its waiting rows: the worklist finds every
plan with something to review without reading the agreed rows at all.
"""

from sqlalchemy import Index

from portal.models.contingency import Contact, CrisisStep, UsualState
from portal.models.plan import Goal, NeedsSection, Wish

REVIEWABLE = (NeedsSection, Goal, Wish, CrisisStep, UsualState, Contact)

for _model in REVIEWABLE:
    Index(
        f"ix_{_model.__tablename__}_waiting",
        _model.plan_id,
        postgresql_where=_model.pending_review.is_(True),
        sqlite_where=_model.pending_review.is_(True),
    )
