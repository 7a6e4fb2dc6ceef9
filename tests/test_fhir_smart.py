"""SMART on FHIR: Backend Services with real signed client assertions, App Launch with PKCE,
scopes per resource type, and access still decided per patient by ``permissions``."""

import base64
import hashlib
import json
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from sqlalchemy import select

from portal.models import AccessGrant, AuditEvent, ClientKind, SmartToken
from portal.models.base import utcnow
from portal.portability.smart import register_client
from tests.factories import make_patient, make_plan
from tests.fhir_support import full_plan

BASE = "http://localhost/fhir"
TOKEN_URL = f"{BASE}/auth/token"
REDIRECT = "https://app.example.org/callback"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def ec_key():
    return ECKey.generate_key("P-384", parameters={"kid": "system-key-1"})


@pytest.fixture
def plan(cast):
    return full_plan(cast)


@pytest.fixture
def system(db, cast, ec_key):
    """The practice's system, registered with its public key and read-only system scopes."""
    client = register_client(
        "Riverside GP system",
        ClientKind.SYSTEM,
        "system/*.read",
        "riverside-gp",
        organisation_id=cast.org.id,
        jwks=KeySet([ec_key]).as_dict(private=False),
    )
    db.session.commit()
    return client


def assertion(key, client_id="riverside-gp", algorithm="ES384", **claims):
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 240,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode(
        {"alg": algorithm, "kid": key.kid or "k"}, payload, key, algorithms=[algorithm]
    )


def ask_for_token(client, signed, scope="system/*.read"):
    return client.post(
        "/fhir/auth/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
        },
    )


def system_token(client, key, scope="system/*.read") -> str:
    response = ask_for_token(client, assertion(key), scope)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def read(client, token, url):
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.mimetype == "application/fhir+json"
    return response.status_code, response.get_json()


def test_discovery_names_the_endpoints_and_what_they_accept(client):
    config = client.get("/fhir/.well-known/smart-configuration").get_json()
    assert config["token_endpoint"] == TOKEN_URL
    assert config["authorization_endpoint"] == f"{BASE}/auth/authorize"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"private_key_jwt", "none"} == set(config["token_endpoint_auth_methods_supported"])
    assert "launch-standalone" in config["capabilities"]
    statement = client.get("/fhir/metadata").get_json()
    (security,) = [r["security"] for r in statement["rest"]]
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris == {"token": TOKEN_URL, "authorize": f"{BASE}/auth/authorize"}


def test_a_system_reads_its_practices_patients_with_a_signed_assertion(
    db, client, cast, plan, system, ec_key
):
    response = ask_for_token(client, assertion(ec_key))
    body = response.get_json()
    assert response.status_code == 200
    assert (body["token_type"].lower(), body["expires_in"], body["scope"]) == (
        "bearer",
        300,
        "system/*.read",
    )
    stored = db.session.scalars(select(SmartToken)).one()
    assert stored.token_hash != body["access_token"]  # kept as a hash only
    status, bundle = read(client, body["access_token"], f"/fhir/CarePlan?patient={cast.a.id}")
    assert (status, bundle["total"]) == (200, 1)
    elsewhere = make_patient(cast.other_org)
    make_plan(elsewhere)
    db.session.commit()
    status, bundle = read(client, body["access_token"], f"/fhir/CarePlan?patient={elsewhere.id}")
    assert (status, bundle["total"]) == (200, 0)  # another practice's patient: not seen
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "fhir.system_read")
    ).all()
    assert [(e.patient_id, e.actor_id, e.detail) for e in events] == [
        (cast.a.id, None, "Riverside GP system")
    ]


def test_the_patient_sees_the_system_in_who_has_looked(
    client, cast, plan, system, ec_key, request_as
):
    token = system_token(client, ec_key)
    read(client, token, f"/fhir/Goal?patient={cast.a.id}")
    text = request_as(cast.users["owner"], "GET", f"/patients/{cast.a.id}/activity").get_data(
        as_text=True
    )
    assert "Riverside GP system" in text and "computer system read the care plan" in text


def test_a_patient_who_objected_is_not_read_by_the_system(db, client, cast, plan, system, ec_key):
    cast.a.care_team_consent = False
    db.session.commit()
    token = system_token(client, ec_key)
    assert read(client, token, f"/fhir/CarePlan?patient={cast.a.id}")[1]["total"] == 0


def _bad_assertions(ec_key):
    other = ECKey.generate_key("P-384", parameters={"kid": "system-key-1"})
    hmac = OctKey.import_key(ec_key.as_dict(private=False)["x"].encode() * 2)
    return {
        "signed by another key": assertion(other),
        "for another audience": assertion(ec_key, aud="https://elsewhere.example/token"),
        "expired": assertion(ec_key, exp=int(time.time()) - 120),
        "lasting too long": assertion(ec_key, exp=int(time.time()) + 3600),
        "without a jti": assertion(ec_key, jti=None),
        "issuer not the subject": assertion(ec_key, iss="someone-else"),
        "an unknown client": assertion(ec_key, client_id="nobody"),
        "an HMAC keyed with public data": jwt.encode(
            {"alg": "HS256"},
            {"iss": "riverside-gp", "sub": "riverside-gp", "aud": TOKEN_URL, "exp": 9e9},
            hmac,
        ),
        "not a JWT": "not.a.jwt",
    }


