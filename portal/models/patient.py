from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of
from portal.models.organisation import Organisation
from portal.models.user import User


class Condition(Base):
    """A long-term condition (Appendix 1), keyed by SNOMED CT concept id."""

    __tablename__ = "conditions"

    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


patient_conditions = Table(
    "patient_conditions",
    Base.metadata,
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True),
    Column("condition_code", ForeignKey("conditions.code"), primary_key=True),
)


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class EthnicCategory(StrEnum):
    """NHS Data Dictionary ethnic categories (2001 census groups), as readable codes."""

    WHITE_BRITISH = "white_british"
    WHITE_IRISH = "white_irish"
    WHITE_OTHER = "white_other"
    MIXED_WHITE_BLACK_CARIBBEAN = "mixed_white_black_caribbean"
    MIXED_WHITE_BLACK_AFRICAN = "mixed_white_black_african"
    MIXED_WHITE_ASIAN = "mixed_white_asian"
    MIXED_OTHER = "mixed_other"
    ASIAN_INDIAN = "asian_indian"
    ASIAN_PAKISTANI = "asian_pakistani"
    ASIAN_BANGLADESHI = "asian_bangladeshi"
    ASIAN_OTHER = "asian_other"
    BLACK_CARIBBEAN = "black_caribbean"
    BLACK_AFRICAN = "black_african"
    BLACK_OTHER = "black_other"
    CHINESE = "chinese"
    OTHER = "other"
    NOT_STATED = "not_stated"


class NhsNumberStatus(StrEnum):
    """How far the NHS number was checked against the national register (PDS), as the GP
    system or NHS login reports it: the UK Core NHS number verification status (codes 01-06,
    08; 07, "number not present", cannot apply to a record that has a number)."""

    VERIFIED = "verified"  # 01
    NOT_TRACED = "not_traced"  # 02
    TRACE_REQUIRED = "trace_required"  # 03
    NO_MATCH = "no_match"  # 04: traced, no match or several matches
    NEEDS_RESOLVING = "needs_resolving"  # 05: traced, the number or details conflict
    IN_PROGRESS = "in_progress"  # 06
    POSTPONED = "postponed"  # 08: a baby under six weeks old


class PrintSize(StrEnum):
    """The print the patient's copies of the plan come in, chosen by them or recorded by a
    professional: standard, large print (at least 16 pt, wider line spacing, one column), or
    easy read (large print with plain headings)."""

    STANDARD = "standard"
    LARGE = "large"
    EASY_READ = "easy_read"


class Patient(TimestampMixin, Base):
    __tablename__ = "patients"
    __table_args__ = (
        one_of("sex", Sex),
        one_of("ethnicity_category", EthnicCategory),
        one_of("nhs_number_status", NhsNumberStatus),
        one_of("print_size", PrintSize),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    nhs_number: Mapped[str] = mapped_column(String(10), unique=True)
    nhs_number_status: Mapped[str] = mapped_column(
        String(20),
        default=NhsNumberStatus.NOT_TRACED,
        server_default=NhsNumberStatus.NOT_TRACED.value,
    )
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date]
    sex: Mapped[str] = mapped_column(String(10))
    ethnicity_category: Mapped[str] = mapped_column(String(40), default=EthnicCategory.NOT_STATED)
    preferred_language: Mapped[str] = mapped_column(String(10), default="en")
    interpreter_needed: Mapped[bool] = mapped_column(default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(40))
    communication_needs: Mapped[str | None] = mapped_column(Text)
    print_size: Mapped[str] = mapped_column(
        String(20), default=PrintSize.STANDARD, server_default=PrintSize.STANDARD.value
    )
    initial_assessment_date: Mapped[date | None]
    # Latest consent decision to share the plan with the care team (history in ConsentRecord).
    care_team_consent: Mapped[bool | None]
    # Whether urgent care (ambulance, NHS 111, out of hours) may open the crisis summary.
    emergency_access: Mapped[bool] = mapped_column(default=True, server_default=true())

    user: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation] = relationship()
    conditions: Mapped[list[Condition]] = relationship(
        secondary=patient_conditions, order_by=Condition.name
    )
    plan: Mapped["CarePlan | None"] = relationship(back_populates="patient")  # noqa: F821

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day`` (a 29 February birthday counts from 1 March)."""
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int:
        return self.age_on(date.today())


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class ConditionProposal(TimestampMixin, Base):
    """A long-term condition another system's plan says the patient has, waiting for a
    professional of the practice to add it to the patient's list or turn it down.

    A condition on the list shapes the care plan (and the report's counts), so nothing a file
    says joins it without a clinician's decision; one turned down is not proposed again.
    """

    __tablename__ = "condition_proposals"
    __table_args__ = (one_of("status", ProposalStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    condition_code: Mapped[str] = mapped_column(ForeignKey("conditions.code"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10), default=ProposalStatus.PROPOSED)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    condition: Mapped[Condition] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
