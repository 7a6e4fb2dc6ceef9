"""Coded values are enums, and the database itself refuses a value outside the enum."""

import pytest
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.exc import IntegrityError

from portal.models import Base, ReviewMeeting
from tests.factories import (
    make_conversation,
    make_emergency_access,
    make_invitation,
    make_membership,
)

CODED = sorted(
    (table.name, constraint.name)
    for table in Base.metadata.sorted_tables
    for constraint in table.constraints
    if isinstance(constraint, CheckConstraint)
)


def test_every_coded_column_named_in_the_issue_has_a_check_constraint():
    names = {name for _table, name in CODED}
    for expected in (
        "ck_goals_status",
        "ck_crisis_steps_level",
        "ck_contacts_kind",
        "ck_access_grants_scope",
        "ck_users_role",
        "ck_review_meetings_status",
        "ck_needs_sections_domain",
        "ck_wishes_kind",
        "ck_notifications_kind",
        "ck_notifications_status",
        "ck_notification_preferences_channel",
        "ck_register_imports_status",
    ):
        assert expected in names


@pytest.mark.parametrize(("table", "name"), CODED)
def test_the_database_refuses_a_value_outside_the_enum(db, cast, table, name):
    db.session.add(ReviewMeeting(plan_id=cast.plan_a.id))
    make_invitation(cast.a)
    make_conversation(cast.a)
    from portal.models import (
        Cis2RoleMapping,
        ConditionProposal,
        ConsentRecord,
        Notification,
        NotificationPreference,
        RegisterImport,
        SignInIdentity,
        SmartClient,
    )

    db.session.add_all(
        [
            ConsentRecord(patient_id=cast.a.id, share_with_care_team=True),
            Cis2RoleMapping(organisation_id=cast.org.id, role_code="R8000", role="professional"),
            SignInIdentity(user_id=cast.a.user_id, provider="nhs_login", subject="s-1"),
            ConditionProposal(patient_id=cast.a.id, condition_code="13645005"),
            SmartClient(client_id="app-1", name="App", kind="app", scope="user/*.read"),
            Notification(
                idempotency_key="coded-1",
                kind="plan_agreed",
                channel="email",
                user_id=cast.a.user_id,
                address="alice@example.org",
            ),
            NotificationPreference(user_id=cast.a.user_id, kind="plan_agreed", channel="sms"),
            RegisterImport(organisation_id=cast.org.id),
        ]
    )
    db.session.flush()
    make_membership(cast.a, cast.other_org, scope="view")
    make_emergency_access(cast.a, cast.users["professional"])
    db.session.flush()
    column = name.removeprefix(f"ck_{table}_")
    assert column in {c.name for c in Base.metadata.tables[table].columns}
    row = db.session.execute(text(f"SELECT min(id) FROM {table}")).scalar_one()  # noqa: S608
    assert row is not None, f"the cast has no {table} row to change"
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            text(f"UPDATE {table} SET {column} = 'not-a-code' WHERE id = :id"),  # noqa: S608
            {"id": row},
        )


def test_every_enum_value_is_accepted(db, cast):
    """The constraint and the enum agree: writing each value of the goal status works."""
    from portal.models import GoalStatus

    goal = cast.plan_a.goals[0]
    for status in GoalStatus:
        goal.status = status
        db.session.flush()
    assert inspect(goal).persistent
