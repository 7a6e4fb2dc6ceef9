"""Apps and systems allowed to read the FHIR API with OAuth 2.0 in the SMART on FHIR way.

An administrator registers each one. A *system* (SMART Backend Services) belongs to one
organisation and proves who it is with a JWT signed by a private key whose public half is
registered here; it reads what that organisation's care team may read. An *app* (SMART App
Launch) acts for the person who signs in and approves it, and reads only what that person may.
Tokens and codes are kept as SHA-256 hashes: a copy of the database lets no one use them.
"""

import hashlib
import json
from datetime import datetime
from enum import StrEnum

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import fhir_scopes
from portal.models.base import Base, TimestampMixin, one_of, utcnow
from portal.models.organisation import Organisation
from portal.models.user import User


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ClientKind(StrEnum):
    SYSTEM = "system"  # SMART Backend Services: client credentials, private_key_jwt
    APP = "app"  # SMART App Launch: authorisation code with PKCE, for a signed-in person


# What each kind may ask for: its grant, how it proves itself at the token endpoint.
GRANT = {ClientKind.SYSTEM: "client_credentials", ClientKind.APP: "authorization_code"}
AUTH_METHOD = {ClientKind.SYSTEM: "private_key_jwt", ClientKind.APP: "none"}


class SmartClient(TimestampMixin, ClientMixin, Base):
    __tablename__ = "smart_clients"
    __table_args__ = (one_of("kind", ClientKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    # A system reads as its organisation's care team does; an app has no organisation.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    scope: Mapped[str] = mapped_column(String(500))  # the most it may be granted
    jwks: Mapped[str | None] = mapped_column(Text)  # a system's public keys (JWK Set, JSON)
    redirect_uris: Mapped[str] = mapped_column(Text, default="")  # an app's, one a line
    active: Mapped[bool] = mapped_column(default=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation | None] = relationship()

    # --- Authlib's client interface ---------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.redirect_uri_list
        return uris[0] if uris else None

    @property
    def redirect_uri_list(self) -> list[str]:
        return [u for u in self.redirect_uris.split() if u]

    def get_allowed_scope(self, scope: str) -> str | None:
        """What of ``scope`` this client was registered for; None (refused) when nothing."""
        return fhir_scopes.allowed_of(self.scope, scope) or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uri_list

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # no client has a shared secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return self.active and method == AUTH_METHOD[ClientKind(self.kind)]

    def check_response_type(self, response_type: str) -> bool:
        return self.kind == ClientKind.APP and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return self.active and grant_type == GRANT[ClientKind(self.kind)]

    def public_keys(self) -> dict:
        return json.loads(self.jwks or '{"keys": []}')


class SmartAuthorisationCode(AuthorizationCodeMixin, Base):
    """A code an app exchanges once, within minutes, for a token (with its PKCE verifier)."""

    __tablename__ = "smart_authorisation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("smart_clients.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))  # launch context
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    client: Mapped[SmartClient] = relationship()
    user: Mapped[User] = relationship()

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self):
        return None

    def get_auth_time(self):
        return None


class SmartToken(TokenMixin, Base):
    """An access token: who it acts for, for which patient (a launch), with which scopes."""

    __tablename__ = "smart_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("smart_clients.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    client: Mapped[SmartClient] = relationship()
    user: Mapped[User | None] = relationship()

    def check_client(self, client) -> bool:
        return client.id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or not self.client.active

    def get_user(self):
        return self.user

    def get_client(self):
        return self.client


class SmartAssertion(Base):
    """The ``jti`` of each client assertion already used: a signed JWT is accepted once."""

    __tablename__ = "smart_assertions"
    __table_args__ = (UniqueConstraint("client_id", "jti", name="uq_smart_assertions_jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("smart_clients.id"))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
