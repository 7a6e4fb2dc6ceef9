"""The review cycle as people live it: the patient proposes changes and gets ready, the
professional records the meeting and agrees the plan.

These journeys change Margaret's plan, so each runs on a portal of its own (``fresh_page``)
that starts from the demo data as loaded and that no other test sees.
"""

import io
import re
from datetime import date

import pypdf
from babel.dates import format_date
from playwright.sync_api import expect

from tests.browser import harness

LUNCH_CLUB = "Get back to the Thursday lunch club"  # the demo's proposal waiting for review


def goal_card(page, title: str):
    """The card on the plan page for the goal whose heading is ``title``."""
    return page.locator(".nhsuk-card").filter(has=page.get_by_role("heading", name=title))


def test_patient_changes_goals_gets_ready_and_downloads_the_plan(fresh_page, tmp_path):
    page = fresh_page
    harness.sign_in(page, "patient")
    expect(page.get_by_role("heading", level=1, name="My care plan")).to_be_visible()

    # Change an agreed goal: it stays on the plan, marked as a draft until the review.
    page.get_by_role("link", name="Change (Weigh myself every morning)").click()
    expect(page.get_by_role("heading", level=1, name="Change a goal")).to_be_visible()
    title = page.get_by_label("What I want to achieve")
    expect(title).to_have_value("Weigh myself every morning")
    changed = "Weigh myself every morning before breakfast"
    title.fill(changed)
    harness.screenshot(page, "patient-goal-01-change")
    page.get_by_role("button", name="Save goal").click()

    # Back at the goals, with the message in sight (not at the top of the long page).
    saved = page.get_by_role("status")
    expect(saved).to_contain_text(
        "Your changes have been saved. They will be talked about at the next review."
    )
    expect(saved).to_be_in_viewport()
    expect(
        page.get_by_role("heading", name="Weigh myself every morning", exact=True)
    ).to_have_count(0)
    card = goal_card(page, changed)
    expect(card).to_contain_text("Your suggestion – not yet agreed")
    harness.screenshot(page, "patient-goal-02-changed")

    # Add a goal: it is shown as proposed by her.
    page.get_by_role("link", name="Add a goal").click()
    expect(page.get_by_role("heading", level=1, name="Add a goal")).to_be_visible()
    new_goal = "Grow tomatoes in the garden again"
    page.get_by_label("What I want to achieve").fill(new_goal)
    page.get_by_label("Why it matters to me").fill("I miss being out in the garden.")
    page.get_by_label("The steps, and who will help").fill("David carries the compost bags.")
    page.get_by_role("button", name="Save goal").click()
    expect(page.get_by_role("status")).to_contain_text("Your new goal has been saved.")
    expect(page.get_by_role("status")).to_be_in_viewport()
    card = goal_card(page, new_goal)
    expect(card).to_contain_text("Your suggestion – not yet agreed")
    expect(card).to_contain_text("David carries the compost bags.")

    # Get ready for the review: a question added to the demo's two, and the other notes.
    page.get_by_role("link", name=re.compile("Get ready for your review")).click()
    expect(page.get_by_role("heading", level=1, name="Getting ready for my review")).to_be_visible()
    goals_task = page.get_by_role("link", name="Check your goals")
    # Her two changes and the lunch club goal she proposed before.
    expect(goals_task).to_have_accessible_description(re.compile("3 changes waiting to be agreed"))
    questions = page.get_by_label("Questions I want to ask")
    expect(questions).to_have_value(re.compile("flu jab"))
    questions.fill(questions.input_value() + "\nCan the community matron visit after a fall?")
    page.get_by_label("What has changed since my last review").fill("I had a fall in the garden.")
    page.get_by_label("How I feel about my health").fill("Worried about the stairs at night.")
    page.get_by_role("button", name="Save my notes").click()
    expect(page.get_by_role("status")).to_contain_text("Your notes for the review have been saved.")
    expect(
        page.get_by_role("link", name="Your questions and what has changed")
    ).to_have_accessible_description(re.compile("3 of 3 written.*Completed"))
    expect(page.get_by_label("Questions I want to ask")).to_have_value(
        re.compile(r"heating bills\?\nCan the community matron visit after a fall\?$")
    )
    # Her goals are checked when she says so, changed or not.
    page.get_by_role("button", name="I have checked my goals").click()
    expect(page.get_by_role("status")).to_contain_text("That step is marked as done.")
    expect(page.get_by_role("link", name="Check your goals")).to_have_accessible_description(
        re.compile("Completed")
    )
    harness.screenshot(page, "patient-goal-03-preparation")
    harness.assert_accessible(page)

    # Download the plan from the plan page: a real PDF with her name and the changed goal.
    page.get_by_role("link", name="Back to the care plan").click()
    expect(page.get_by_role("heading", level=1, name="My care plan")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"Download my care plan \(PDF")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-")
    text = " ".join(
        " ".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages).split()
    )
    assert "Margaret Hughes" in text
    assert changed in text
    assert new_goal in text
    assert harness.console_errors(page) == []


