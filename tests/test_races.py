"""Races: no 500 and no silent overwrite, and single-use values used once.

Two kinds of test. Interleaved ones put another connection's write exactly between a save's
version check and its write (the moment a real race hits); they run on SQLite and
PostgreSQL. Concurrent ones fire the same request from several threads, each its own browser
and database connection, at once; they run on PostgreSQL only: SQLite lets one writer at a
time hold the whole database, so there they would test SQLite's lock, not the portal.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
from sqlalchemy import func, select, text

from portal import editing
from portal.auth import mfa
from portal.auth import services as auth_services
from portal.contingency import services as contingency_services
from portal.meetings import services as meetings_services
from portal.models import CarePlan, CareTeamMember, Goal, PasswordResetToken, User
from tests.conftest import ADMIN_URL, sign_in
from tests.editing_helpers import IN_CLINIC
from tests.factories import PASSWORD, make_user
from tests.test_contingency import MEMBER

on_postgresql = pytest.mark.skipif(
    not (ADMIN_URL or "").startswith("postgresql"),
    reason="SQLite serialises writers with one database lock: concurrency is PostgreSQL's",
)
WRITERS = 8


def _goal(db, cast) -> Goal:
    return db.session.scalars(
        select(Goal).where(Goal.plan_id == cast.plan_a.id).order_by(Goal.id)
    ).first()


def _bump_after_check(monkeypatch, engine, table: str, row_id: int):
    """Another connection saves the row right after this request's version check passes."""
    real = editing.check_version
    done = []

    def check_then_other_save(item, seen, fields):
        real(item, seen, fields)
        if not done:
            done.append(True)
            with engine.begin() as other:
                other.execute(
                    text(f"UPDATE {table} SET version = version + 1 WHERE id = :id"),  # noqa: S608
                    {"id": row_id},
                )

    for module in (editing, contingency_services, meetings_services):
        monkeypatch.setattr(module, "check_version", check_then_other_save)
    return done


@pytest.mark.real_commits  # the other save comes through a second connection
def test_a_save_overtaken_at_its_flush_gets_the_conflict_page_not_a_500(
    app, db, cast, login, monkeypatch
):
    goal = _goal(db, cast)
    done = _bump_after_check(monkeypatch, db.engine, "goals", goal.id)
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit",
        data={"title": "Mine, typed during the race", "version": str(goal.version)},
    )
    assert done and response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else changed this while you were editing" in page
    assert "Mine, typed during the race" in page  # kept in the form
    db.session.expire_all()
    assert _goal(db, cast).title == "Goal 1"  # nothing of the refused save was written


@pytest.mark.real_commits
def test_a_care_team_edit_overtaken_mid_save_is_a_conflict(app, db, cast, login, monkeypatch):
    member = CareTeamMember(plan_id=cast.plan_a.id, name="Dr Anna Patel", role="GP")
    db.session.add(member)
    db.session.commit()
    done = _bump_after_check(monkeypatch, db.engine, "care_team_members", member.id)
    response = login(cast.users["professional"]).post(
        f"/patients/{cast.a.id}/care-team/{member.id}",
        data={**MEMBER, "version": str(member.version)},
    )
    assert done and response.status_code == 409
    db.session.expire_all()
    assert db.session.get(CareTeamMember, member.id).name == "Dr Anna Patel"


def test_care_team_edits_carry_a_version_and_never_overwrite_silently(app, db, cast, login):
    member = CareTeamMember(plan_id=cast.plan_a.id, name="Dr Anna Patel", role="GP")
    db.session.add(member)
    db.session.commit()
    url = f"/patients/{cast.a.id}/care-team/{member.id}"
    first = login(cast.users["professional"])
    page = first.get(url).get_data(as_text=True)
    assert 'name="version"' in page
    second = app.test_client()
    sign_in(second, cast.users["professional"])
    opened = str(member.version)
    assert second.post(url, data={**MEMBER, "role": "Heart failure nurse", "version": opened})
    response = first.post(url, data={**MEMBER, "role": "Community matron", "version": opened})
    assert response.status_code == 409
    assert "Heart failure nurse" in response.get_data(as_text=True)  # the saved version shown
    db.session.expire_all()
    assert db.session.get(CareTeamMember, member.id).role == "Heart failure nurse"
    # A form that lost its version is stale too; a removal of what was not seen is refused.
    assert first.post(url, data=MEMBER).status_code == 409
    first.post(f"{url}/remove", data={"version": opened})
    assert db.session.get(CareTeamMember, member.id) is not None


