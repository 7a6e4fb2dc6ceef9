"""What each imported FHIR resource became here, so importing again changes nothing."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class ImportLink(Base):
    """One business identifier from a sending system, and the item it was imported as.

    ``content_hash`` is what the resource said when it was last imported: the same content
    again is unchanged; an item deleted or asked to be removed here is never brought back.
    """

    __tablename__ = "fhir_import_links"
    __table_args__ = (UniqueConstraint("plan_id", "system", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(250))
    value: Mapped[str] = mapped_column(String(250))
    item_kind: Mapped[str] = mapped_column(String(30))
    item_id: Mapped[int | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
