"""OpenID Connect relying party: the authorization code flow with PKCE, state and nonce.

The same code serves NHS login and CIS2; each is configured by ``PORTAL_<NAME>_*`` settings
(``METADATA_URL``, ``CLIENT_ID``, ``PRIVATE_KEY`` or ``PRIVATE_KEY_FILE``, ``SCOPES``, ``VTR``,
``CLIENT_AUTH_ALG``). The client proves itself with ``private_key_jwt``, as both services
require, and the ID token is checked here (signature against the provider's published keys,
issuer, audience, expiry, nonce) before anything in it is believed. Tokens are kept only for
the length of one request: never in the session cookie, the database or a log.
"""

import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from flask import current_app, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal import security
from portal.models import IdentityProvider

FLOW_KEY = "oidc_flow"
FLOW_SECONDS = 600  # how long the provider's page may take before the answer is refused
METADATA_SECONDS = 3600  # discovery documents and keys are cached this long
HTTP_TIMEOUT = 10
ID_TOKEN_ALGORITHMS = ["RS256", "RS512", "PS256", "PS512", "ES256"]
LEEWAY_SECONDS = 60

DEFAULT_SCOPES = {
    IdentityProvider.NHS_LOGIN: "openid profile email",
    IdentityProvider.CIS2: "openid profile nationalrbacaccess",
}


class Refusal(StrEnum):
    """Why an answer from the provider was not accepted (recorded, never shown as a code)."""

    STATE = "state"  # no sign-in was started here, or its answer came back twice
    CANCELLED = "cancelled"  # the provider sent an error, e.g. the person cancelled
    CODE_EXCHANGE = "code_exchange"  # the code could not be exchanged
    ID_CHECK = "id_check"  # signature, issuer, audience, expiry or nonce wrong
    UNREACHABLE = "unreachable"  # the provider did not answer


class SignInRefused(Exception):
    def __init__(self, reason: Refusal):
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """What the provider vouched for, after every check passed."""

    provider: IdentityProvider
    purpose: str
    user_id: int | None  # who started a linking flow
    claims: dict  # the ID token's claims, with the userinfo claims for the same ``sub``

    @property
    def subject(self) -> str:
        return self.claims["sub"]


def _setting(provider: IdentityProvider, name: str, default=None):
    return current_app.config.get(f"{provider.value.upper()}_{name}", default)


def configured(provider: IdentityProvider) -> bool:
    """A provider is offered only when it has an address, a client id and a key."""
    return bool(
        _setting(provider, "METADATA_URL")
        and _setting(provider, "CLIENT_ID")
        and (_setting(provider, "PRIVATE_KEY") or _setting(provider, "PRIVATE_KEY_FILE"))
    )


def provider_origins() -> list[str]:
    """The addresses (scheme, host, port) of the providers configured, for the CSP."""
    origins = []
    for provider in IdentityProvider:
        if configured(provider):
            parts = urlsplit(_setting(provider, "METADATA_URL"))
            if parts.scheme in ("https", "http") and parts.netloc:
                origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


def _private_key(provider: IdentityProvider) -> str:
    if key := _setting(provider, "PRIVATE_KEY"):
        return key
    return Path(_setting(provider, "PRIVATE_KEY_FILE")).read_text()


_cache: dict[str, tuple[float, dict]] = {}


def _get_json(url: str) -> dict:
    """A provider's published document, cached; any failure is ``UNREACHABLE``."""
    cached = _cache.get(url)
    if cached and time.monotonic() - cached[0] < METADATA_SECONDS:
        return cached[1]
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SignInRefused(Refusal.UNREACHABLE) from error
    if not isinstance(document, dict):
        raise SignInRefused(Refusal.UNREACHABLE)
    _cache[url] = (time.monotonic(), document)
    return document


REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


def metadata(provider: IdentityProvider) -> dict:
    """The provider's discovery document; one missing an address counts as unreachable."""
    document = _get_json(_setting(provider, "METADATA_URL"))
    if not all(isinstance(document.get(key), str) for key in REQUIRED_METADATA):
        raise SignInRefused(Refusal.UNREACHABLE)
    return document


def _client(provider: IdentityProvider, redirect_uri: str) -> OAuth2Session:
    meta = metadata(provider)
    client = OAuth2Session(
        _setting(provider, "CLIENT_ID"),
        client_secret=_private_key(provider),
        token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method, not a secret
        redirect_uri=redirect_uri,
        scope=_setting(provider, "SCOPES") or DEFAULT_SCOPES[provider],
        code_challenge_method="S256",
    )
    client.register_client_auth_method(
        PrivateKeyJWT(meta["token_endpoint"], alg=_setting(provider, "CLIENT_AUTH_ALG", "RS512"))
    )
    return client