def test_assertions_that_fail_a_check_are_refused(client, cast, system, ec_key):
    for name, signed in _bad_assertions(ec_key).items():
        response = ask_for_token(client, signed)
        assert response.status_code in (400, 401), name
        assert response.get_json()["error"] == "invalid_client", name


def test_an_assertion_is_accepted_once(client, cast, system, ec_key):
    signed = assertion(ec_key)
    assert ask_for_token(client, signed).status_code == 200
    replay = ask_for_token(client, signed)
    assert replay.status_code in (400, 401) and replay.get_json()["error"] == "invalid_client"


def test_rs384_keys_are_accepted_too(db, client, cast):
    key = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    register_client(
        "Hospital system",
        ClientKind.SYSTEM,
        "system/Goal.read",
        "hospital",
        organisation_id=cast.org.id,
        jwks=KeySet([key]).as_dict(private=False),
    )
    db.session.commit()
    signed = assertion(key, client_id="hospital", algorithm="RS384")
    response = ask_for_token(client, signed, "system/Goal.read system/CarePlan.read")
    assert response.status_code == 200
    assert response.get_json()["scope"] == "system/Goal.read"  # only what was registered


def test_scopes_decide_each_resource_type(client, cast, plan, system, ec_key):
    token = system_token(client, ec_key, "system/Goal.read")
    assert read(client, token, f"/fhir/Goal?patient={cast.a.id}")[1]["total"] == 2
    for url in (f"/fhir/CarePlan?patient={cast.a.id}", f"/fhir/Patient/{cast.a.id}.{'0' * 36}"):
        status, body = read(client, token, url)
        assert (status, body["resourceType"]) == (403, "OperationOutcome"), url
    goals = read(client, token, f"/fhir/Goal?patient={cast.a.id}&_include=Goal:subject")[1]
    assert {e["resource"]["resourceType"] for e in goals["entry"]} == {"Goal"}  # no Patient


def test_a_scope_the_client_was_not_registered_for_is_refused(client, cast, system, ec_key):
    response = ask_for_token(client, assertion(ec_key), "patient/*.read")
    assert response.get_json()["error"] == "invalid_scope"


def test_expired_and_revoked_tokens_and_deactivated_clients_stop_working(
    db, client, cast, plan, system, ec_key
):
    url = f"/fhir/CarePlan?patient={cast.a.id}"
    for spoil in ("expire", "revoke", "deactivate"):
        token = system_token(client, ec_key)
        assert read(client, token, url)[0] == 200
        stored = db.session.scalars(select(SmartToken).order_by(SmartToken.id.desc())).first()
        if spoil == "expire":
            stored.expires_at = utcnow() - timedelta(seconds=1)
        elif spoil == "revoke":
            stored.revoked_at = utcnow()
        db.session.commit()
        if spoil == "deactivate":
            system.active = False
            db.session.commit()
        status, body = read(client, token, url)
        assert (status, body["resourceType"]) == (401, "OperationOutcome"), spoil
    assert read(client, "made-up", url)[0] == 401


# --- SMART App Launch ------------------------------------------------------------------------


@pytest.fixture
def app_client(db):
    client = register_client(
        "My care plan app",
        ClientKind.APP,
        "launch/patient patient/*.read user/*.read",
        "care-app",
        redirect_uris=[REDIRECT],
    )
    db.session.commit()
    return client


def _pkce():
    verifier = base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _authorize_url(challenge, **changes):
    query = {
        "response_type": "code",
        "client_id": "care-app",
        "redirect_uri": REDIRECT,
        "scope": "launch/patient patient/*.read",
        "state": "abc123",
        "aud": BASE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **changes,
    }
    return "/fhir/auth/authorize?" + urlencode({k: v for k, v in query.items() if v is not None})


def launch(client, request_as, user, patient_id=None):
    """Sign in as ``user``, allow the app, exchange the code: the token response."""
    verifier, challenge = _pkce()
    url = _authorize_url(challenge)
    page = request_as(user, "GET", url)
    assert page.status_code == 200 and "My care plan app" in page.get_data(as_text=True)
    form = {"decision": "allow"}
    if patient_id is not None:
        form["patient"] = str(patient_id)
    answer = client.post(url, data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    back = urlparse(answer.headers["Location"])
    query = parse_qs(back.query)
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT and query["state"] == ["abc123"]
    response = client.post(
        "/fhir/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
            "client_id": "care-app",
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_patient_launches_an_app_that_reads_only_her_plan(
    db, client, cast, plan, app_client, request_as
):
    token = launch(client, request_as, cast.users["owner"], cast.a.id)
    assert token["patient"] == str(cast.a.id) and token["expires_in"] == 3600
    client.post("/sign-out")  # the token works without the portal session
    access = token["access_token"]
    status, bundle = read(client, access, f"/fhir/Goal?patient={cast.a.id}")
    assert (status, bundle["total"]) == (200, 2)
    assert read(client, access, f"/fhir/Goal?patient={cast.b.id}")[1]["total"] == 0
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "fhir.api_search")
    ).one()
    assert (event.actor_id, event.detail) == (cast.users["owner"].id, "Goal (My care plan app)")
    assert db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "fhir.app_authorised")
    ).all() == ["fhir.app_authorised"]