def test_the_named_contact_request_carries_a_version(app, db, cast, login):
    url = f"/patients/{cast.a.id}/named-contact/request"
    patient = login(cast.users["owner"])
    opened = str(db.session.get(CarePlan, cast.plan_a.id).version)
    carer = app.test_client()
    sign_in(carer, cast.users["carer_contribute"])
    assert carer.post(url, data={"reason": "Mum needs Welsh", "version": opened}).status_code == 302
    response = patient.post(url, data={"reason": "Someone nearer", "version": opened})
    assert response.status_code == 409
    assert "Mum needs Welsh" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CarePlan, cast.plan_a.id).named_contact_request == "Mum needs Welsh"


@pytest.mark.parametrize("version", ["²", "1²", "٣" * 30, "9" * 5000, "-1", " ", "1e3"])
def test_odd_version_numbers_are_stale_not_errors(db, cast, login, version):
    goal = _goal(db, cast)
    client = login(cast.users["owner"])
    response = client.post(
        f"/patients/{cast.a.id}/goals/{goal.id}/edit", data={"title": "x", "version": version}
    )
    assert response.status_code == 409
    response = client.post(
        f"/patients/{cast.a.id}/named-contact/request", data={"reason": "x", "version": version}
    )
    assert response.status_code == 409


# --- single-use values ------------------------------------------------------------------------


SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.mark.real_commits  # the other session writes through its own connection
def test_a_code_read_by_a_session_is_refused_once_another_session_used_it(app, db):
    user = make_user(mfa_secret=SECRET, mfa_enabled=True)
    db.session.commit()
    code = pyotp.TOTP(SECRET).now()
    stale = db.session.get(User, user.id)
    assert stale.mfa_last_step is None  # read before the other session used the code
    with db.engine.begin() as other:
        other.execute(
            text("UPDATE users SET mfa_last_step = :s WHERE id = :id"),
            {"s": mfa.matching_step(SECRET, code, None), "id": user.id},
        )
    assert mfa.verify_totp(stale, code) is False


@pytest.mark.real_commits
def test_a_recovery_code_read_by_two_sessions_works_for_one(app, db):
    user = make_user(mfa_secret=SECRET, mfa_enabled=True)
    codes = mfa.new_recovery_codes(user)
    db.session.commit()
    stale = db.session.get(User, user.id)
    assert stale.recovery_codes  # read before the other session used a code
    with db.engine.begin() as other:
        spent = text("UPDATE users SET recovery_codes = '[]' WHERE id = :id")
        other.execute(spent, {"id": user.id})
    assert mfa.use_recovery_code(stale, codes[0]) is False


@pytest.mark.real_commits
def test_a_reset_link_submitted_twice_at_once_sets_one_password(app, db):
    user = make_user()
    with app.test_request_context():
        raw = auth_services.issue_password_link(user, 1).rsplit("/", 1)[1]
        db.session.commit()
        first = auth_services.valid_reset_token(raw)
        second = db.session.scalars(select(PasswordResetToken)).one()  # read by the other tab
        assert auth_services.complete_reset(first, "first-new-password-x") is not None
        assert auth_services.complete_reset(second, "second-new-password-y") is None
    db.session.expire_all()
    assert auth_services.verify_password(db.session.get(User, user.id), "first-new-password-x")


# --- concurrent requests, PostgreSQL ---------------------------------------------------------


