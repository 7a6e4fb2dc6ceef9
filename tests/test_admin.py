"""Administration: staff accounts and organisations, for administrators only."""

import re
import time
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from portal.models import Organisation, PasswordResetToken, Role, User
from portal.models.base import utcnow
from tests.conftest import sign_in
from tests.factories import CAST_KEYS, PASSWORD, make_org, make_user
from tests.support import events, use_outbox

STRONG = "correct horse battery staple 42"


@pytest.fixture
def outbox(app, monkeypatch, tmp_path):
    return use_outbox(app, monkeypatch, tmp_path)


@pytest.fixture
def admin(db):
    user = make_user(Role.ADMIN, display_name="Ada Admin", email="ada@example.org")
    db.session.commit()
    return user


@pytest.fixture
def nurse(db):
    org = make_org("Riverside")
    user = make_user(Role.PROFESSIONAL, org, display_name="Nia Nurse", email="nia@example.org")
    db.session.commit()
    return user


def fresh(db, user) -> User:
    return db.session.get(User, user.id, populate_existing=True)


def text(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- #
# Who reaches the admin pages
# --------------------------------------------------------------------------- #

# (method, path, admin's status). {nurse} is a professional's account, {org} an organisation.
ROUTES = [
    ("GET", "/admin/", 200),
    ("GET", "/admin/organisations", 200),
    ("GET", "/admin/accounts/new", 200),
    ("POST", "/admin/accounts/new", 200),  # empty form: shown again with errors
    ("GET", "/admin/accounts/{nurse}", 200),
    ("GET", "/admin/accounts/{nurse}/edit", 200),
    ("POST", "/admin/accounts/{nurse}/edit", 200),
    ("GET", "/admin/accounts/{nurse}/deactivate", 200),
    ("GET", "/admin/accounts/{nurse}/reactivate", 200),
    ("GET", "/admin/accounts/{nurse}/reset-two-step-verification", 200),
    ("GET", "/admin/accounts/{nurse}/send-password-link", 200),
    ("POST", "/admin/accounts/{nurse}/send-password-link", 302),
    ("POST", "/admin/accounts/{nurse}/organisations", 302),  # no code: back, with a message
    ("POST", "/admin/accounts/99999/organisations/{org}/leave", 404),
    ("GET", "/admin/organisations/new", 200),
    ("POST", "/admin/organisations/new", 200),
    ("GET", "/admin/organisations/{org}/edit", 200),
    ("POST", "/admin/organisations/{org}/edit", 200),
    ("GET", "/admin/cis2-roles", 200),
    ("POST", "/admin/cis2-roles", 200),  # empty form: shown again with errors
    ("POST", "/admin/cis2-roles/99999/remove", 404),
    # Patients and carers are not managed here; forged ids do not exist.
    ("GET", "/admin/accounts/{patient}", 404),
    ("GET", "/admin/accounts/{carer}/edit", 404),
    ("POST", "/admin/accounts/{patient}/deactivate", 404),
    ("GET", "/admin/accounts/99999", 404),
    ("POST", "/admin/accounts/99999/reset-two-step-verification", 404),
    ("GET", "/admin/organisations/99999/edit", 404),
]


@pytest.mark.parametrize("who", CAST_KEYS)
@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_only_administrators_reach_the_admin_pages(cast, request_as, outbox, who, route):
    method, template, admin_status = route
    url = template.format(
        nurse=cast.users["professional"].id,
        org=cast.org.id,
        patient=cast.users["owner"].id,
        carer=cast.users["carer_view"].id,
    )
    expected = {"admin": admin_status, "anonymous": 302}.get(who, 404)
    response = request_as(cast.users[who], method, url, data={})
    assert response.status_code == expected
    if who == "anonymous":
        assert "/sign-in" in response.headers["Location"]


def test_every_admin_route_is_in_the_matrix(app):
    adapter = app.url_map.bind("localhost")
    covered = {
        (adapter.match(p.format(nurse=1, org=1, patient=1, carer=1), method=m)[0], m)
        for m, p, _ in ROUTES
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                if method == "POST" and rule.endpoint in {
                    "admin.deactivate",
                    "admin.reactivate",
                    "admin.reset_mfa",
                }:
                    continue  # changes covered by the journeys below
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule}"


def test_admins_still_never_reach_plan_content(cast, request_as):
    admin = cast.users["admin"]
    for url in (f"/patients/{cast.a.id}/plan", f"/patients/{cast.a.id}/crisis"):
        assert request_as(admin, "GET", url).status_code == 404


def test_the_admin_home_page_points_to_the_admin_area(login, admin):
    page = text(login(admin).get("/"))
    assert 'href="/admin/"' in page


def test_every_change_needs_a_recent_password(client, db, admin, nurse):
    sign_in(client, admin)
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - 3600
    assert client.get("/admin/").status_code == 200  # looking needs no fresh password
    for url in (
        "/admin/accounts/new",
        f"/admin/accounts/{nurse.id}/edit",
        f"/admin/accounts/{nurse.id}/deactivate",
        "/admin/organisations/new",
    ):
        response = client.post(url, data={})
        assert "/confirm-password" in response.headers["Location"], url
    assert fresh(db, nurse).active
    assert not events(db, "admin.account_deactivated")


# --------------------------------------------------------------------------- #
# The accounts list
# --------------------------------------------------------------------------- #


def test_the_list_shows_staff_only_with_their_state(login, db, admin, nurse):
    patient = make_user(Role.PATIENT, display_name="Pat Patient")
    carer = make_user(Role.CARER, display_name="Cara Carer")
    nurse.mfa_enabled = True
    nurse.last_login_at = utcnow()
    make_user(Role.COMMISSIONER, display_name="Cole Commissioner", active=False)
    db.session.commit()
    page = text(login(admin).get("/admin/"))
    for name in ("Ada Admin", "Nia Nurse", "Cole Commissioner", "Riverside", "Deactivated"):
        assert name in page
    assert patient.display_name not in page and carer.display_name not in page
    assert "Patient accounts are not managed here" in page
    table = page[page.index("<tbody") :]
    row = table[table.index("Nia Nurse") :].split("</tr>")[0]
    assert ">On<" in row and "Never" not in row
    admin_row = table[table.index("Ada Admin") :].split("</tr>")[0]
    assert ">Off<" in admin_row and "Never" in admin_row


def test_search_by_name_or_email_and_pages_keep_the_search(login, db, admin):
    for n in range(30):
        make_user(Role.PROFESSIONAL, display_name=f"Sam Smith {n:02d}", email=f"s{n}@nhs.net")
    make_user(Role.COMMISSIONER, display_name="Other Person", email="other@example.org")
    db.session.commit()
    client = login(admin)
    by_name = text(client.get("/admin/?q=smith"))
    assert "30 accounts" in by_name and "Other Person" not in by_name
    assert "/admin/?q=smith&amp;page=2" in by_name or "/admin/?page=2&amp;q=smith" in by_name
    second = text(client.get("/admin/?q=smith&page=2"))
    assert "Sam Smith 29" in second and "Sam Smith 00" not in second
    assert "Other Person" in text(client.get("/admin/?q=OTHER%40example"))
    assert "No accounts match" in text(client.get("/admin/?q=%25"))  # % is not a wildcard
    assert client.get("/admin/?page=-5&q=" + "x" * 5000).status_code == 200


def test_the_list_takes_the_same_queries_whatever_the_number_of_accounts(
    login, db, admin, count_queries
):
    client = login(admin)

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/admin/").status_code == 200
        return counter.count

    for _ in range(3):
        make_user(Role.PROFESSIONAL, make_org())
    db.session.commit()
    few = queries()
    for _ in range(20):
        make_user(Role.PROFESSIONAL, make_org())
    db.session.commit()
    assert queries() == few


# --------------------------------------------------------------------------- #
# Adding an account
# --------------------------------------------------------------------------- #

NEW = {
    "display_name": "Priya Patel",
    "email": "priya@nhs.net",
    "role": "professional",
    "organisation": "t00001",
    "job_title": "Practice nurse",
    "can_audit": "y",
}


def _link(outbox, email) -> str:
    mail = outbox.to(email)[-1]
    return re.search(r"http://localhost(/reset-password/\S+)", mail.get_content()).group(1)


def test_a_new_account_gets_a_link_to_choose_a_password_then_sets_up_mfa(
    app, client, db, admin, outbox
):
    org = Organisation(ods_code="T00001", name="Town practice")
    db.session.add(org)
    db.session.commit()
    sign_in(client, admin)
    response = client.post("/admin/accounts/new", data=NEW)
    assert response.status_code == 302
    user = db.session.scalars(select(User).where(User.email == "priya@nhs.net")).one()
    assert (user.role, user.organisation_id, user.job_title, user.can_audit) == (
        "professional",
        org.id,
        "Practice nurse",
        True,
    )
    assert not user.mfa_enabled
    [event] = events(db, "admin.account_created")
    assert (event.actor_id, event.detail, event.patient_id) == (admin.id, f"user {user.id}", None)
    [token] = db.session.scalars(select(PasswordResetToken)).all()
    assert timedelta(hours=71) < token.expires_at - utcnow() <= timedelta(hours=72)
    mail = outbox.to("priya@nhs.net")[-1]
    assert "two-step verification" in mail.get_content()
    # Nobody can sign in before the password is chosen.
    them = app.test_client()
    refused = them.post("/sign-in", data={"email": "priya@nhs.net", "password": ""})
    assert refused.status_code == 200

    link = _link(outbox, "priya@nhs.net")
    assert them.post(link, data={"password": STRONG, "confirm": STRONG}).status_code == 302
    signed = them.post("/sign-in", data={"email": "priya@nhs.net", "password": STRONG})
    assert signed.status_code == 302
    assert them.get("/").headers["Location"].endswith("/account/mfa/set-up")
    # The link works once.
    assert "This link has expired" in text(app.test_client().get(link))


def test_adding_an_account_refuses_bad_input_and_keeps_what_was_typed(login, db, admin, nurse):
    client = login(admin)
    cases = [
        ({"email": "NIA@example.org"}, "An account with this email address already exists"),
        ({"display_name": ""}, "Enter their full name"),
        ({"display_name": "x" * 201}, "Name must be 200 characters or fewer"),
        ({"email": "not an email"}, "Enter an email address in the correct format"),
        ({"role": "patient"}, "Not a valid choice"),
        ({"organisation": "A8-1"}, "Enter an ODS code of 3 to 6 capital letters"),
        ({"organisation": "ZZZ999"}, "No organisation has this ODS code"),
        ({"organisation": ""}, "Enter the ODS code of their organisation"),
        ({"job_title": "j" * 121}, "Job title must be 120 characters or fewer"),
    ]
    before = db.session.scalar(select(User.id).order_by(User.id.desc()))
    for change, message in cases:
        data = {**NEW, "organisation": nurse.organisation.ods_code, **change}
        page = text(client.post("/admin/accounts/new", data=data))
        assert "There is a problem" in page and message in page, change
        kept = change.get("job_title", "Practice nurse")
        assert f'value="{kept}"' in page  # nothing typed is lost
    assert db.session.scalar(select(User.id).order_by(User.id.desc())) == before
    assert not events(db, "admin.account_created")


def test_commissioners_and_admins_need_no_organisation_and_never_audit(login, db, admin, outbox):
    data = {**NEW, "role": "commissioner", "organisation": ""}
    assert login(admin).post("/admin/accounts/new", data=data).status_code == 302
    user = db.session.scalars(select(User).where(User.email == "priya@nhs.net")).one()
    assert (user.role, user.organisation_id, user.can_audit) == ("commissioner", None, False)


def test_hostile_names_are_stored_as_typed_and_shown_escaped(login, db, admin, nurse, outbox):
    name = '<script>alert("x")</script> O\'Brien'
    data = {**NEW, "display_name": name, "organisation": nurse.organisation.ods_code}
    client = login(admin)
    response = client.post("/admin/accounts/new", data=data)
    user = db.session.scalars(select(User).where(User.email == "priya@nhs.net")).one()
    assert user.display_name == name
    page = text(client.get(response.headers["Location"]))
    assert str(escape(name)) in page and name not in page


def test_a_new_link_replaces_the_old_one(app, login, db, admin, nurse, outbox):
    client = login(admin)
    client.post(f"/admin/accounts/{nurse.id}/send-password-link")
    first = _link(outbox, nurse.email)
    client.post(f"/admin/accounts/{nurse.id}/send-password-link")
    second = _link(outbox, nurse.email)
    assert first != second
    them = app.test_client()
    assert "This link has expired" in text(them.get(first))
    assert "Choose a new password" in text(them.get(second))
    assert len(events(db, "admin.password_link_sent")) == 2


# --------------------------------------------------------------------------- #
# Changing, deactivating, reactivating, resetting two-step verification
# --------------------------------------------------------------------------- #


def test_editing_an_account(login, db, admin, nurse):
    other = make_org("Hillview")
    db.session.commit()
    client = login(admin)
    form = text(client.get(f"/admin/accounts/{nurse.id}/edit"))
    version = re.search(r'name="version" type="hidden" value="(\w+)"', form).group(1)
    assert 'value="Nia Nurse"' in form and nurse.organisation.ods_code in form
    data = {
        "display_name": "Nia Jones",
        "role": "professional",
        "organisation": other.ods_code.lower(),
        "job_title": "Community matron",
        "can_audit": "y",
        "version": version,
    }
    response = client.post(f"/admin/accounts/{nurse.id}/edit", data=data)
    assert response.status_code == 302
    nurse = fresh(db, nurse)
    assert (nurse.display_name, nurse.organisation_id, nurse.job_title, nurse.can_audit) == (
        "Nia Jones",
        other.id,
        "Community matron",
        True,
    )
    [event] = events(db, "admin.account_changed")
    assert (event.actor_id, event.detail) == (admin.id, f"user {nurse.id}")


def test_a_stale_edit_shows_both_versions_and_saves_nothing(login, db, admin, nurse):
    client = login(admin)
    form = text(client.get(f"/admin/accounts/{nurse.id}/edit"))
    version = re.search(r'name="version" type="hidden" value="(\w+)"', form).group(1)
    nurse.display_name = "Changed Elsewhere"
    db.session.commit()
    data = {
        "display_name": "My Typing",
        "role": "professional",
        "organisation": nurse.organisation.ods_code,
        "version": version,
    }
    page = text(client.post(f"/admin/accounts/{nurse.id}/edit", data=data))
    assert "Someone else changed this while you were editing" in page
    assert "Changed Elsewhere" in page and 'value="My Typing"' in page
    assert fresh(db, nurse).display_name == "Changed Elsewhere"
    # Saving again, knowingly, keeps the typed version.
    new_version = re.search(r'name="version" type="hidden" value="(\w+)"', page).group(1)
    client.post(f"/admin/accounts/{nurse.id}/edit", data={**data, "version": new_version})
    assert fresh(db, nurse).display_name == "My Typing"


def test_deactivating_ends_their_sessions_and_stops_sign_in(app, login, db, admin, nurse, outbox):
    them = app.test_client()
    sign_in(them, nurse)
    assert them.get("/worklist").status_code == 200  # the professional's home
    client = login(admin)
    assert "Deactivate the account of Nia Nurse?" in text(
        client.get(f"/admin/accounts/{nurse.id}/deactivate")
    )
    assert client.post(f"/admin/accounts/{nurse.id}/deactivate").status_code == 302

    assert not fresh(db, nurse).active
    assert them.get("/").headers["Location"].startswith("/sign-in")
    refused = them.post("/sign-in", data={"email": nurse.email, "password": PASSWORD})
    assert refused.status_code == 200
    assert "Enter a correct email address and password" in text(refused)
    assert "deactivated" in outbox.to(nurse.email)[-1]["Subject"]
    [event] = events(db, "admin.account_deactivated")
    assert (event.actor_id, event.detail) == (admin.id, f"user {nurse.id}")
    assert "Deactivated" in text(client.get("/admin/"))

    # Reactivated, they sign in again with their password.
    assert client.post(f"/admin/accounts/{nurse.id}/reactivate").status_code == 302
    assert fresh(db, nurse).active
    signed = them.post("/sign-in", data={"email": nurse.email, "password": PASSWORD})
    assert signed.status_code == 302
    assert len(events(db, "admin.account_reactivated")) == 1


def test_resetting_mfa_clears_it_ends_sessions_and_asks_for_set_up(
    app, login, db, admin, nurse, outbox
):
    nurse.mfa_enabled = True
    nurse.mfa_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    nurse.recovery_codes = '["x"]'
    db.session.commit()
    them = app.test_client()
    sign_in(them, nurse)
    client = login(admin)
    assert client.post(f"/admin/accounts/{nurse.id}/reset-two-step-verification").status_code == 302

    nurse = fresh(db, nurse)
    assert (nurse.mfa_enabled, nurse.mfa_secret, nurse.recovery_codes) == (False, None, None)
    assert them.get("/").headers["Location"].startswith("/sign-in")
    # Signing in with the password alone now leads straight to setting it up again.
    assert (
        them.post("/sign-in", data={"email": nurse.email, "password": PASSWORD}).status_code == 302
    )
    assert them.get("/").headers["Location"].endswith("/account/mfa/set-up")
    assert "two-step verification" in outbox.to(nurse.email)[-1].get_content()
    [event] = events(db, "admin.mfa_reset")
    assert (event.actor_id, event.detail) == (admin.id, f"user {nurse.id}")


def test_an_admin_cannot_deactivate_themselves(login, db, admin):
    client = login(admin)
    page = text(client.get(f"/admin/accounts/{admin.id}/deactivate"))
    assert "You cannot deactivate your own account" in page
    response = client.post(f"/admin/accounts/{admin.id}/deactivate")
    assert "There is a problem" in text(response)
    assert fresh(db, admin).active
    assert not events(db, "admin.account_deactivated")


def test_the_last_active_admin_keeps_the_role(login, db, admin):
    client = login(admin)
    data = {"display_name": "Ada Admin", "role": "commissioner"}
    url = f"/admin/accounts/{admin.id}/edit"

    def version():
        page = text(client.get(url))
        return re.search(r'name="version" type="hidden" value="(\w+)"', page).group(1)

    page = text(client.post(url, data={**data, "version": version()}))
    assert "This is the only active administrator" in page
    assert fresh(db, admin).role == Role.ADMIN
    # A deactivated administrator does not count...
    other = make_user(Role.ADMIN, active=False)
    db.session.commit()
    page = text(client.post(url, data={**data, "version": version()}))
    assert "This is the only active administrator" in page
    # ... an active one does.
    other.active = True
    db.session.commit()
    assert client.post(url, data={**data, "version": version()}).status_code == 302
    assert fresh(db, admin).role == Role.COMMISSIONER


def test_actions_that_do_not_apply_are_explained_not_done(login, db, admin, nurse, outbox):
    client = login(admin)
    assert "already active" in text(client.post(f"/admin/accounts/{nurse.id}/reactivate"))
    nurse.active = False
    db.session.commit()
    page = text(client.post(f"/admin/accounts/{nurse.id}/send-password-link"))
    assert "Reactivate the account first" in page
    assert not outbox.messages
    assert not events(db, "admin.password_link_sent")


# --------------------------------------------------------------------------- #
# Organisations
# --------------------------------------------------------------------------- #


def test_an_organisation_of_another_kind(login, db, admin):
    """Organisations beyond GP practices: a hospice, with its kind shown in the list."""
    client = login(admin)
    response = client.post(
        "/admin/organisations/new",
        data={
            "name": "St Anne's Hospice",
            "ods_code": "RX7",
            "kind": "hospice",
            "reply_working_days": "2",
        },
    )
    assert response.status_code == 302
    assert db.session.scalars(select(Organisation)).one().kind == "hospice"
    listed = text(client.get("/admin/organisations"))
    assert "Hospice" in listed
    refused = client.post(
        "/admin/organisations/new",
        data={"name": "X", "ods_code": "RX6", "kind": "spaceship", "reply_working_days": "2"},
    )
    assert refused.status_code == 200 and "Not a valid choice" in text(refused)
    assert db.session.scalars(select(Organisation.ods_code)).all() == ["RX7"]


def test_adding_and_changing_an_organisation(login, db, admin):
    client = login(admin)
    response = client.post(
        "/admin/organisations/new",
        data={"name": "Moor Lane Surgery", "ods_code": " b82005 ", "reply_working_days": "3"},
    )
    assert response.status_code == 302
    org = db.session.scalars(select(Organisation)).one()
    assert (org.name, org.ods_code, org.reply_working_days) == ("Moor Lane Surgery", "B82005", 3)
    assert "Moor Lane Surgery" in text(client.get("/admin/organisations"))

    form = text(client.get(f"/admin/organisations/{org.id}/edit"))
    version = re.search(r'name="version" type="hidden" value="(\w+)"', form).group(1)
    data = {
        "name": "Moor Lane Medical Centre",
        "ods_code": "B82005",
        "reply_working_days": "3",
        "version": version,
    }
    assert client.post(f"/admin/organisations/{org.id}/edit", data=data).status_code == 302
    assert db.session.get(Organisation, org.id, populate_existing=True).name == data["name"]
    [created] = events(db, "admin.organisation_created")
    [changed] = events(db, "admin.organisation_changed")
    assert created.detail == changed.detail == f"organisation {org.id}"
    assert created.actor_id == changed.actor_id == admin.id


@pytest.mark.parametrize(
    ("name", "code", "days", "message"),
    [
        ("", "A81001", "2", "Enter the organisation's name"),
        ("x" * 201, "A81001", "2", "Name must be 200 characters or fewer"),
        ("Practice", "", "2", "Enter the ODS code"),
        ("Practice", "AB", "2", "Enter an ODS code of 3 to 6 capital letters"),
        ("Practice", "A810012", "2", "Enter an ODS code of 3 to 6 capital letters"),
        ("Practice", "A81-01", "2", "Enter an ODS code of 3 to 6 capital letters"),
        ("Practice", "<b>1</b>", "2", "Enter an ODS code of 3 to 6 capital letters"),
        ("Practice", "TAKEN", "2", "Another organisation already has this ODS code"),
        ("Practice", "A81001", "", "Enter the number of working days"),
        ("Practice", "A81001", "0", "Enter a whole number of working days from 1 to 10"),
        ("Practice", "A81001", "11", "Enter a whole number of working days from 1 to 10"),
        ("Practice", "A81001", "²", "Enter a whole number of working days from 1 to 10"),
        ("Practice", "A81001", "9" * 400, "Enter a whole number of working days from 1 to 10"),
    ],
)
def test_organisation_input_is_checked(login, db, admin, name, code, days, message):
    db.session.add(Organisation(ods_code="TAKEN", name="Taken"))
    db.session.commit()
    page = text(
        login(admin).post(
            "/admin/organisations/new",
            data={"name": name, "ods_code": code, "reply_working_days": days},
        )
    )
    assert "There is a problem" in page and message in page
    assert db.session.scalars(select(Organisation)).all()[-1].ods_code == "TAKEN"
    assert not events(db, "admin.organisation_created")


def test_a_stale_organisation_edit_is_not_saved(login, db, admin):
    org = make_org("First name")
    db.session.commit()
    client = login(admin)
    data = {"name": "Mine", "ods_code": org.ods_code, "reply_working_days": "2", "version": "stale"}
    page = text(client.post(f"/admin/organisations/{org.id}/edit", data=data))
    assert "Someone else changed this while you were editing" in page
    assert db.session.get(Organisation, org.id).name == "First name"
