"""Every look at a plan or crisis page writes exactly one audit event, whatever the setting."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from portal.models import AccessGrant, AuditEvent
from portal.models.base import utcnow

PAGES = [("plan", "plan.view", "carer_view"), ("crisis", "crisis.view", "carer_crisis")]


def _events(db) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


@pytest.fixture(params=[False, True], ids=["sync-commit", "async-commit"])
def async_commit(request, app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_VIEW_ASYNC_COMMIT", request.param)
    return request.param


@pytest.mark.parametrize(("page", "action", "who"), PAGES)
def test_each_view_writes_one_event_with_who_what_and_when(
    db, cast, request_as, async_commit, page, action, who
):
    before = utcnow() - timedelta(seconds=1)
    user = cast.users[who]
    for _ in range(2):
        assert request_as(user, "GET", f"/patients/{cast.a.id}/{page}").status_code == 200
    events = _events(db)
    assert [(e.action, e.actor_id, e.patient_id, e.detail) for e in events] == [
        (action, user.id, cast.a.id, "")
    ] * 2
    assert all(before <= e.occurred_at <= datetime.now(UTC) for e in events)


@pytest.mark.parametrize(("page", "action", "who"), PAGES)
def test_a_refused_view_writes_nothing(db, cast, request_as, async_commit, page, action, who):
    for user in (cast.users["other_patient"], cast.users["carer_revoked"]):
        assert request_as(user, "GET", f"/patients/{cast.a.id}/{page}").status_code == 404
    assert _events(db) == []


def test_revoking_a_carer_ends_their_access_on_the_next_request(db, cast, request_as):
    carer = cast.users["carer_view"]
    assert request_as(carer, "GET", f"/patients/{cast.a.id}/plan").status_code == 200
    grant = db.session.scalars(
        select(AccessGrant).where(
            AccessGrant.patient_id == cast.a.id, AccessGrant.grantee_id == carer.id
        )
    ).one()
    grant.revoked_at = utcnow()
    db.session.commit()
    assert request_as(carer, "GET", f"/patients/{cast.a.id}/plan").status_code == 404
    assert request_as(carer, "GET", f"/patients/{cast.a.id}/crisis").status_code == 404
    assert len(_events(db)) == 1


def test_async_commit_is_asked_for_only_by_the_view_transaction(
    db, cast, login, count_queries, async_commit
):
    client = login(cast.users["owner"])
    with count_queries() as counter:
        assert client.get(f"/patients/{cast.a.id}/plan").status_code == 200
    asked = [s for s in counter.statements if "synchronous_commit" in s]
    postgres = db.engine.dialect.name == "postgresql"
    assert asked == (["SET LOCAL synchronous_commit = off"] if async_commit and postgres else [])
    if postgres:
        with db.engine.connect() as conn:  # a later transaction is back to the server default
            assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"


def test_the_easy_read_crisis_plan_is_one_crisis_view_that_says_easy_read(
    db, cast, request_as, async_commit
):
    """Both crisis pages are recorded by their page decorator, one event a look, as before."""
    user = cast.users["carer_crisis"]
    for page in ("crisis", "crisis/easy-read", "crisis"):
        assert request_as(user, "GET", f"/patients/{cast.a.id}/{page}").status_code == 200
    assert [(e.action, e.actor_id, e.patient_id, e.detail) for e in _events(db)] == [
        ("crisis.view", user.id, cast.a.id, ""),
        ("crisis.view", user.id, cast.a.id, "easy read"),
        ("crisis.view", user.id, cast.a.id, ""),
    ]


@pytest.mark.parametrize("page", ["crisis", "crisis/easy-read", "contingency"])
def test_a_page_view_is_one_insert_in_its_own_quick_transaction(
    db, cast, login, count_queries, async_commit, page
):
    """The decorator records every page view the way the plan page always did: one INSERT,
    and with ``AUDIT_VIEW_ASYNC_COMMIT`` a commit that does not wait for the disk."""
    client = login(cast.users["owner"])
    with count_queries() as counter:
        assert client.get(f"/patients/{cast.a.id}/{page}").status_code == 200
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT")]
    assert len([s for s in inserts if "audit_events" in s]) == 1
    asked = [s for s in counter.statements if "synchronous_commit" in s]
    postgres = db.engine.dialect.name == "postgresql"
    assert asked == (["SET LOCAL synchronous_commit = off"] if async_commit and postgres else [])


def test_who_has_looked_shows_both_crisis_pages_as_one_row_a_day(db, cast, login):
    """The patient's activity page groups a carer's looks at either crisis page, as before."""
    carer = login(cast.users["carer_crisis"])
    carer.get(f"/patients/{cast.a.id}/crisis")
    carer.get(f"/patients/{cast.a.id}/crisis/easy-read")
    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/activity").get_data(as_text=True)
    rows = [row for row in body.split("<tr")[1:] if "Looked at the crisis plan" in row]
    assert len(rows) == 1 and "Carer crisis" in rows[0] and "2 times" in rows[0]
