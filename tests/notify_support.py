"""Real servers on loopback for the notification channels: SMTP (aiosmtpd) and a stand-in for
GOV.UK Notify's API that checks the JWT and answers as Notify's documentation says."""

import json
import socket
import threading
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpInbox:
    """What the server received; ``refuse`` makes it answer every message with that reply."""

    port: int = 0
    messages: list = field(default_factory=list)
    refuse: str | None = None
    peers: list = field(default_factory=list)  # the client end of each message's connection
    senders: list = field(default_factory=list)  # each message's envelope sender (MAIL FROM)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return self.refuse
        self.peers.append(session.peer)
        self.senders.append(envelope.mail_from)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def bodies(self) -> list[str]:
        return [m.get_content() for m in self.messages]


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server on loopback, and the app configured to send to it."""
    inbox = SmtpInbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", inbox.port)
    try:
        yield inbox
    finally:
        controller.stop()


SERVICE_ID = str(uuid.UUID(int=1))
SECRET = str(uuid.UUID(int=2))
API_KEY = f"portal_test-{SERVICE_ID}-{SECRET}"


@dataclass
class FakeNotify:
    url: str = ""
    requests: list = field(default_factory=list)
    status: int = 201  # what to answer next (e.g. 500 for Notify being down)


def _handler(state: FakeNotify):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_POST(self):  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            try:
                claims = jwt.decode(token, SECRET, algorithms=["HS256"])
                authorised = claims.get("iss") == SERVICE_ID
            except jwt.PyJWTError:
                authorised = False
            if not authorised:
                return self._answer(403, {"errors": [{"error": "AuthError"}], "status_code": 403})
            kind = self.path.removeprefix("/v2/notifications/")
            if kind not in ("sms", "email", "letter"):
                return self._answer(404, {"errors": [{"error": "NotFound"}]})
            state.requests.append((kind, body))
            if state.status != 201:
                return self._answer(state.status, {"errors": [{"error": "Error"}]})
            return self._answer(
                201,
                {
                    "id": str(uuid.uuid4()),
                    "reference": body.get("reference"),
                    "content": {"body": body.get("personalisation", {}).get("body", "")},
                    "uri": f"{state.url}/v2/notifications/{uuid.uuid4()}",
                    "template": {"id": body.get("template_id"), "version": 1, "uri": ""},
                },
            )

        def _answer(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def notify_api(app, monkeypatch):
    """A local server answering as GOV.UK Notify does, and the app configured to use it."""
    state = FakeNotify()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "NOTIFY_API_KEY", API_KEY)
    monkeypatch.setitem(app.config, "NOTIFY_BASE_URL", state.url)
    monkeypatch.setitem(app.config, "NOTIFY_SMS_TEMPLATE_ID", str(uuid.UUID(int=3)))
    monkeypatch.setitem(app.config, "NOTIFY_LETTER_TEMPLATE_ID", str(uuid.UUID(int=4)))
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
