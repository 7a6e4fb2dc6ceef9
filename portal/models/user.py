from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of
from portal.models.organisation import Organisation


class Role(StrEnum):
    PATIENT = "patient"
    CARER = "carer"
    PROFESSIONAL = "professional"
    COMMISSIONER = "commissioner"
    ADMIN = "admin"
    # The register, patient details, offers and activation letters of one organisation.
    PRACTICE_ADMIN = "practice_admin"


STAFF_ROLES = frozenset({Role.PROFESSIONAL, Role.COMMISSIONER, Role.ADMIN, Role.PRACTICE_ADMIN})


class User(UserMixin, TimestampMixin, Base):
    """A person who signs in. What they may see is decided per patient in ``permissions``."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    preferred_locale: Mapped[str | None] = mapped_column(String(10))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    job_title: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    availability: Mapped[str | None] = mapped_column(String(200))
    # Whom patients reach when this professional is away: a team and its number.
    team_contact: Mapped[str | None] = mapped_column(String(200))
    can_audit: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated to end every session of the account (sign-out everywhere, password change).
    session_token: Mapped[str] = mapped_column(String(64))
    mfa_secret: Mapped[str | None] = mapped_column(String(64))
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    mfa_last_step: Mapped[int | None]
    recovery_codes: Mapped[str | None] = mapped_column(Text)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class PasswordResetToken(TimestampMixin, Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