def authorization_url(
    provider: IdentityProvider, redirect_uri: str, purpose: str, user_id: int | None = None
) -> str:
    """Where to send the person; the flow's secrets wait in the session for the answer."""
    meta = metadata(provider)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    extra = {"nonce": nonce}
    if vtr := _setting(provider, "VTR"):
        extra["vtr"] = vtr if isinstance(vtr, str) else json.dumps(vtr)
    if acr := _setting(provider, "ACR_VALUES"):
        extra["acr_values"] = acr
    url, _ = _client(provider, redirect_uri).create_authorization_url(
        meta["authorization_endpoint"], state=state, code_verifier=verifier, **extra
    )
    session[FLOW_KEY] = {
        "provider": provider.value,
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "purpose": purpose,
        "uid": user_id,
        "at": security.now(),
    }
    return url


def _flow(provider: IdentityProvider, args) -> dict:
    """The flow this answer belongs to, taken from the session so it can be used only once.

    It must have been started for the provider whose address the answer came back to, so one
    provider's answer can never be passed off as another's.
    """
    flow = session.pop(FLOW_KEY, None)
    state = args.get("state", "")
    if (
        not isinstance(flow, dict)
        or not isinstance(state, str)
        or not secrets.compare_digest(str(flow.get("state", "")).encode(), state.encode())
        or security.now() - int(flow.get("at", 0)) > FLOW_SECONDS
        or flow.get("provider") != provider
    ):
        raise SignInRefused(Refusal.STATE)
    return flow


def validate_id_token(provider: IdentityProvider, id_token: str, nonce: str) -> dict:
    """The ID token's claims, if it is signed by the provider, for us, current and ours."""
    meta = metadata(provider)
    client_id = _setting(provider, "CLIENT_ID")
    try:
        keys = KeySet.import_key_set(_get_json(meta["jwks_uri"]))
        token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise SignInRefused(Refusal.ID_CHECK) from error
    claims = token.claims
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SignInRefused(Refusal.ID_CHECK)
    if not isinstance(claims["sub"], str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise SignInRefused(Refusal.ID_CHECK)
    return claims


def finish(provider: IdentityProvider, args, redirect_uri: str) -> Answer:
    """Check the provider's answer and exchange its code; raises ``SignInRefused``."""
    flow = _flow(provider, args)
    if args.get("error") or not args.get("code"):
        raise SignInRefused(Refusal.CANCELLED)
    client = _client(provider, redirect_uri)
    meta = metadata(provider)
    try:
        token = client.fetch_token(
            meta["token_endpoint"],
            grant_type="authorization_code",
            code=args["code"],
            code_verifier=flow["verifier"],
            timeout=HTTP_TIMEOUT,
        )
    except (AuthlibBaseError, requests.RequestException, ValueError) as error:
        raise SignInRefused(Refusal.CODE_EXCHANGE) from error
    if not isinstance(token.get("id_token"), str):
        raise SignInRefused(Refusal.ID_CHECK)
    claims = validate_id_token(provider, token["id_token"], flow["nonce"])
    if meta.get("userinfo_endpoint"):
        claims = {**_userinfo(client, meta["userinfo_endpoint"], claims["sub"]), **claims}
    return Answer(provider, flow.get("purpose", "sign_in"), flow.get("uid"), claims)


def _userinfo(client: OAuth2Session, url: str, subject: str) -> dict:
    """The userinfo claims, believed only for the person the ID token names."""
    try:
        response = client.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        info = response.json()
    except (AuthlibBaseError, requests.RequestException, ValueError) as error:
        raise SignInRefused(Refusal.UNREACHABLE) from error
    if not isinstance(info, dict) or info.get("sub") != subject:
        raise SignInRefused(Refusal.ID_CHECK)
    return info


def end_session_url(provider: IdentityProvider, return_to: str) -> str | None:
    """The provider's sign-out address, when it has one, coming back to ``return_to``."""
    try:
        endpoint = metadata(provider).get("end_session_endpoint")
    except SignInRefused:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    query = urlencode(
        {"client_id": _setting(provider, "CLIENT_ID"), "post_logout_redirect_uri": return_to}
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