def test_professional_records_the_review_and_agrees_a_proposal(fresh_page):
    page = fresh_page
    harness.sign_in(page, "professional")  # two-step verification, answered with the demo key
    page.get_by_label("Search by name, NHS number or date of birth").fill("Margaret Hughes")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("table", name="Your patients").get_by_role(
        "link", name="Margaret Hughes"
    ).click()
    expect(
        page.get_by_role("heading", level=1, name="Care plan for Margaret Hughes")
    ).to_be_visible()
    expect(page.get_by_text("Last agreed: version 1")).to_be_visible()

    # Her proposals, side by side with what was agreed.
    page.get_by_role("link", name="Review proposals and record the meeting").click()
    expect(page.get_by_role("heading", level=1, name="Review for Margaret Hughes")).to_be_visible()
    proposals = page.locator(".portal-proposal")
    expect(proposals).to_have_count(1)
    expect(proposals.get_by_role("heading", name=re.compile(LUNCH_CLUB))).to_be_visible()
    expect(page.get_by_text("Can I have the flu jab at home this year?")).to_be_visible()
    harness.screenshot(page, "professional-review-01-proposals")

    # The meeting, and a decision on the proposal.
    page.get_by_role("link", name="Record the review meeting").click()
    expect(page.get_by_role("heading", level=1, name="Record the review meeting")).to_be_visible()
    today = date.today()
    held_on = page.get_by_role("group", name="Date the meeting was held")
    held_on.get_by_label("Day").fill(str(today.day))
    held_on.get_by_label("Month").fill(str(today.month))
    held_on.get_by_label("Year").fill(str(today.year))
    page.get_by_label("Who attended").fill(
        "Margaret Hughes, David Hughes (son), Priya Shah (practice nurse)"
    )
    page.get_by_label("The patient's feedback on the plan").fill(
        "I am glad the lunch club is in my plan now."
    )
    page.get_by_label("Notes from the meeting (optional)").fill(
        "Community transport booked for Thursdays."
    )
    decision = page.get_by_role("group", name=re.compile(f"What was decided.*{LUNCH_CLUB}"))
    decision.get_by_label("Agree: add it to the plan").check()
    harness.screenshot(page, "professional-review-02-record")
    page.get_by_role("button", name="Record the meeting and agree the plan").click()

    expect(page.get_by_role("status")).to_contain_text(
        "The review meeting is recorded and the plan is agreed as version 2."
    )
    expect(page.get_by_text("There are no proposals waiting for review.").first).to_be_visible()

    # The plan shows the goal as agreed, and the history has the new version.
    page.get_by_role("link", name="Care plan for Margaret Hughes").click()
    card = goal_card(page, LUNCH_CLUB)
    expect(card.locator(".nhsuk-tag")).to_have_text(["Agreed"])
    expect(card).not_to_contain_text("Proposed")
    expect(page.get_by_text("Last agreed: version 2")).to_be_visible()
    harness.screenshot(page, "professional-review-03-plan-agreed")

    page.get_by_role("link", name="see all agreed versions and what changed").click()
    versions = page.get_by_role("table", name="Agreed versions")
    newest = versions.get_by_role("row").nth(1)  # newest first, after the header
    expect(newest.get_by_role("link", name="Version 2")).to_be_visible()
    expect(newest).to_contain_text("Priya Shah")
    expect(newest).to_contain_text(f"Held on {format_date(today, 'd MMMM y', locale='en_GB')}")
    expect(versions.get_by_role("link", name="Version 1")).to_be_visible()
    harness.screenshot(page, "professional-review-04-versions")
    assert harness.console_errors(page) == []
