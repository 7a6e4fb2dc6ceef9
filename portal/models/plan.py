"""The care plan and the parts the patient writes: needs, goals, wishes, preparation."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of, utcnow
from portal.models.patient import Patient
from portal.models.user import User

TEXT_LIMIT = 2000
SHORT_LIMIT = 200


class Domain(StrEnum):
    """The whole-person domains named in the commissioning document."""

    HEALTH = "health"
    PERSONAL = "personal"
    FAMILY = "family"
    SOCIAL = "social"
    HOME = "home"
    ECONOMIC = "economic"
    EDUCATIONAL = "educational"
    MENTAL_HEALTH = "mental_health"
    CULTURAL = "cultural"


class GoalStatus(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    WITHDRAWN = "withdrawn"


class WishKind(StrEnum):
    PLACE_OF_CARE = "place_of_care"
    HOW_CARED_FOR = "how_cared_for"
    RELIGIOUS_CULTURAL = "religious_cultural"
    THINGS_TO_AVOID = "things_to_avoid"
    END_OF_LIFE = "end_of_life"


class PlanFormat(StrEnum):
    """How the patient prefers to receive their plan."""

    ELECTRONIC = "electronic"
    PAPER = "paper"


class Reviewable:
    """Content the patient or carer may change between meetings.

    ``pending_review`` marks a change not yet agreed at a review meeting; the agreed text lives
    in the latest ``PlanVersion`` snapshot. ``version`` guards against lost updates: a form
    carries the version it was read at and a save at a stale version is refused.

    ``written_with_patient`` marks the last save as a professional's, written with the patient
    in clinic and agreed as written (by ``updated_by`` at ``updated_at``).
    """

    pending_review: Mapped[bool] = mapped_column(default=True)
    written_with_patient: Mapped[bool] = mapped_column(default=False, server_default=false())
    language: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def updated_by(cls) -> Mapped[User | None]:
        return relationship(foreign_keys=[cls.updated_by_id])

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.version}


class CarePlan(TimestampMixin, Base):
    """One live plan per patient."""

    __tablename__ = "care_plans"
    __table_args__ = (one_of("preferred_format", PlanFormat),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    named_contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    named_contact_request: Mapped[str | None] = mapped_column(Text)
    named_contact_requested_at: Mapped[datetime | None]
    last_review_date: Mapped[date | None]
    next_review_date: Mapped[date | None]
    complex_needs: Mapped[bool] = mapped_column(default=False)
    review_interval_months: Mapped[int] = mapped_column(default=12)
    preferred_format: Mapped[str] = mapped_column(String(20), default=PlanFormat.ELECTRONIC)
    paper_copy_given_on: Mapped[date | None]
    patient_feedback: Mapped[str | None] = mapped_column(Text)
    contingency_reviewed_on: Mapped[date | None]
    # Only a professional saying so marks the crisis plan reviewed (not any meeting).
    contingency_reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agreed_version: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship(back_populates="plan")
    named_contact: Mapped[User | None] = relationship(foreign_keys=[named_contact_id])
    contingency_reviewed_by: Mapped[User | None] = relationship(
        foreign_keys=[contingency_reviewed_by_id]
    )
    needs: Mapped[list["NeedsSection"]] = relationship(
        back_populates="plan", order_by="NeedsSection.id"
    )
    goals: Mapped[list["Goal"]] = relationship(back_populates="plan", order_by="Goal.id")
    wishes: Mapped[list["Wish"]] = relationship(back_populates="plan", order_by="Wish.id")
    crisis_steps: Mapped[list["CrisisStep"]] = relationship(  # noqa: F821
        order_by="(CrisisStep.position, CrisisStep.id)"
    )
    usual_state: Mapped["UsualState | None"] = relationship()  # noqa: F821
    contacts: Mapped[list["Contact"]] = relationship(  # noqa: F821
        order_by="(Contact.position, Contact.id)"
    )
    care_team: Mapped[list["CareTeamMember"]] = relationship(  # noqa: F821
        order_by="(CareTeamMember.position, CareTeamMember.id)"
    )


class NeedsSection(Reviewable, Base):
    """The patient's own words about one whole-person domain."""

    __tablename__ = "needs_sections"
    __table_args__ = (UniqueConstraint("plan_id", "domain"), one_of("domain", Domain))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    domain: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[CarePlan] = relationship(back_populates="needs")


class Goal(Reviewable, TimestampMixin, Base):
    __tablename__ = "goals"
    __table_args__ = (one_of("status", GoalStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    title: Mapped[str] = mapped_column(String(SHORT_LIMIT))
    why_it_matters: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default=GoalStatus.PROPOSED)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agreed_at: Mapped[datetime | None]

    plan: Mapped[CarePlan] = relationship(back_populates="goals")
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    agreed_by: Mapped[User | None] = relationship(foreign_keys=[agreed_by_id])


class Wish(Reviewable, Base):
    __tablename__ = "wishes"
    __table_args__ = (UniqueConstraint("plan_id", "kind"), one_of("kind", WishKind))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[CarePlan] = relationship(back_populates="wishes")


class Preparation(Base):
    """Getting ready for the next review: filled in at home, read at the meeting.

    The open preparation has no meeting; recording a meeting attaches it to that meeting.
    """

    __tablename__ = "preparations"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("review_meetings.id"))
    questions: Mapped[str] = mapped_column(Text, default="")
    what_changed: Mapped[str] = mapped_column(Text, default="")
    how_i_feel: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(10))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class SharedResult(TimestampMixin, Base):
    """A test result shared before the meeting, with a plain-language note (results letter)."""

    __tablename__ = "shared_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    name: Mapped[str] = mapped_column(String(SHORT_LIMIT))
    value: Mapped[str] = mapped_column(String(100))
    taken_on: Mapped[date | None]
    explanation: Mapped[str] = mapped_column(Text, default="")
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
