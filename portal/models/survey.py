"""Compliance evidence: satisfaction surveys and sample audits (contract requirement 8)."""

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin


class SurveyResponse(TimestampMixin, Base):
    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meetings.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    involved: Mapped[int]  # 1..5: involved as much as I wanted
    agreed_plan: Mapped[int]  # 1..5: we agreed a plan together
    confidence: Mapped[int]  # 1..5: confident managing my health
    comment: Mapped[str] = mapped_column(Text, default="")  # stays within the organisation
    language: Mapped[str | None] = mapped_column(String(10))  # the comment's, for lang=


class PlanAudit(TimestampMixin, Base):
    """One sample audit of an organisation's plans."""

    __tablename__ = "plan_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class PlanAuditItem(Base):
    __tablename__ = "plan_audit_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("plan_audits.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"))
    meets_requirements: Mapped[bool | None]
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
