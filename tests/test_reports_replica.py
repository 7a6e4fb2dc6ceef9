"""Reports read from the reports replica when one is set, and from the primary when it fails."""

import logging
import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from portal import replica
from portal.models import AuditEvent, Base, Organisation
from tests.compliance_factories import make_meeting, make_survey
from tests.conftest import ADMIN_URL
from tests.factories import make_patient, make_plan

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:9/no_replica_here"


@pytest.fixture
def second_database(tmp_path):
    """An empty database of the suite's own kind, standing in for a replica."""
    if not ADMIN_URL:
        yield "sqlite:///" + str(tmp_path / "replica.sqlite3")
        return
    name = f"portal_replica_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    replica.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def replica_at(app, monkeypatch):
    """Points the portal's reports at a replica address for one test."""

    def point(url: str) -> None:
        monkeypatch.setitem(app.config, "REPORTS_DATABASE_URL", url)

    yield point
    replica.dispose()


def _with_schema(url: str, *organisations: str) -> str:
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(
            Organisation(ods_code=f"R{i:05d}", name=name) for i, name in enumerate(organisations)
        )
        session.commit()
    engine.dispose()
    return url


def _report(login, cast) -> str:
    response = login(cast.users["commissioner"]).get("/reports?month=2011-03")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_report_reads_from_the_replica_and_records_the_view_on_the_primary(
    cast, login, db, second_database, replica_at
):
    replica_at(_with_schema(second_database, "Replica Health Centre"))
    body = _report(login, cast)
    assert "Replica Health Centre" in body
    assert "Home practice" not in body  # the primary's organisations are not read
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.view"))
    assert [e.actor_id for e in views] == [cast.users["commissioner"].id]


def test_an_unreachable_replica_leaves_the_report_on_the_primary_and_is_logged(
    cast, login, replica_at, caplog
):
    replica_at(UNREACHABLE)
    with caplog.at_level(logging.WARNING, logger="portal.replica"):
        body = _report(login, cast)
    assert "Home practice" in body
    assert "Reports replica unavailable, reading from the primary" in caplog.text


def test_a_replica_too_far_behind_is_not_read(
    cast, login, app, second_database, replica_at, monkeypatch, caplog
):
    replica_at(_with_schema(second_database, "Replica Health Centre"))
    limit = app.config["REPORTS_REPLICA_MAX_LAG_SECONDS"]
    monkeypatch.setattr(replica, "_lag_seconds", lambda engine: limit + 1)
    with caplog.at_level(logging.WARNING, logger="portal.replica"):
        body = _report(login, cast)
    assert "Home practice" in body and "Replica Health Centre" not in body
    assert "behind" in caplog.text


def test_a_replica_failing_mid_page_falls_back_to_the_primary(
    cast, login, db, second_database, replica_at, caplog
):
    """A replica that answers but cannot run the survey summary (here: it has no tables)."""
    patient = make_patient(cast.org)
    make_survey(make_meeting(make_plan(patient), date(2026, 1, 1)), patient, comment="From A")
    db.session.commit()
    replica_at(second_database)
    with caplog.at_level(logging.WARNING, logger="portal.replica"):
        response = login(cast.users["professional"]).get("/surveys")
    assert response.status_code == 200
    assert "From A" in response.get_data(as_text=True)
    assert "Reports replica failed during a read" in caplog.text
    views = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "survey.summary_view")
    )
    assert len(list(views)) == 1
