"""Stored monthly summaries of the commissioner's report: raw counts, never shown as they are.

A closed month is summarised once (``flask --app portal report-summarise``) and then read from
here, which is fast whatever the number of patients and keeps the month as it stood when it
was summarised: fields that keep no history (needs text, crisis steps, named contact) are not
read again later. The counts are un-suppressed; ``portal.reports.suppression`` publishes them.
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class MonthlySummary(Base):
    """One summarised month: its cells are complete, including zero counts left out."""

    __tablename__ = "monthly_summaries"

    month: Mapped[date] = mapped_column(primary_key=True)  # first day of the month
    calculated_at: Mapped[datetime]
    # The day the new-patient figures were read: they are final once the 28 days after the
    # month have passed (meetings held in them count), and are read again until then.
    new_patients_on: Mapped[date]


class MonthlySummaryCell(Base):
    """People and those meeting the requirements in one group of one organisation.

    ``dimension`` is a breakdown (``condition``, ``sex``, ...), ``total``, ``goal`` (``people``
    counts goals by status), ``new`` (new patients and those with a plan within 28 days) or
    ``month`` (the uptake of an earlier month as read when this one was summarised).
    """

    __tablename__ = "monthly_summary_cells"

    month: Mapped[date] = mapped_column(
        ForeignKey("monthly_summaries.month", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    people: Mapped[int]
    compliant: Mapped[int]
