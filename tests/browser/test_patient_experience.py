"""The plan's summary, the sheet for the review meeting and an invitation link, on a phone and
a laptop, in English, Urdu and Chinese: they fit, pass axe and are photographed for review."""

import re

from playwright.sync_api import expect

from tests.browser import harness

LOCALES = ("en", "ur", "zh_Hans")
WIDTHS = (360, 1280)


def _look(page, name: str) -> None:
    """At each width: no sideways scrolling, and a screenshot of the top to look at. (The
    accessibility sweep checks the plan and the sheet; the invitation is checked here.)"""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        harness.screenshot(page, f"{name}-{width}", full_page=False)
        assert harness.horizontal_overflow(page) is None, f"{name} scrolls sideways at {width}"


def test_summary_sheet_and_invitation_at_two_widths_in_three_languages(fresh_page):
    page = fresh_page
    harness.sign_in(page, "patient")
    margaret = re.search(r"/patients/(\d+)/plan", page.url).group(1)
    base = f"/patients/{margaret}"
    for locale in LOCALES:
        harness.ensure_language(page, locale)
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        page.goto(base + "/plan")
        summary = page.locator(".portal-glance")
        expect(summary.locator("a[href$='/crisis']")).to_be_visible()  # one tap from the top
        # On a phone the long wishes and about-me lists start folded; a contents link opens one.
        folded = page.locator("details[data-portal-collapse]").first
        expect(folded).not_to_have_attribute("open", "")
        _look(page, f"glance-{locale}-plan")
        page.locator(".portal-contents a[href='#wishes']").click()
        expect(page.locator("details:has(#wishes)")).to_have_attribute("open", "")

        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        page.goto(base + "/preparation/sheet")
        expect(page.locator("h1")).to_be_visible()
        _look(page, f"glance-{locale}-sheet")

        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        page.goto(base + "/sharing/invite")
        page.locator("#email").fill(f"son.{locale.lower()}@example.org")
        page.locator("[name=relationship]").fill("Son")
        page.locator("input[name=scope][value=view]").check()
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_load_state()
        link = page.locator("#invitation-link")
        expect(link).to_contain_text("/invitations/")
        copy = page.locator("[data-portal-copy]")
        expect(copy).to_be_visible()  # 127.0.0.1 is a secure context: the copy button shows
        _look(page, f"glance-{locale}-invitation")
        harness.assert_accessible(page)
    # The copy button says what happened, in words a screen reader announces.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy.click()
    expect(page.locator("[data-portal-copied]")).not_to_be_empty()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == link.inner_text().strip()
