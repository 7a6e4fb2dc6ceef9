"""CIS2 for staff against a real OpenID Connect provider on loopback; the role mapping page."""

import pytest
from sqlalchemy import select

from portal.extensions import db as _db
from portal.models import AuditEvent, Cis2RoleMapping, IdentityProvider, Role, SignInIdentity, User
from tests.factories import make_org, make_user
from tests.oidc_support import provider  # noqa: F401

SMARTCARD = {"acr": "AAL3_ANY", "amr": "sc"}
PASSWORD_ONLY = {"acr": "AAL1_USERPASS", "amr": "pwd"}


@pytest.fixture
def cis2(app, provider, monkeypatch):  # noqa: F811
    for name, value in provider.settings("CIS2").items():
        monkeypatch.setitem(app.config, name, value)
    return provider


def staff_member(cis2, organisation, sub="cis2-sub-1", role_code="R8000", **claims):
    details = {
        "name": "Dr Ada Lovelace",
        "email": "ada.lovelace@nhs.example",
        "selected_roleid": "555021935107",
        "nhsid_nrbac_roles": [
            {
                "person_roleid": "555021935107",
                "org_code": organisation.ods_code,
                "role_code": f"S8000:G8000:{role_code}",
                "role_name": '"Clinical":"Clinical Provision":"Clinical Practitioner Access Role"',
            },
            {"person_roleid": "999", "org_code": "ZZZ99", "role_code": "S0:G0:R8008"},
        ],
    }
    cis2.add_person(sub, **{**details, **claims})
    return sub


def mapped(organisation, role=Role.PROFESSIONAL, role_code="R8000"):
    mapping = Cis2RoleMapping(organisation_id=organisation.id, role_code=role_code, role=role)
    _db.session.add(mapping)
    _db.session.flush()
    return mapping


def sign_in_with_cis2(client, cis2, sub, how=SMARTCARD):
    response = client.get("/sign-in/cis2")
    assert response.headers["Location"].startswith(cis2.issuer)
    return client.get(cis2.sign_in_as(response.headers["Location"], sub, **how))


def test_a_mapped_role_opens_a_staff_account_without_asking_for_a_second_code(client, db, cis2):
    assert "Continue with NHS Care Identity Service 2" in client.get("/sign-in").get_data(
        as_text=True
    )
    organisation = make_org()
    mapped(organisation)

    response = sign_in_with_cis2(client, cis2, staff_member(cis2, organisation))

    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ada.lovelace@nhs.example"))
    assert (user.role, user.organisation_id) == (Role.PROFESSIONAL, organisation.id)
    # Staff must use two-step verification; the smartcard was it, so no set-up page.
    page = client.get("/account/")
    assert page.status_code == 200
    link = db.session.scalar(select(SignInIdentity))
    assert (link.user_id, link.provider) == (user.id, IdentityProvider.CIS2)
    sign_ins = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sign_in"))
    assert [e.detail for e in sign_ins] == ["cis2"]


def test_without_strong_authentication_staff_still_meet_the_portals_own_check(client, db, cis2):
    organisation = make_org()
    mapped(organisation)

    sign_in_with_cis2(client, cis2, staff_member(cis2, organisation), PASSWORD_ONLY)

    assert client.get("/account/").headers["Location"].endswith("/account/mfa/set-up")


def test_a_role_nobody_mapped_is_refused(client, db, cis2):
    organisation = make_org()
    mapped(organisation, role_code="R8001")  # another role at the same place

    response = sign_in_with_cis2(client, cis2, staff_member(cis2, organisation))

    assert response.status_code == 403
    assert "Ask your administrator" in response.get_data(as_text=True)
    assert db.session.scalar(select(SignInIdentity)) is None
    assert db.session.scalar(select(User)) is None


