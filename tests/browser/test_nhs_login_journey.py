"""A patient signs in with NHS login (the loopback test provider), is linked to their record
and sees their plan, in a real browser."""

import re
from datetime import date

from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Patient
from portal.nhs_number import synthetic
from tests.browser import harness
from tests.factories import make_plan
from tests.oidc_support import running_provider

NUMBER = synthetic(4242)  # a record with no account yet


def test_a_patient_signs_in_with_nhs_login_and_sees_their_plan(fresh_portal, fresh_page):
    app, url = fresh_portal.app, fresh_portal.url
    with running_provider([f"{url}/sign-in/nhs-login/callback"], f"{url}/sign-in") as provider:
        app.config.update({**provider.settings(), "BASE_URL": url})
        with app.app_context():
            patient = Patient(
                organisation_id=fresh_portal.demo.practice,
                nhs_number=NUMBER,
                given_name="Olu",
                family_name="Adeyemi",
                date_of_birth=date(1952, 6, 30),
                sex="male",
                care_team_consent=True,
            )
            db.session.add(patient)
            db.session.flush()
            make_plan(patient)
            db.session.commit()
            patient_id = patient.id
        provider.add_person(
            "olu",
            nhs_number=NUMBER,
            birthdate="1952-06-30",
            identity_proofing_level="P9",
            vot="P9.Cp.Cd",
            email="olu.adeyemi@example.org",
        )
        page = fresh_page

        page.goto("/sign-in")
        harness.assert_accessible(page)
        page.get_by_role("link", name="Continue with NHS login").click()
        page.get_by_label("Who is signing in").fill("olu")
        page.get_by_role("button", name="Sign in at the provider").click()

        expect(page.get_by_role("heading", level=1, name="My care plan")).to_be_visible()
        expect(page.locator("body")).to_contain_text("My goals")
        harness.screenshot(page, "nhs-login-01-plan")
        assert harness.console_errors(page) == []
        with app.app_context():
            assert db.session.get(Patient, patient_id).user_id is not None

        page.get_by_role("button", name="Sign out").click()
        # The provider is asked to end its session too; the portal's is over already.
        expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer) + "/session/end"))
        page.goto(url + "/account/")
        expect(page).to_have_url(re.compile(r"/sign-in"))
