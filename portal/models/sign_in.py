"""Identities held by outside sign-in services (NHS login, CIS2), linked to portal accounts."""

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, TimestampMixin, one_of
from portal.models.organisation import Organisation
from portal.models.user import Role


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


class Cis2RoleMapping(TimestampMixin, Base):
    """An administrator's rule: this national (RBAC) role at this organisation is that role here.

    CIS2 says which role the person chose at sign-in and at which organisation (ODS code); only
    a combination listed here opens a staff account, so nobody gains access the
    administrators did not grant.
    """

    __tablename__ = "cis2_role_mappings"
    __table_args__ = (
        one_of("role", Role),
        UniqueConstraint("organisation_id", "role_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role_code: Mapped[str] = mapped_column(String(10))  # e.g. R8000, a clinical practitioner
    role: Mapped[str] = mapped_column(String(20))

    organisation: Mapped[Organisation] = relationship()
