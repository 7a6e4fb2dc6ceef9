"""The Alembic migrations build exactly the schema the models describe, on each database."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, create_engine, text
from sqlalchemy.exc import IntegrityError

from portal import create_app
from portal.extensions import db
from portal.models import Base
from tests.conftest import ADMIN_URL


def _fresh_database(tmp_path):
    if not ADMIN_URL:
        return "sqlite:///" + str(tmp_path / "migrated.sqlite3"), None
    name = f"portal_migrate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return ADMIN_URL.rpartition("/")[0] + f"/{name}", (admin, name)


def _check_constraints(inspector) -> set[tuple[str, str]]:
    return {
        (table, check["name"])
        for table in inspector.get_table_names()
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
    monkeypatch.setenv("PORTAL_ENV", "testing")
    url, cleanup = _fresh_database(tmp_path)
    app = create_app({"ENV": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
                conditions = conn.execute(text("SELECT count(*) FROM conditions")).scalar_one()
                checks = _check_constraints(db.inspect(conn))
            assert diff == []
            # Alembic's comparison leaves CHECK constraints out: they are compared here.
            assert checks == _check_constraints_of_models()
            assert conditions == 16  # Appendix 1, loaded by the first migration
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert not db.inspect(conn).has_table("patients")
            db.engine.dispose()
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_easy_read_is_taken_from_communication_needs_and_given_back_as_large_print(
    tmp_path, monkeypatch
):
    """0021: a patient whose needs ask for easy read starts with it; going down, easy read
    becomes large print; the database refuses a print it does not know."""
    monkeypatch.setenv("PORTAL_ENV", "testing")
    url, cleanup = _fresh_database(tmp_path)
    app = create_app({"ENV": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    patient = (
        "INSERT INTO patients (organisation_id, nhs_number, given_name, family_name,"
        " date_of_birth, sex, ethnicity_category, preferred_language, interpreter_needed,"
        " communication_needs, created_at) VALUES (1, :nhs, 'A', 'B', '1950-01-01', 'female',"
        " 'not_stated', 'en', false, :needs, '2026-01-01 00:00:00')"
    )
    sizes = "SELECT nhs_number, print_size FROM patients ORDER BY nhs_number"
    try:
        with app.app_context():
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
            db.engine.dispose()
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