def _at_once(app, count: int, request) -> list:
    """``request(i)`` from ``count`` threads released together; their responses."""
    start = threading.Barrier(count)

    def run(i):
        with app.app_context():  # each thread its own session and connection
            start.wait()
            return request(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _signed_in(app, user) -> list:
    """One browser per writer, each signed in on its own."""
    clients = []
    for _ in range(WRITERS):
        client = app.test_client()
        sign_in(client, user)
        clients.append(client)
    return clients


def _one_saved_the_rest_conflict(responses) -> int:
    """Exactly one save went through and every other one saw the conflict page: its index."""
    codes = sorted(r.status_code for r in responses)
    assert codes == [302] + [409] * (WRITERS - 1), codes
    return next(i for i, r in enumerate(responses) if r.status_code == 302)


@on_postgresql
@pytest.mark.real_commits
def test_concurrent_saves_of_one_goal_one_wins_the_rest_see_the_conflict(app, db, cast):
    goal = _goal(db, cast)
    url = f"/patients/{cast.a.id}/goals/{goal.id}/edit"
    clients = _signed_in(app, cast.users["owner"])
    opened = str(goal.version)
    responses = _at_once(
        app,
        WRITERS,
        lambda i: clients[i].post(url, data={"title": f"Writer {i}", "version": opened}),
    )
    winner = _one_saved_the_rest_conflict(responses)
    db.session.expire_all()
    assert _goal(db, cast).title == f"Writer {winner}"


@on_postgresql
@pytest.mark.real_commits
def test_concurrent_care_team_edits_one_wins_none_is_lost(app, db, cast):
    member = CareTeamMember(plan_id=cast.plan_a.id, name="Dr Anna Patel", role="GP")
    db.session.add(member)
    db.session.commit()
    url = f"/patients/{cast.a.id}/care-team/{member.id}"
    clients = _signed_in(app, cast.users["professional"])
    responses = _at_once(
        app,
        WRITERS,
        lambda i: clients[i].post(url, data={**MEMBER, "role": f"Role {i}", "version": "1"}),
    )
    winner = _one_saved_the_rest_conflict(responses)
    db.session.expire_all()
    assert db.session.get(CareTeamMember, member.id).role == f"Role {winner}"


@on_postgresql
@pytest.mark.real_commits
def test_new_members_saved_at_once_never_pass_the_care_team_limit(app, db, cast):
    """With one place left, of many new members saved at the same instant one is added and
    every other form comes back with what was typed (409): the team never passes its limit."""
    from portal.limits import MAX_CARE_TEAM

    for i in range(MAX_CARE_TEAM - 1):
        db.session.add(CareTeamMember(plan_id=cast.plan_a.id, name=f"m{i}", role="r"))
    db.session.commit()
    url = f"/patients/{cast.a.id}/care-team/new"
    clients = _signed_in(app, cast.users["professional"])
    responses = _at_once(
        app, WRITERS, lambda i: clients[i].post(url, data={**MEMBER, "name": f"Writer {i}"})
    )
    assert sorted(r.status_code for r in responses) == [302] + [409] * (WRITERS - 1)
    refused = [r.get_data(as_text=True) for r in responses if r.status_code == 409]
    assert all("This has not been saved" in page for page in refused)
    count = select(func.count()).select_from(CareTeamMember)
    assert db.session.scalar(count.where(CareTeamMember.plan_id == cast.plan_a.id)) == (
        MAX_CARE_TEAM
    )


@on_postgresql
@pytest.mark.real_commits
def test_sections_written_with_the_patient_at_once_each_get_a_version(app, db, cast):
    """Each save by a professional with the patient is a new agreed version: saved at once,
    they are numbered one after the other and the last holds them all."""
    from portal.models import Domain, PlanVersion
    from portal.versions.services import latest_version

    domains = [d for d in Domain if d != Domain.HEALTH][:WRITERS]
    clients = _signed_in(app, cast.users["professional"])
    responses = _at_once(
        app,
        WRITERS,
        lambda i: clients[i].post(
            f"/patients/{cast.a.id}/about-me/{domains[i]}",
            data={"text": f"Said {i}", **IN_CLINIC},
        ),
    )
    assert [r.status_code for r in responses] == [302] * WRITERS
    db.session.expire_all()
    numbers = db.session.scalars(
        select(PlanVersion.number).where(PlanVersion.plan_id == cast.plan_a.id)
    ).all()
    assert sorted(numbers) == list(range(1, WRITERS + 1))
    last = latest_version(cast.plan_a.id).snapshot["needs"]
    assert {last[d]["text"] for d in domains} == {f"Said {i}" for i in range(WRITERS)}


@on_postgresql
@pytest.mark.real_commits
def test_one_two_step_code_lets_in_one_session_of_many(app, db):
    user = make_user(mfa_secret=SECRET, mfa_enabled=True)
    db.session.commit()
    clients = []
    for _ in range(WRITERS):
        client = app.test_client()
        client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
        clients.append(client)
    code = pyotp.TOTP(SECRET).now()
    responses = _at_once(
        app, WRITERS, lambda i: clients[i].post("/sign-in/code", data={"code": code})
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * (WRITERS - 1) + [302], codes


@pytest.mark.parametrize("path", ["contingency/steps/{step}", "contingency/usual-state"])
def test_a_crisis_form_that_lost_its_version_is_stale(db, cast, login, path):
    from portal.models import CrisisStep, UsualState

    step = db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == cast.plan_a.id)).one()
    usual = db.session.scalars(select(UsualState).where(UsualState.plan_id == cast.plan_a.id)).one()
    data = {"level": "amber", "signs": "Overwritten", "actions": "Overwritten", "mobility": "x"}
    url = f"/patients/{cast.a.id}/" + path.format(step=step.id)
    response = login(cast.users["owner"]).post(url, data=data)  # no version at all
    assert response.status_code == 200
    assert "Someone else changed this while you were editing" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CrisisStep, step.id).signs != "Overwritten"
    assert db.session.get(UsualState, usual.id).mobility != "x"
