"""Care across organisations as people have it: Margaret agrees that the community matron the
practice proposed may see her plan, the matron finds her in her worklist; an ambulance
paramedic opens Margaret's crisis plan with a reason, and Margaret sees it in her activity."""

from playwright.sync_api import expect

from tests.browser import harness


def test_matron_joins_with_agreement_and_paramedic_opens_the_crisis_plan(
    fresh_page, fresh_portal, new_context
):
    page = fresh_page
    harness.sign_in(page, "patient")
    page.goto(f"/patients/{fresh_portal.demo.margaret}/sharing")
    row = page.get_by_role("row").filter(has_text="Riverside Community Health NHS Trust")
    expect(row).to_contain_text("Waiting for your agreement")
    row.get_by_role("button", name="Agree").click()
    agreed = "Riverside Community Health NHS Trust can now see your plan."
    expect(page.get_by_text(agreed)).to_be_visible()
    harness.screenshot(page, "organisations-01-margaret-agrees")

    matron = new_context(base_url=fresh_portal.url).new_page()
    harness.sign_in(matron, "matron")
    expect(matron.get_by_role("heading", level=1)).to_have_text("Your patients")
    matron.get_by_role("link", name="Margaret Hughes").click()
    expect(matron.get_by_role("heading", level=1)).to_have_text("Care plan for Margaret Hughes")

    crew = new_context(base_url=fresh_portal.url).new_page()
    harness.sign_in(crew, "paramedic")
    crew.get_by_role("link", name="Find a crisis plan").click()
    crew.get_by_label("NHS number").fill("943 476 5919")
    crew.get_by_label("Day").fill("14")
    crew.get_by_label("Month").fill("3")
    crew.get_by_label("Year").fill("1946")
    crew.get_by_role("button", name="Search").click()
    expect(crew.get_by_text("This person has a personalised care plan.")).to_be_visible()
    crew.get_by_label("I am attending this person now").check()
    harness.screenshot(crew, "organisations-02-paramedic-gives-a-reason")
    crew.get_by_role("button", name="Open the crisis plan").click()
    expect(crew).to_have_url(f"{fresh_portal.url}/patients/{fresh_portal.demo.margaret}/crisis")
    harness.assert_accessible(crew)

    page.goto(f"/patients/{fresh_portal.demo.margaret}/activity")
    entry = page.get_by_role("row").filter(has_text="Opened your crisis plan in an emergency")
    expect(entry).to_contain_text("Alex Price")
    expect(entry).to_contain_text("Northern Ambulance Service NHS Trust")
    harness.screenshot(page, "organisations-03-margaret-sees-it")
