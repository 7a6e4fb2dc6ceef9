"""A conversation about the plan as people have it: the patient asks about a goal, the nurse
finds it in the team inbox and answers, the patient reads the answer."""

from playwright.sync_api import expect

from tests.browser import harness

WALKING = "Walk to the corner shop and back twice a week"


def test_patient_asks_nurse_answers_patient_reads(fresh_page, fresh_portal, new_context):
    page = fresh_page
    harness.sign_in(page, "patient")
    card = page.locator(".nhsuk-card").filter(has=page.get_by_role("heading", name=WALKING))
    card.get_by_role("link", name=f"Ask the care team about this goal ({WALKING})").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Start a conversation with the care team"
    )
    expect(page.get_by_text("Not for emergencies")).to_be_visible()
    assert WALKING in page.get_by_label("What is it about?").locator("option:checked").inner_text()
    page.get_by_label("Subject").fill("Walking in the rain")
    page.get_by_label("Your message").fill("Can I walk to the shop when it is raining?")
    harness.screenshot(page, "conversation-01-patient-asks")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Walking in the rain")
    expect(page.get_by_text("Your message has been sent to the care team.")).to_be_visible()

    nurse = new_context(base_url=fresh_portal.url).new_page()
    nurse.goto("/sign-in")
    harness.sign_in(nurse, "professional")
    nurse.get_by_role("link", name="Team inbox: conversations with patients").click()
    row = nurse.get_by_role("row").filter(has_text="Walking in the rain")
    expect(row).to_contain_text("Margaret Hughes")
    harness.screenshot(nurse, "conversation-02-team-inbox")
    row.get_by_role("link", name="Walking in the rain").click()
    expect(nurse.get_by_text("Interpreter needed")).to_be_visible()
    nurse.get_by_role("button", name="I will handle this").click()
    nurse.get_by_label("Your reply").fill("Yes, with good shoes. Take your inhaler with you.")
    nurse.get_by_role("button", name="Send reply").click()
    expect(nurse.get_by_text("Your reply has been sent.")).to_be_visible()

    page.reload()
    messages = page.locator(".portal-message")
    expect(messages.last).to_contain_text("Yes, with good shoes.")
    expect(messages.last).to_contain_text("Practice nurse")
    harness.screenshot(page, "conversation-03-patient-reads")
    harness.assert_accessible(page)
    page.goto(f"/patients/{fresh_portal.demo.margaret}/plan")
    expect(card).to_contain_text("2 conversations")
