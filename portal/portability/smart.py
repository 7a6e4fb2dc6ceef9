"""OAuth 2.0 for the FHIR API in the SMART on FHIR way, with Authlib's authorisation server.

- **SMART Backend Services**: a registered system of an organisation asks
  ``/fhir/auth/token`` for a token with ``grant_type=client_credentials`` and a client
  assertion, a JWT signed (RS384 or ES384) with its private key; its public key set is
  registered. Each assertion is accepted once (``jti``) and must be addressed to the token
  endpoint. Tokens last five minutes.
- **SMART App Launch** (standalone): a registered app sends the person to
  ``/fhir/auth/authorize`` with PKCE (S256 only) and ``aud`` naming this FHIR server; the
  person signs in, chooses whose plan (``launch/patient``) and allows it; the app exchanges the
  code for a token of one hour, answered with the ``patient`` it may read.

Access tokens are random and kept only as hashes. What a token reads is decided on every request
by ``portal.permissions`` (the same relations as the web pages) and narrowed by its scopes
(``portal.portability.scopes``).
"""

import json
from dataclasses import dataclass
from datetime import timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import current_app, g
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal import fhir_scopes as scopes
from portal.extensions import db
from portal.models import (
    ClientKind,
    SmartAssertion,
    SmartAuthorisationCode,
    SmartClient,
    SmartToken,
    User,
)
from portal.models.base import utcnow
from portal.models.smart import digest
from portal.permissions import OrganisationSystem
from portal.portability.terminology import canonical_base

ASSERTION_ALGORITHMS = ["RS384", "ES384"]  # what SMART Backend Services asks servers to accept
CODE_LIFETIME = timedelta(minutes=5)
TOKEN_LIFETIMES = {"client_credentials": 300, "authorization_code": 3600}


def token_endpoint() -> str:
    return f"{canonical_base()}/auth/token"


def authorize_endpoint() -> str:
    return f"{canonical_base()}/auth/authorize"


def _client(client_id) -> SmartClient | None:
    if not isinstance(client_id, str) or len(client_id) > 64:
        return None
    return db.session.scalar(
        select(SmartClient).where(SmartClient.client_id == client_id, SmartClient.active)
    )


def _save_token(token: dict, request) -> None:
    code = getattr(request, "authorization_code", None)
    patient_id = code.patient_id if code is not None else None
    issued = utcnow()
    db.session.add(
        SmartToken(
            token_hash=digest(token["access_token"]),
            client_id=request.client.id,
            user_id=request.user.id if request.user is not None else None,
            patient_id=patient_id,
            scope=token.get("scope", ""),
            issued_at=issued,
            expires_at=issued + timedelta(seconds=token["expires_in"]),
        )
    )
    if patient_id is not None:
        token["patient"] = str(patient_id)  # the launch context SMART apps read
    db.session.commit()