def test_a_revoked_carers_app_stops_on_the_next_request(
    db, client, cast, plan, app_client, request_as
):
    carer = cast.users["carer_view"]
    token = launch(client, request_as, carer, cast.a.id)["access_token"]
    url = f"/fhir/CarePlan?patient={cast.a.id}"
    assert read(client, token, url)[1]["total"] == 1
    grant = db.session.scalars(select(AccessGrant).where(AccessGrant.grantee_id == carer.id)).one()
    grant.revoked_at = utcnow()
    db.session.commit()
    assert read(client, token, url)[1]["total"] == 0


def test_a_forged_patient_choice_is_refused(client, cast, plan, app_client, request_as):
    _verifier, challenge = _pkce()
    url = _authorize_url(challenge)
    request_as(cast.users["carer_view"], "GET", url)
    answer = client.post(url, data={"decision": "allow", "patient": str(cast.b.id)})
    assert answer.status_code == 200  # the page again, with its error; no code
    assert "Location" not in answer.headers


def test_the_person_may_refuse(client, cast, app_client, request_as):
    _verifier, challenge = _pkce()
    url = _authorize_url(challenge)
    request_as(cast.users["owner"], "GET", url)
    answer = client.post(url, data={"decision": "deny"})
    assert answer.status_code == 302
    assert parse_qs(urlparse(answer.headers["Location"]).query)["error"] == ["access_denied"]


@pytest.mark.parametrize(
    "changes",
    [
        {"code_challenge": None, "code_challenge_method": None},  # no PKCE
        {"code_challenge_method": "plain"},
        {"aud": "https://another-server.example/fhir"},
        {"redirect_uri": "https://evil.example/callback"},
        {"client_id": "unknown-app"},
        {"scope": "launch/patient system/*.read"},  # nothing the app may read
        {"scope": None},
    ],
)
def test_requests_that_are_not_valid_never_reach_the_app(cast, app_client, request_as, changes):
    _verifier, challenge = _pkce()
    response = request_as(cast.users["owner"], "GET", _authorize_url(challenge, **changes))
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")


def test_a_wrong_code_verifier_gets_no_token(client, cast, app_client, request_as):
    _verifier, challenge = _pkce()
    url = _authorize_url(challenge)
    request_as(cast.users["owner"], "GET", url)
    answer = client.post(url, data={"decision": "allow", "patient": str(cast.a.id)})
    code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
    response = client.post(
        "/fhir/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "care-app",
            "code_verifier": _pkce()[0],
        },
    )
    assert response.get_json()["error"] == "invalid_grant"


def test_an_app_is_not_a_system_and_a_system_is_not_an_app(client, cast, system, app_client):
    app_try = client.post(
        "/fhir/auth/token",
        data={"grant_type": "client_credentials", "client_id": "care-app"},
    )
    assert app_try.status_code in (400, 401)
    _verifier, challenge = _pkce()
    system_try = client.get(_authorize_url(challenge, client_id="riverside-gp"))
    assert system_try.status_code in (302, 400)  # signed out: sent to sign in, or refused


def test_an_administrator_registers_and_stops_a_system_from_the_command_line(
    app, db, cast, ec_key, tmp_path
):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(KeySet([ec_key]).as_dict(private=False)))
    runner = app.test_cli_runner()
    args = ["smart-register", "--kind", "system", "--name", "Riverside GP system"]
    args += ["--scope", "system/*.read", "--client-id", "riverside-gp"]
    refused = runner.invoke(args=[*args, "--organisation", "ZZZ99"])
    assert refused.exit_code != 0 and "no organisation has this ODS code" in refused.output
    private = tmp_path / "private.json"
    private.write_text(json.dumps(KeySet([ec_key]).as_dict(private=True)))
    leaked = runner.invoke(
        args=[*args, "--organisation", cast.org.ods_code, "--jwks", str(private)]
    )
    assert leaked.exit_code != 0 and "public keys only" in leaked.output
    done = runner.invoke(args=[*args, "--organisation", cast.org.ods_code, "--jwks", str(keys)])
    assert done.exit_code == 0, done.output
    client = app.test_client()
    token = system_token(client, ec_key)
    assert runner.invoke(args=["smart-deactivate", "riverside-gp"]).exit_code == 0
    assert read(client, token, f"/fhir/CarePlan?patient={cast.a.id}")[0] == 401
    assert db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "fhir.client_registered")
    ).all() == ["fhir.client_registered"]
