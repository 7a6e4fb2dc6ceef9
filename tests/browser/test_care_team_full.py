"""A care team member typed while the team filled up comes back in the form with the limit
stated (hazard H14), on a phone and a laptop, in English and Urdu: it fits, passes axe and is
photographed for review."""

from playwright.sync_api import expect
from sqlalchemy import select

from portal.limits import MAX_CARE_TEAM
from portal.models import CarePlan, CareTeamMember
from tests.browser import harness

WIDTHS = (360, 1280)


def _fill_the_team(portal, leave: int) -> None:
    """Margaret's care team made exactly ``leave`` places short of its limit."""
    from portal.extensions import db

    with portal.app.app_context():
        plan_id = db.session.scalar(
            select(CarePlan.id).where(CarePlan.patient_id == portal.demo.margaret)
        )
        members = db.session.scalars(
            select(CareTeamMember).where(CareTeamMember.plan_id == plan_id)
        ).all()
        for extra in members[MAX_CARE_TEAM - leave :]:
            db.session.delete(extra)
        for i in range(MAX_CARE_TEAM - leave - len(members)):
            db.session.add(CareTeamMember(plan_id=plan_id, name=f"Member {i}", role="Nurse"))
        db.session.commit()


def test_a_member_typed_while_the_team_filled_up_is_kept(fresh_page, fresh_portal):
    page = fresh_page
    harness.sign_in(page, "professional")
    for locale in ("en", "ur"):
        harness.ensure_language(page, locale)
        _fill_the_team(fresh_portal, leave=1)
        page.goto(f"/patients/{fresh_portal.demo.margaret}/care-team/new")
        page.locator("#name").fill("Dr Anna Patel")
        page.locator("#role").fill("GP")
        page.locator("#phone").fill("0113 496 0000")
        _fill_the_team(fresh_portal, leave=0)  # someone else took the last place
        page.locator("main form button.nhsuk-button:not(.nhsuk-button--secondary)").click()
        expect(page.locator("#name")).to_have_value("Dr Anna Patel")
        expect(page.locator("#phone")).to_have_value("0113 496 0000")
        expect(page.locator(".nhsuk-error-summary")).to_be_focused()
        if locale == "en":
            expect(page.locator(".nhsuk-error-summary")).to_contain_text(
                f"This care team already has {MAX_CARE_TEAM} members"
            )
        harness.assert_accessible(page)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            harness.screenshot(page, f"care-team-full-{locale}-{width}", full_page=False)
            assert harness.horizontal_overflow(page) is None, f"scrolls sideways at {width}"
