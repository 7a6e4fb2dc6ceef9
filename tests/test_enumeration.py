"""Sign-in and password reset do the same work whether or not the address has an account.

Counted, not timed: calls to the password hasher, links made and sealed for the outbox.
"""

import pytest
from sqlalchemy import func, select

from portal.auth import services
from portal.models import Notification
from portal.notifications import outbox
from tests.factories import make_user


@pytest.fixture
def counted(monkeypatch):
    """Counts of the work a request does that could tell a known address from an unknown one."""
    counts = {"verify": 0, "token": 0, "sealed": 0, "queued": 0}
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

    real_seal = outbox.seal

    def seal(values):
        counts["sealed"] += 1
        return real_seal(values)

    monkeypatch.setattr(services, "hasher", CountingHasher())
    monkeypatch.setattr(services, "_token_hash", token_hash)
    monkeypatch.setattr(outbox, "seal", seal)
    return counts


def _work(counted, request) -> dict:
    from portal.extensions import db

    def queued():
        return db.session.scalar(select(func.count()).select_from(Notification))

    before, rows = dict(counted), queued()
    request()
    counted["queued"] += queued() - rows
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
    assert known["sealed"] == unknown["sealed"] == 1  # and sealed for the outbox
    assert (known["queued"], unknown["queued"]) == (1, 0)  # only one of them has anyone to go to
