"""Contingency planning: what to do if things get worse, and the usual state of health."""

from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, one_of
from portal.models.plan import Reviewable


class CrisisLevel(StrEnum):
    GREEN = "green"  # non-urgent
    AMBER = "amber"  # urgent
    RED = "red"  # emergency


class ContactKind(StrEnum):
    NEXT_OF_KIN = "next_of_kin"
    CARER = "carer"
    PRACTICE = "practice"
    OUT_OF_HOURS = "out_of_hours"
    SPECIALIST = "specialist"
    OTHER = "other"


class RemovableMixin:
    """A removal asked for by the patient or a carer, waiting to be agreed at the review.

    Only something that was certainly never agreed is deleted at once; anything else keeps its
    row with ``removal_proposed`` set, so the professional sees the removal as a proposal.
    Agreeing it deletes the row; declining it clears the flag.
    """

    removal_proposed: Mapped[bool] = mapped_column(default=False, server_default=false())


class CrisisStep(RemovableMixin, Reviewable, Base):
    __tablename__ = "crisis_steps"
    __table_args__ = (one_of("level", CrisisLevel),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    level: Mapped[str] = mapped_column(String(10))
    signs: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text)
    who_to_call: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)


class UsualState(Reviewable, Base):
    """Baseline facts an attending paramedic or out-of-hours doctor needs in a crisis."""

    __tablename__ = "usual_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), unique=True)
    mobility: Mapped[str] = mapped_column(Text, default="")
    breathing: Mapped[str] = mapped_column(Text, default="")
    memory_understanding: Mapped[str] = mapped_column(Text, default="")
    usual_readings: Mapped[str] = mapped_column(Text, default="")
    communication: Mapped[str] = mapped_column(Text, default="")
    medicines: Mapped[str] = mapped_column(Text, default="")
    allergies: Mapped[str] = mapped_column(Text, default="")
    respect_form_location: Mapped[str] = mapped_column(String(200), default="")
    dnacpr_location: Mapped[str] = mapped_column(String(200), default="")
    lpa_location: Mapped[str] = mapped_column(String(200), default="")
    rescue_medication_location: Mapped[str] = mapped_column(String(200), default="")


class Contact(RemovableMixin, Reviewable, Base):
    """Someone to ring: next of kin, carers, the practice, out-of-hours, specialist lines."""

    __tablename__ = "contacts"
    __table_args__ = (one_of("kind", ContactKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    relationship_to_patient: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40))
    when_to_call: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)


class CareTeamMember(Base):
    """A professional involved in the patient's care, besides the named contact."""

    __tablename__ = "care_team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    availability: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Professionals edit the team together: a form carries the version it was read at.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}
