"""The Alembic migrations build exactly the schema the models describe, on each database."""

import uuid
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, create_engine, text
from sqlalchemy.exc import IntegrityError

from portal import audit_partitions, create_app
from portal.extensions import db
from portal.models import AuditEvent, Base
from tests.conftest import ADMIN_URL


@contextmanager
def _migrations_app(tmp_path, monkeypatch):
    """The portal on an empty database of its own (dropped afterwards on PostgreSQL)."""
    monkeypatch.setenv("PORTAL_ENV", "testing")
    if not ADMIN_URL:
        url, admin = "sqlite:///" + str(tmp_path / "migrated.sqlite3"), None
    else:
        name = f"portal_migrate_{uuid.uuid4().hex[:12]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = ADMIN_URL.rpartition("/")[0] + f"/{name}"
    app = create_app({"ENV": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            yield app
            db.engine.dispose()
    finally:
        if admin:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _comparing(conn) -> MigrationContext:
    """Alembic's comparison as ``flask db migrate`` makes it: the audit partitions left out."""
    return MigrationContext.configure(conn, opts={"include_name": audit_partitions.include_name})


def _check_constraints(inspector) -> set[tuple[str, str]]:
    return {
        (table, check["name"])
        for table in inspector.get_table_names()
        if not audit_partitions.is_partition(table)
        for check in inspector.get_check_constraints(table)
    }


def _check_constraints_of_models() -> set[tuple[str, str]]:
    return {
        (table.name, constraint.name)
        for table in Base.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


def test_migrations_match_the_models_and_go_down_again(tmp_path, monkeypatch):
    with _migrations_app(tmp_path, monkeypatch):
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(_comparing(conn), Base.metadata)
            conditions = conn.execute(text("SELECT count(*) FROM conditions")).scalar_one()
            checks = _check_constraints(db.inspect(conn))
            audit_key = db.inspect(conn).get_pk_constraint("audit_events")
        assert diff == []
        # The one difference from the models, which Alembic does not compare: on PostgreSQL
        # the partitioned audit trail's key must contain its partition key.
        expected_key = ["id", "occurred_at"] if ADMIN_URL else ["id"]
        assert audit_key["constrained_columns"] == expected_key
        assert [c.name for c in AuditEvent.__table__.primary_key] == ["id"]
        # Alembic's comparison leaves CHECK constraints out: they are compared here.
        assert checks == _check_constraints_of_models()
        assert conditions == 16  # Appendix 1, loaded by the first migration
        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert not db.inspect(conn).has_table("patients")


def test_easy_read_is_taken_from_communication_needs_and_given_back_as_large_print(
    tmp_path, monkeypatch
):
    """0021: a patient whose needs ask for easy read starts with it; going down, easy read
    becomes large print; the database refuses a print it does not know."""
    patient = (
        "INSERT INTO patients (organisation_id, nhs_number, given_name, family_name,"
        " date_of_birth, sex, ethnicity_category, preferred_language, interpreter_needed,"
        " communication_needs, created_at) VALUES (1, :nhs, 'A', 'B', '1950-01-01', 'female',"
        " 'not_stated', 'en', false, :needs, '2026-01-01 00:00:00')"
    )
    sizes = "SELECT nhs_number, print_size FROM patients ORDER BY nhs_number"
    with _migrations_app(tmp_path, monkeypatch):
        upgrade(revision="0020_coded_notifications")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, ods_code, name, kind, created_at)"
                    " VALUES (1, 'A1', 'Practice', 'gp_practice', '2026-01-01 00:00:00')"
                )
            )
            for nhs, needs in (("1", "Easy read, please"), ("2", "Hearing loop"), ("3", None)):
                conn.execute(text(patient), {"nhs": nhs, "needs": needs})
        upgrade(revision="0021_patient")
        with db.engine.begin() as conn:
            assert conn.execute(text(sizes)).all() == [
                ("1", "easy_read"), ("2", "standard"), ("3", "standard")
            ]
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE patients SET print_size = 'huge'"))
        downgrade(revision="0020_coded_notifications")
        with db.engine.begin() as conn:
            assert conn.execute(text(sizes)).all()[0] == ("1", "large")


BEFORE_PARTITIONS = "0021_patient"
OLD_EVENTS = ("2025-03-14 10:00:00+00", "2026-11-30 23:59:59+00", "2026-12-01 00:00:00+00")


def _events(conn) -> list[tuple]:
    return conn.execute(text("SELECT id, occurred_at, action FROM audit_events ORDER BY id")).all()


def _add_event(conn, when: str) -> int:
    return conn.execute(
        text(
            "INSERT INTO audit_events (occurred_at, action, detail)"
            " VALUES (:when, 'plan.view', '') RETURNING id"
        ),
        {"when": when},
    ).scalar_one()


@pytest.mark.skipif(not ADMIN_URL, reason="the audit trail is partitioned on PostgreSQL only")
def test_partitioning_the_audit_trail_keeps_its_events_both_ways(tmp_path, monkeypatch):
    with _migrations_app(tmp_path, monkeypatch):
        upgrade(revision=BEFORE_PARTITIONS)
        with db.engine.begin() as conn:
            for when in OLD_EVENTS:
                _add_event(conn, when)
            before = _events(conn)

        upgrade()
        with db.engine.begin() as conn:
            assert audit_partitions.is_partitioned(conn)
            assert _events(conn) == before
            homes = dict(
                conn.execute(text("SELECT id, tableoid::regclass::text FROM audit_events")).all()
            )
            assert [homes[row.id] for row in before] == [
                "audit_events_2025_03",
                "audit_events_2026_11",
                "audit_events_2026_12",
            ]
            names = audit_partitions.partitions(conn)
            assert {"audit_events_2025_04", "audit_events_default"} <= names
            # Ids go on from the last one, from the same sequence.
            added = _add_event(conn, "2026-12-07 12:00:00+00")
            assert added > before[-1].id
            after = _events(conn)

        downgrade(revision=BEFORE_PARTITIONS)
        with db.engine.begin() as conn:
            assert not audit_partitions.is_partitioned(conn)
            inspector = db.inspect(conn)
            assert inspector.get_pk_constraint("audit_events")["constrained_columns"] == ["id"]
            assert not any(map(audit_partitions.is_partition, inspector.get_table_names()))
            assert _events(conn) == after
            assert _add_event(conn, "2026-12-07 12:01:00+00") > added
