from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin, one_of


class OrganisationKind(StrEnum):
    """What an organisation does: the practice holds the register, urgent care attends crises."""

    GP_PRACTICE = "gp_practice"
    COMMUNITY_HEALTH = "community_health"
    HOSPITAL = "hospital"
    MENTAL_HEALTH = "mental_health"
    SOCIAL_CARE = "social_care"
    HOSPICE = "hospice"
    VOLUNTARY = "voluntary"
    URGENT_CARE = "urgent_care"  # ambulance service, NHS 111, out-of-hours GPs


class Organisation(TimestampMixin, Base):
    """A GP practice or another provider of care, identified by its ODS code."""

    __tablename__ = "organisations"
    __table_args__ = (one_of("kind", OrganisationKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ods_code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(20),
        default=OrganisationKind.GP_PRACTICE,
        server_default=OrganisationKind.GP_PRACTICE.value,
    )
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(400))
    # How many working days the care team aims to take to answer a patient's message.
    reply_working_days: Mapped[int] = mapped_column(default=2, server_default="2")

    @property
    def urgent_care(self) -> bool:
        return self.kind == OrganisationKind.URGENT_CARE
