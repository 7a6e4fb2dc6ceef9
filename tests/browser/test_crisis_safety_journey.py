"""A carer's crisis step is held apart until the care team accepts it from the worklist.

The journey changes Margaret's plan, so it runs on a portal of its own (``fresh_page``).
"""

import io
import re

import pypdf
from playwright.sync_api import expect

from tests.browser import harness

DUBIOUS = "If oxygen under 88%, ring 111 first"


def _crisis_sheet_text(page, url: str) -> str:
    response = page.request.get(url)
    assert response.ok
    reader = pypdf.PdfReader(io.BytesIO(response.body()))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))


def test_carer_step_is_held_apart_until_the_nurse_accepts_it(fresh_page, fresh_portal):
    page = fresh_page
    crisis = fresh_portal.path("/patients/{margaret}/crisis")
    harness.sign_in(page, "carer")
    page.goto(crisis)
    page.get_by_role("link", name="Change the crisis plan").click()
    page.get_by_role("link", name="Add a step").click()
    page.get_by_label("Urgent: get help the same day").check()
    page.get_by_label("Signs to look for").fill("Oxygen reading low")
    page.get_by_label("What to do").fill(DUBIOUS)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The step has been added")

    # On the crisis page: the agreed plan as agreed, the new step apart and labelled.
    page.goto(crisis)
    apart = page.locator("#not-yet-checked")
    expect(apart.get_by_role("heading", name="Not yet checked by the care team")).to_be_visible()
    expect(apart).to_contain_text(DUBIOUS)
    expect(apart).to_contain_text(
        re.compile(r"Added by David Hughes \(Son\) on .+, not yet checked by the care team")
    )
    expect(page.locator(".portal-crisis-steps")).not_to_contain_text(DUBIOUS)
    harness.screenshot(page, "crisis-safety-01-held-apart")
    harness.assert_accessible(page)

    # On the crisis sheet: after the agreed steps, under its own heading.
    sheet = _crisis_sheet_text(
        page,
        page.get_by_role("link", name=re.compile("^Download the crisis sheet \\(")).get_attribute(
            "href"
        ),
    )
    assert "Not yet checked by the care team" in sheet
    assert sheet.index("Not yet checked by the care team") < sheet.index("oxygen under 88%")

    # So is the whole plan's PDF: the agreed crisis plan first, the change apart.
    plan_pdf = _crisis_sheet_text(page, fresh_portal.path("/patients/{margaret}/plan.pdf"))
    assert plan_pdf.index("Not yet checked by the care team") < plan_pdf.index("oxygen under 88%")

    # The nurse sees it at the top of her worklist and accepts it without waiting for a
    # meeting; it moves into the agreed plan.
    page.context.clear_cookies()
    harness.sign_in(page, "professional")
    page.goto(fresh_portal.path("/worklist"))
    rows = page.locator(".portal-worklist tbody tr").all_inner_texts()
    margaret = next(i for i, row in enumerate(rows) if "Margaret Hughes" in row)
    assert all("Crisis plan changed, not reviewed" in row for row in rows[: margaret + 1])
    page.get_by_role("link", name=re.compile("^Crisis plan changed, not reviewed")).click()
    row = page.locator(".portal-worklist tbody tr", has_text="Margaret Hughes")
    row.get_by_role("link", name=re.compile("^Check the crisis plan changes")).click()
    expect(page.get_by_role("heading", name="Check the crisis plan changes")).to_be_visible()
    for group in page.get_by_role("group", name=re.compile("What was decided")).all():
        group.get_by_label(re.compile("^Agree")).check()
    page.get_by_label(re.compile("I have also gone through the whole crisis plan")).check()
    harness.assert_accessible(page)
    page.get_by_role("button", name="Save the decisions").click()
    expect(page.get_by_role("status")).to_contain_text("The crisis plan changes are decided")

    expect(page.locator(".portal-crisis-steps")).to_contain_text(DUBIOUS)
    expect(page.locator("#not-yet-checked")).to_have_count(0)
    expect(page.get_by_text("Last reviewed by Priya Shah on")).to_be_visible()
    harness.screenshot(page, "crisis-safety-02-accepted")