def server() -> AuthorizationServer:
    return current_app.extensions["smart_authorisation_server"]


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt`` client authentication as SMART Backend Services asks for it."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self):
        return [token_endpoint()]

    def resolve_client_public_key(self, client: SmartClient):
        return KeySet.import_key_set(client.public_keys())

    def process_assertion_claims(self, assertion, resolve_key):
        """Only the asymmetric algorithms SMART names: never an HMAC keyed with a public key."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise InvalidClientError(description="The client assertion is not valid.") from error
        self.verify_claims(token.claims)
        if token.claims["exp"] > utcnow().timestamp() + 300:
            raise InvalidClientError(description="The client assertion lasts too long.")
        return token.claims

    def validate_jti(self, claims, jti) -> bool:
        """Accept each ``jti`` once per client; forget them once their assertion expired."""
        client = _client(claims.get("sub"))
        if client is None or not isinstance(jti, str) or len(jti) > 255:
            return False
        now = utcnow()
        db.session.execute(delete(SmartAssertion).where(SmartAssertion.expires_at < now))
        lasts = max(0, int(claims["exp"] - now.timestamp())) + 60
        try:
            with db.session.begin_nested():
                db.session.add(
                    SmartAssertion(
                        client_id=client.id, jti=jti, expires_at=now + timedelta(seconds=lasts)
                    )
                )
        except IntegrityError:
            return False
        return True


class BackendServicesGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]


class S256Only(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class AppLaunchGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def save_authorization_code(self, code: str, request) -> None:
        payload = request.payload
        db.session.add(
            SmartAuthorisationCode(
                code_hash=digest(code),
                client_id=request.client.id,
                user_id=request.user.id,
                patient_id=g.get("smart_launch_patient_id"),
                redirect_uri=payload.redirect_uri or "",
                scope=request.client.get_allowed_scope(payload.scope) or "",
                code_challenge=payload.data.get("code_challenge", ""),
                code_challenge_method=payload.data.get("code_challenge_method", ""),
                expires_at=utcnow() + CODE_LIFETIME,
            )
        )
        db.session.commit()

    def query_authorization_code(self, code, client):
        if not isinstance(code, str) or len(code) > 200:
            return None
        found = db.session.scalar(
            select(SmartAuthorisationCode).where(
                SmartAuthorisationCode.code_hash == digest(code),
                SmartAuthorisationCode.client_id == client.id,
            )
        )
        if found is None or found.expires_at <= utcnow():
            return None
        return found

    def delete_authorization_code(self, authorization_code) -> None:
        db.session.delete(authorization_code)
        db.session.commit()

    def authenticate_user(self, authorization_code) -> User | None:
        user = db.session.get(User, authorization_code.user_id)
        return user if user is not None and user.active else None


def init_app(app) -> None:
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", TOKEN_LIFETIMES)
    authorisation = AuthorizationServer(app, query_client=_client, save_token=_save_token)
    authorisation.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    authorisation.register_grant(BackendServicesGrant)
    authorisation.register_grant(AppLaunchGrant, [S256Only(required=True)])
    app.extensions["smart_authorisation_server"] = authorisation


def configuration() -> dict:
    """``/.well-known/smart-configuration``: how an app or a system connects."""
    return {
        "authorization_endpoint": authorize_endpoint(),
        "token_endpoint": token_endpoint(),
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": [
            "launch/patient",
            "patient/*.read",
            "patient/*.rs",
            "user/*.read",
            "user/*.rs",
            "system/*.read",
            "system/*.rs",
        ],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-asymmetric",
            "context-standalone-patient",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
        ],
    }


# --- the resource side ----------------------------------------------------------------------


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str):
        if not token_string or len(token_string) > 200:
            return None
        return db.session.scalar(
            select(SmartToken).where(SmartToken.token_hash == digest(token_string))
        )


protector = ResourceProtector()
protector.register_token_validator(_Validator())


@dataclass(frozen=True)
class TokenReader:
    """Who reads through a token, and what its scopes let them read."""

    principal: object  # a User, or the OrganisationSystem of a registered system
    context: str  # "system", or "user" / "patient" for an app acting for a person
    scope: str
    patient_id: int | None
    client_name: str
    actor_id: int | None

    def permits(self, kind: str, patient_id: int, search: bool) -> bool:
        contexts = [self.context]
        if self.context == "user" and self.patient_id == patient_id:
            contexts.append("patient")
        return any(scopes.permits(self.scope, c, kind, search) for c in contexts)


class Refused(Exception):
    """The bearer token is missing, unknown, expired, revoked or of a deactivated client."""


def bearer_reader() -> TokenReader:
    try:
        token: SmartToken = protector.acquire_token()
    except OAuth2Error as error:
        raise Refused(error.error) from error
    client = token.client
    if client.kind == ClientKind.SYSTEM:
        principal = OrganisationSystem(client.id, client.organisation_id)
        return TokenReader(principal, "system", token.scope, None, client.name, None)
    user = token.user
    if user is None or not user.active:
        raise Refused("invalid_token")
    return TokenReader(user, "user", token.scope, token.patient_id, client.name, user.id)


def register_client(
    name: str,
    kind: ClientKind,
    scope: str,
    client_id: str,
    organisation_id: int | None = None,
    jwks: dict | None = None,
    redirect_uris: list[str] | None = None,
    registered_by_id: int | None = None,
) -> SmartClient:
    """Register a system (with its organisation and public keys) or an app (redirect URIs).

    ``ValueError`` says what is wrong, in words an administrator can act on.
    """
    if not name.strip() or len(name) > 120:
        raise ValueError("give the client a name of at most 120 characters")
    if not client_id or len(client_id) > 64 or _client(client_id) is not None:
        raise ValueError("the client id is empty, too long or already registered")
    context = "system" if kind == ClientKind.SYSTEM else None
    for part in scope.split():
        parsed = scopes.parse(part)
        if parsed is None and part not in scopes.CONTEXT_SCOPES:
            raise ValueError(f"not a SMART scope this server knows: {part}")
        if parsed and (parsed.context == "system") != (context == "system"):
            raise ValueError("systems have system/ scopes, apps patient/ and user/ scopes")
    if kind == ClientKind.SYSTEM:
        if organisation_id is None:
            raise ValueError("a system belongs to an organisation")
        try:
            keys = KeySet.import_key_set(jwks or {})
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise ValueError("the public key set is not a JWK Set") from error
        if not keys.keys or any(key.is_private for key in keys.keys):
            raise ValueError("give the public keys only (a JWK Set without private parts)")
        uris: list[str] = []
    else:
        uris = [u for u in redirect_uris or [] if u]
        if not uris or any(not u.startswith(("https://", "http://localhost")) for u in uris):
            raise ValueError("an app needs https redirect URIs (http only for localhost)")
    client = SmartClient(
        client_id=client_id,
        name=name.strip(),
        kind=kind,
        organisation_id=organisation_id if kind == ClientKind.SYSTEM else None,
        scope=" ".join(scope.split()),
        jwks=json.dumps(jwks) if kind == ClientKind.SYSTEM else None,
        redirect_uris="\n".join(uris),
        registered_by_id=registered_by_id,
    )
    db.session.add(client)
    db.session.flush()
    return client
