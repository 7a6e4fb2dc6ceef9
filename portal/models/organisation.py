from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin


class Organisation(TimestampMixin, Base):
    """A GP practice or provider, identified by its ODS code."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ods_code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(400))
    # How many working days the care team aims to take to answer a patient's message.
    reply_working_days: Mapped[int] = mapped_column(default=2, server_default="2")
