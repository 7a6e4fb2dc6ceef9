"""A practice nurse writes the crisis plan of a patient who never goes online, as he dictates
it in clinic, starting from her worklist, and reads it back to him before saving it as agreed;
the crisis page shows it as the agreed plan, which she marks reviewed.

The journey starts a plan, so it runs on a portal of its own (``fresh_page``).
"""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from portal.models import CarePlan, Patient, User
from portal.permissions import not_objected_sql
from tests.browser import harness

DICTATED = "Too breathless to finish a sentence"


def _offline_patient_without_a_plan(portal) -> Patient:
    """One of the nurse's practice with no account and no plan, who has not objected."""
    from portal.extensions import db

    with portal.app.app_context():
        nurse = db.session.get(User, portal.demo.nurse_account)
        return db.session.scalars(
            select(Patient)
            .outerjoin(CarePlan, CarePlan.patient_id == Patient.id)
            .where(
                Patient.organisation_id == nurse.organisation_id,
                Patient.user_id.is_(None),
                CarePlan.id.is_(None),
                not_objected_sql(),
            )
            .order_by(Patient.id)
        ).first()


def test_nurse_records_dictated_crisis_steps_from_the_worklist(fresh_page, fresh_portal):
    page = fresh_page
    patient = _offline_patient_without_a_plan(fresh_portal)
    name = f"{patient.given_name} {patient.family_name}"
    harness.sign_in(page, "professional")
    page.goto("/worklist")
    page.get_by_label("Search by name, NHS number or date of birth").fill(patient.nhs_number)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=f"Start a care plan for {name}").click()

    page.get_by_role("link", name=re.compile("^Change the crisis plan")).click()
    expect(page.get_by_text(f"Write this with {name}.")).to_be_visible()
    page.get_by_role("link", name="Add a step").click()
    page.get_by_label("Emergency: call 999").check()
    page.get_by_label("Signs to look for").fill(DICTATED)
    page.get_by_label("What to do").fill("Ring 999 and say I have COPD. Sit me upright.")
    page.get_by_role("button", name="Save").click()

    # Read back before it is saved (hazard H14): "Change it" keeps what was typed.
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Read this back to {name}")
    expect(page.locator(".portal-read-back")).to_contain_text(DICTATED)
    harness.assert_accessible(page)
    page.get_by_role("button", name="Change it").click()
    expect(page.get_by_label("Signs to look for")).to_have_value(DICTATED)
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Save as agreed").click()  # not yet confirmed
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "Confirm that the patient has heard or read this and agrees"
    )
    # The error summary takes focus once the page's script has started; only then is it safe
    # to move focus to the box, or the script would take it back before the key is pressed.
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    agrees = page.get_by_label("The patient has heard or read this and agrees")
    agrees.focus()
    page.keyboard.press("Space")  # by keyboard
    expect(agrees).to_be_checked()
    page.get_by_role("button", name="Save as agreed").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved as agreed with {name}.")
    page.get_by_role("button", name="Mark the crisis plan reviewed today").click()
    expect(page.get_by_role("status")).to_contain_text("marked as reviewed today, by you")

    page.get_by_role("link", name="See the crisis page").click()
    expect(page.get_by_text("Last reviewed by Priya Shah on")).to_be_visible()
    steps = page.locator(".portal-crisis-steps")
    expect(steps).to_contain_text(DICTATED)
    expect(steps).to_contain_text("Written with the patient by Priya Shah on")
    expect(page.locator("#not-yet-checked")).to_have_count(0)
    harness.screenshot(page, "written-with-patient-crisis")
    harness.assert_accessible(page)
