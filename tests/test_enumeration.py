"""Sign-in and password reset do the same work whether or not the address has an account.

Counted, not timed: calls to the password hasher, links made and emails queued.
"""

import pytest

from portal import mail
from portal.auth import services
from tests.factories import make_user


@pytest.fixture
def counted(monkeypatch):
    """Counts of the work a request does that could tell a known address from an unknown one."""
    counts = {"verify": 0, "token": 0, "queued": 0, "sent": 0}
    real_hasher, real_token = services.hasher, services._token_hash

    class CountingHasher:
        def verify(self, *args, **kwargs):
            counts["verify"] += 1
            return real_hasher.verify(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(real_hasher, name)

    def token_hash(raw):
        counts["token"] += 1
        return real_token(raw)

    def send_later(to, subject, body):
        counts["queued"] += 1
        counts["sent"] += bool(to)

    monkeypatch.setattr(services, "hasher", CountingHasher())
    monkeypatch.setattr(services, "_token_hash", token_hash)
    monkeypatch.setattr(mail, "send_later", send_later)
    return counts


def _work(counted, request) -> dict:
    before = dict(counted)
    request()
    return {key: counted[key] - before[key] for key in counted}


def test_sign_in_hashes_once_whether_or_not_the_account_exists(client, db, counted):
    user = make_user(email="known@example.org")
    db.session.commit()

    def attempt(email):
        return lambda: client.post("/sign-in", data={"email": email, "password": "wrong-pass"})

    known = _work(counted, attempt(user.email))
    unknown = _work(counted, attempt("nobody@example.org"))
    assert known["verify"] == unknown["verify"] == 1


def test_password_reset_does_the_same_work_for_an_unknown_address(client, db, counted):
    user = make_user(email="known@example.org")
    db.session.commit()

    def ask(email):
        return lambda: client.post("/forgot-password", data={"email": email})

    known = _work(counted, ask(user.email))
    unknown = _work(counted, ask("nobody@example.org"))
    assert known["token"] == unknown["token"] == 1  # a link is made either way
    assert known["queued"] == unknown["queued"] == 1  # and its email goes to the queue
    assert (known["sent"], unknown["sent"]) == (1, 0)  # only one of them has anyone to go to


def test_queued_mail_is_sent_by_the_sending_thread_and_nobody_gets_the_unknown_one(
    app, monkeypatch
):
    sent = []
    monkeypatch.setattr(mail, "send", lambda to, subject, body: sent.append(to))
    monkeypatch.setitem(app.config, "MAIL_IN_BACKGROUND", True)
    with app.app_context():
        mail.send_later(None, "Reset your password", "nobody")
        mail.send_later("known@example.org", "Reset your password", "link")
        mail._queue_for(app).join()  # both handled
    assert sent == ["known@example.org"]
