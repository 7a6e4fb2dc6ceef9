"""The Alembic migrations build exactly the schema the models describe, on each database."""

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, create_engine, text

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
