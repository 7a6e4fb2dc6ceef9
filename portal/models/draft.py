"""What a person had typed when their session ended, kept for them to take back."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin


class KeptForm(TimestampMixin, Base):
    """The fields of one form, for one account, until ``expires_at``; offered back on the page
    at ``path`` after the person signs in again, and removed when taken back or discarded."""

    __tablename__ = "kept_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    fields: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime]
