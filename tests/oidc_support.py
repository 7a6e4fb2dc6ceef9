"""A real OpenID Connect provider (npm ``oidc-provider``) on loopback, set up like NHS login.

``tests/oidc/provider.js`` is started on a free port for the tests that need it and stopped
after; ``make setup`` installs its packages into ``tests/oidc/node_modules``.
"""

import json
import shutil
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc.jwk import RSAKey

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "portal-test"
CALLBACKS = [
    "http://localhost/sign-in/nhs-login/callback",
    "http://localhost/sign-in/cis2/callback",
]
AFTER_SIGN_OUT = "http://localhost/sign-in"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TestProvider:
    """The running provider: register people, play attacks, and sign in as someone."""

    def __init__(self, issuer: str, private_key_pem: str):
        self.issuer = issuer
        self.private_key_pem = private_key_pem
        self.browser = requests.Session()  # the person's browser at the provider

    def add_person(self, sub: str, **claims) -> None:
        person = {"sub": sub, "claims": claims}
        requests.post(f"{self.issuer}/test/accounts", json=person, timeout=5)

    def tamper(self, mode: str) -> None:
        requests.post(f"{self.issuer}/test/tamper", json={"mode": mode}, timeout=5)

    def settings(self, service: str = "NHS_LOGIN") -> dict:
        """The portal's settings for this provider as NHS login (or ``CIS2``)."""
        settings = {
            f"{service}_METADATA_URL": f"{self.issuer}/.well-known/openid-configuration",
            f"{service}_CLIENT_ID": CLIENT_ID,
            f"{service}_PRIVATE_KEY": self.private_key_pem,
        }
        if service == "NHS_LOGIN":
            settings["NHS_LOGIN_VTR"] = '["P9.Cp.Cd", "P9.Cp.Ck", "P9.Cm", "P5.Cp.Cd"]'
        else:
            settings["CIS2_SCOPES"] = "openid profile email nationalrbacaccess"
            settings["CIS2_ACR_VALUES"] = "AAL3_ANY"
        return settings

    def sign_in_as(self, authorization_url: str, sub: str, **how) -> str:
        """Follow the provider's pages as ``sub``; the portal address it sends the browser to."""
        self.browser = requests.Session()
        response = self.browser.get(authorization_url, allow_redirects=False, timeout=10)
        interaction = response.headers["Location"]
        if interaction.startswith("/"):
            interaction = self.issuer + interaction
        response = self.browser.get(
            f"{interaction}/login", params={"sub": sub, **how}, allow_redirects=False, timeout=10
        )
        location = response.headers["Location"]
        while not location.startswith("http://localhost/"):
            if location.startswith("/"):
                location = self.issuer + location
            response = self.browser.get(location, allow_redirects=False, timeout=10)
            location = response.headers["Location"]
        return location


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@contextmanager
def running_provider(callbacks=CALLBACKS, after_sign_out=AFTER_SIGN_OUT):
    """``tests/oidc/provider.js`` on a free loopback port, for a client with a fresh key."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test provider is not installed: run `make setup` (needs Node.js)")
    key = RSAKey.generate_key(2048, parameters={"kid": "portal-key", "alg": "RS512", "use": "sig"})
    client = {
        "client_id": CLIENT_ID,
        "redirect_uris": list(callbacks),
        "post_logout_redirect_uri": after_sign_out,
        "jwk": key.as_dict(private=False),
    }
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [node, str(HERE / "provider.js"), str(port), json.dumps(client)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdout.readline().strip() != "ready":
            pytest.fail(f"the test provider did not start: {process.stderr.read()[:2000]}")
        yield TestProvider(f"http://127.0.0.1:{port}", key.as_pem(private=True).decode())
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running
