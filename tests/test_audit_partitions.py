"""The audit trail partitioned by month on PostgreSQL: the job, where events land, the guard and
the activity page on the partitioned table.

The PostgreSQL test databases are made partitioned, as migration 0022 leaves production
(``tests/conftest.py``), so every test there already uses the real table; ``partitioned``
says so and skips on SQLite, ``plain`` undoes the migration inside the test's transaction
(rolled back afterwards) for what happens before it.
"""

import logging
from datetime import UTC, date, datetime

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import delete, select, text, update

from portal import audit, audit_partitions, jobs
from portal.audit import AuditTampering
from portal.models import AuditEvent
from tests.conftest import ADMIN_URL, partition_migration


@pytest.fixture
def partitioned(db):
    """The test database's audit trail, partitioned as migration 0022 leaves it."""
    if not ADMIN_URL:
        pytest.skip("the audit trail is partitioned on PostgreSQL only")
    conn = db.session.connection()
    assert audit_partitions.is_partitioned(conn)
    return conn


@pytest.fixture
def plain(db):
    """The audit trail as it was before migration 0022: one plain table (SQLite's always)."""
    conn = db.session.connection()
    if ADMIN_URL:
        with Operations.context(MigrationContext.configure(conn)):
            partition_migration().downgrade()
    return conn


def _home(db, event_id: int) -> str:
    """The partition an event is stored in."""
    return db.session.execute(
        text("SELECT tableoid::regclass::text FROM audit_events WHERE id = :id"), {"id": event_id}
    ).scalar_one()


def _record(db, cast, when: datetime, action="plan.view") -> int:
    event = AuditEvent(
        patient_id=cast.a.id, actor_id=cast.users["carer_view"].id, action=action, occurred_at=when
    )
    db.session.add(event)
    db.session.commit()
    return event.id


def test_the_job_is_on_the_daily_schedule():
    entry = jobs.SCHEDULE["audit-partitions"]
    assert entry["task"] == "audit.create_partitions"
    assert "audit.create_partitions" in jobs.JOBS


def test_the_job_does_nothing_where_the_table_is_not_partitioned(db, plain):
    """SQLite, or PostgreSQL before migration 0022."""
    assert not audit_partitions.is_partitioned(plain)
    assert audit_partitions.create_partitions(today=date(2031, 11, 20)) == []


def test_the_migration_leaves_a_partitioned_table_with_months_ahead(db, partitioned):
    assert audit_partitions.is_partitioned(partitioned)
    names = audit_partitions.partitions(partitioned)
    this_month = datetime.now(UTC).date().replace(day=1)
    ahead = [audit_partitions.add_months(this_month, n) for n in range(4)]
    assert {audit_partitions.partition_name(m) for m in ahead} | {"audit_events_default"} <= names


def test_the_job_creates_the_coming_months_once(db, partitioned):
    created = audit_partitions.create_partitions(today=date(2031, 11, 20))
    assert created == [
        "audit_events_2031_11",
        "audit_events_2031_12",
        "audit_events_2032_01",
        "audit_events_2032_02",
    ]
    assert audit_partitions.create_partitions(today=date(2031, 11, 21)) == []
    # Attached with the parent's key, indexes and foreign keys.
    indexes = db.session.scalars(
        text("SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_events_2031_11'")
    ).all()
    assert sorted(i.split(" USING btree ")[1] for i in indexes) == [
        "(actor_id)",
        "(id, occurred_at)",
        "(patient_id, occurred_at)",
    ]
    references = db.session.scalars(
        text(
            "SELECT confrelid::regclass::text FROM pg_constraint"
            " WHERE conrelid = 'audit_events_2031_11'::regclass AND contype = 'f'"
        )
    ).all()
    assert sorted(references) == ["organisations", "patients", "users"]
    assert audit_partitions.create_partitions(today=date(2031, 12, 1)) == ["audit_events_2032_03"]


def test_events_land_in_their_month_or_the_default_partition(db, cast, partitioned):
    audit_partitions.create_partitions(today=date(2031, 11, 20))
    last_instant = _record(db, cast, datetime(2031, 11, 30, 23, 59, 59, tzinfo=UTC))
    first_instant = _record(db, cast, datetime(2031, 12, 1, 0, 0, tzinfo=UTC))
    no_month_yet = _record(db, cast, datetime(2035, 6, 1, 12, 0, tzinfo=UTC))
    assert _home(db, last_instant) == "audit_events_2031_11"
    assert _home(db, first_instant) == "audit_events_2031_12"
    assert _home(db, no_month_yet) == "audit_events_default"  # stored all the same


def test_a_month_already_in_the_default_partition_is_logged_and_the_others_made(
    db, cast, partitioned, caplog
):
    _record(db, cast, datetime(2035, 6, 1, 12, 0, tzinfo=UTC))
    with caplog.at_level(logging.ERROR, logger="portal.audit_partitions"):
        created = audit_partitions.create_partitions(today=date(2035, 5, 3))
    assert created == ["audit_events_2035_05", "audit_events_2035_07", "audit_events_2035_08"]
    assert "audit partition audit_events_2035_06 not created" in caplog.text
    assert db.session.scalar(select(AuditEvent.action)) == "plan.view"


def test_the_append_only_guard_still_refuses_changes(db, cast, partitioned):
    audit.record("plan.view", cast.a.id, actor_id=cast.users["owner"].id)
    db.session.commit()
    saved = db.session.scalars(select(AuditEvent)).one()
    saved.action = "nothing.happened"
    with pytest.raises(AuditTampering):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(AuditEvent)).one())
    with pytest.raises(AuditTampering):
        db.session.flush()
    db.session.rollback()
    for statement in (update(AuditEvent).values(detail="x"), delete(AuditEvent)):
        with pytest.raises(AuditTampering):
            db.session.execute(statement)
        db.session.rollback()
    assert db.session.scalars(select(AuditEvent.action)).all() == ["plan.view"]


def test_the_activity_page_shows_events_from_every_partition(db, cast, login, app, partitioned):
    from tests.conftest import sign_in

    audit_partitions.ensure_months(partitioned, date(2025, 7, 1), date(2025, 8, 1))
    _record(db, cast, datetime(2025, 7, 1, 12, 0, tzinfo=UTC), "crisis.view")
    _record(db, cast, datetime(2025, 8, 1, 12, 0, tzinfo=UTC), "pdf.plan")
    carer = app.test_client()
    sign_in(carer, cast.users["carer_view"])
    assert carer.get(f"/patients/{cast.a.id}/plan").status_code == 200  # now: this month
    homes = {
        action: _home(db, event_id)
        for event_id, action in db.session.execute(select(AuditEvent.id, AuditEvent.action))
    }
    this_month = audit_partitions.partition_name(datetime.now(UTC).date())
    assert homes == {
        "crisis.view": "audit_events_2025_07",
        "pdf.plan": "audit_events_2025_08",
        "plan.view": this_month,
    }

    body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/activity").get_data(as_text=True)
    table = body.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    rows = table.split('<tr class="nhsuk-table__row">')[1:]
    assert len(rows) == 3
    for row, what in zip(
        rows,
        ("Looked at the care plan", "Downloaded the care plan", "Looked at the crisis plan"),
        strict=True,
    ):
        assert "Carer view" in row and what in row