def test_the_chosen_role_decides_the_role_here_each_time(client, db, cis2):
    organisation = make_org()
    mapped(organisation, Role.COMMISSIONER)
    sub = staff_member(cis2, organisation)
    sign_in_with_cis2(client, cis2, sub)
    client.post("/sign-out")
    db.session.execute(
        Cis2RoleMapping.__table__.update().values(role=Role.PROFESSIONAL)
    )  # the administrator changed the mapping

    sign_in_with_cis2(client, cis2, sub)

    user = db.session.scalar(select(User))
    assert user.role == Role.PROFESSIONAL
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "auth.cis2_role_applied")
    )


def mapped_staff_answer(client, cis2, start="/sign-in/cis2") -> str:
    """A mapped staff member signs in at the provider: the callback address it answers with."""
    organisation = make_org()
    mapped(organisation)
    response = client.get(start)
    return cis2.sign_in_as(response.headers["Location"], staff_member(cis2, organisation))


def test_a_wrong_state_is_refused(client, db, cis2):
    url = mapped_staff_answer(client, cis2)

    response = client.get(url.replace("state=", "state=x"))

    assert response.status_code == 403
    assert db.session.scalar(select(User)) is None


def test_an_answer_for_nhs_login_is_not_taken_for_cis2(client, db, cis2, app, monkeypatch):
    for name, value in cis2.settings("NHS_LOGIN").items():
        monkeypatch.setitem(app.config, name, value)
    url = mapped_staff_answer(client, cis2, "/sign-in/nhs-login")

    response = client.get(url.replace("/nhs-login/", "/cis2/"))

    assert response.status_code == 403
    assert db.session.scalar(select(User)) is None


def test_a_staff_account_links_cis2_from_the_account_page(client, db, cis2, login):
    organisation = make_org()
    mapped(organisation)
    user = make_user(Role.PROFESSIONAL, organisation, email="ada.lovelace@nhs.example")
    login(user)
    response = client.post("/account/link/cis2")
    client.get(cis2.sign_in_as(response.headers["Location"], staff_member(cis2, organisation)))
    client.post("/sign-out")

    sign_in_with_cis2(client, cis2, "cis2-sub-1")

    assert "Linked</dd>" in client.get("/account/").get_data(as_text=True)
    assert [i.user_id for i in db.session.scalars(select(SignInIdentity))] == [user.id]


def test_an_administrator_maps_and_removes_roles(client, db, login):
    organisation = make_org()
    login(make_user(Role.ADMIN))

    response = client.post(
        "/admin/cis2-roles",
        data={
            "organisation": organisation.ods_code.lower(),
            "role_code": "r8000",
            "role": "professional",
        },
    )

    assert response.status_code == 302
    mapping = db.session.scalar(select(Cis2RoleMapping))
    assert (mapping.organisation_id, mapping.role_code, mapping.role) == (
        organisation.id,
        "R8000",
        Role.PROFESSIONAL,
    )
    page = client.get("/admin/cis2-roles").get_data(as_text=True)
    assert "R8000" in page and organisation.name in page

    again = client.post(
        "/admin/cis2-roles",
        data={"organisation": organisation.ods_code, "role_code": "R8000", "role": "admin"},
    )
    assert "already mapped" in again.get_data(as_text=True)
    unknown = client.post(
        "/admin/cis2-roles", data={"organisation": "ZZZ99", "role_code": "R8000", "role": "admin"}
    )
    assert "No organisation here has this ODS code" in unknown.get_data(as_text=True)

    client.post(f"/admin/cis2-roles/{mapping.id}/remove")
    assert db.session.scalar(select(Cis2RoleMapping)) is None
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"admin.cis2_role_added", "admin.cis2_role_removed"} <= actions
    assert client.post("/admin/cis2-roles/999999/remove").status_code == 404


def test_only_administrators_see_the_mapping_page(client, db, login):
    login(make_user(Role.PROFESSIONAL, make_org()))
    assert client.get("/admin/cis2-roles").status_code == 404


def test_patients_are_not_offered_cis2(client, db, cis2, login):
    login(make_user(Role.PATIENT))
    assert "NHS Care Identity Service 2" not in client.get("/account/").get_data(as_text=True)
    assert client.post("/account/link/cis2").status_code == 404
