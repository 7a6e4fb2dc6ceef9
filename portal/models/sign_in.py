"""Identities held by outside sign-in services (NHS login, CIS2), linked to portal accounts."""

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, TimestampMixin, one_of


class IdentityProvider(StrEnum):
    NHS_LOGIN = "nhs_login"
    CIS2 = "cis2"


class SignInIdentity(TimestampMixin, Base):
    """One account's identity at one provider: the provider's ``sub``, never its tokens.

    A ``sub`` belongs to one account, and an account has at most one identity per provider,
    so nobody's NHS login can be linked to two accounts or an account to two people.
    """

    __tablename__ = "sign_in_identities"
    __table_args__ = (
        one_of("provider", IdentityProvider),
        UniqueConstraint("provider", "subject", name="uq_sign_in_identities_subject"),
        UniqueConstraint("user_id", "provider", name="uq_sign_in_identities_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    provider: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(255))
