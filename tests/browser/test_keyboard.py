"""Keyboard only: Tab, Shift+Tab, Enter and Space reach and work everything, focus visible."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import harness
from tests.browser.pages import Page

SKIP_LINK_PAGES = [
    Page("anonymous", "/sign-in"),
    Page("patient", "/patients/{margaret}/plan"),
    Page("carer", "/"),
    Page("carer", "/patients/{margaret}/crisis"),
    Page("professional", "/"),
]


@pytest.mark.parametrize("target", SKIP_LINK_PAGES, ids=lambda p: p.id)
def test_skip_link_is_the_first_stop_and_moves_focus_to_main(open_as, target):
    tab = open_as(target.role, path=target.path)
    tab.reload()  # focus starts from the top of a freshly loaded page
    tab.keyboard.press("Tab")
    skip = tab.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["width"] > 20 and box["height"] > 20, "the skip link must show when focused"
    tab.keyboard.press("Enter")
    expect(tab.locator("main#maincontent")).to_be_focused()
    tab.keyboard.press("Tab")
    assert tab.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_carer_uses_the_crisis_page_by_keyboard_alone(page, portal_server):
    page.goto("/sign-in")
    harness.tab_to(page, page.get_by_label("Email address"))
    page.keyboard.type(harness.ACCOUNTS["carer"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(harness.demo.DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    harness.ensure_language(page, "en")  # an earlier test may have saved another on the account
    expect(page.get_by_role("heading", level=1, name="People you care for")).to_be_visible()

    harness.tab_to(page, page.get_by_role("link", name="Crisis plan for Margaret"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name=re.compile("Crisis plan"))).to_be_visible()
    # The page's scripts (which reveal the print button) have run before the stops are listed.
    page.wait_for_load_state("load")

    # Forwards through every stop: document order, each with a visible focus.
    expected = harness.tabbable(page)
    stops = harness.tab_through(page, len(expected))
    for stop, want in zip(stops, expected, strict=True):
        assert harness.same_element(stop, want), f"Tab reached {stop} where {want} was expected"
        harness.assert_focus_visible(stop)
    harness.screenshot(page, "keyboard-crisis-last-stop", full_page=False)

    # Backwards with Shift+Tab: the same stops in reverse.
    back = harness.tab_through(page, len(expected) - 1, shift=True)
    for stop, want in zip(back, reversed(expected[:-1]), strict=True):
        assert harness.same_element(stop, want), f"Shift+Tab reached {stop}, not {want}"
        harness.assert_focus_visible(stop)

    # A tap-to-call link is reachable and is a real tel: link.
    call = page.get_by_role("link", name="Call 999", exact=True)
    harness.tab_to(page, call)
    expect(call).to_have_attribute("href", "tel:999")

    # Enter follows a link; Space presses a button.
    back_to_plan = page.get_by_role("link", name="Back to the whole care plan")
    harness.tab_to(page, back_to_plan)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/patients/{portal_server.demo.margaret}/plan$"))
    page.keyboard.press("Tab")  # the skip link, proving focus restarted on the new page
    harness.tab_to(page, page.get_by_role("button", name="Sign out"))
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")


def test_language_switcher_works_by_keyboard(open_as):
    tab = open_as("anonymous", path="/sign-in")
    select = tab.get_by_role("form", name="Language").get_by_role("combobox")
    harness.tab_to(tab, select)
    stop = harness.focused(tab)
    harness.assert_focus_visible(stop)
    button = tab.get_by_role("form", name="Language").get_by_role("button")
    tab.keyboard.press("Tab")
    expect(button).to_be_focused()
    tab.keyboard.press("Enter")
    expect(tab).to_have_url(re.compile(r"/sign-in$"))
    expect(tab.locator("html")).to_have_attribute("lang", "en-GB")


def tab_visibly_to(page, target, limit: int = 60) -> int:
    """Press Tab until ``target`` has the focus, checking every element on the way shows it;
    the number of presses it took."""
    for presses in range(1, limit + 1):
        (stop,) = harness.tab_through(page, 1)
        harness.assert_focus_visible(stop)
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{target} never received the focus in {limit} presses of Tab")


def skip_to_main(page) -> None:
    """From the top of a freshly loaded page: the skip link first, shown, then into main."""
    (stop,) = harness.tab_through(page, 1)
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    harness.assert_focus_visible(stop)
    page.keyboard.press("Enter")
    expect(page.locator("main#maincontent")).to_be_focused()


def test_patient_changes_a_goal_by_keyboard_alone(fresh_page):
    page = fresh_page  # the goal changes on a portal of its own
    page.goto("/sign-in")
    harness.tab_to(page, page.get_by_label("Email address"))
    page.keyboard.type(harness.ACCOUNTS["patient"])
    page.keyboard.press("Tab")
    page.keyboard.type(harness.demo.DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="My care plan")).to_be_visible()
    page.wait_for_load_state("load")

    old = "Walk to the corner shop and back twice a week"
    skip_to_main(page)
    tab_visibly_to(page, page.get_by_role("link", name=f"Change ({old})"))
    harness.screenshot(page, "keyboard-goal-01-change-link", full_page=False)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Change a goal")).to_be_visible()
    page.wait_for_load_state("load")

    skip_to_main(page)
    title = page.get_by_label("What I want to achieve")
    tab_visibly_to(page, title)
    new = "Walk to the corner shop and back three times a week"
    page.keyboard.type(new)  # reaching a text field by Tab selects what is in it
    expect(title).to_have_value(new)
    save = page.get_by_role("button", name="Save goal")
    tab_visibly_to(page, save)
    harness.screenshot(page, "keyboard-goal-02-save", full_page=False)
    page.keyboard.press("Space")

    expect(page.get_by_role("status")).to_contain_text("Your changes have been saved.")
    expect(page.get_by_role("status")).to_be_in_viewport()
    card = page.locator(".nhsuk-card").filter(has=page.get_by_role("heading", name=new))
    expect(card).to_contain_text("Your suggestion – not yet agreed")
    expect(page.get_by_role("heading", name=old)).to_have_count(0)
    harness.screenshot(page, "keyboard-goal-03-saved", full_page=False)
    # Back at the goals (the address ends in #goals), Tab carries on from there: the changed
    # goal's own link comes next, not the top of the page.
    expect(page).to_have_url(re.compile("#goals$"))
    assert tab_visibly_to(page, page.get_by_role("link", name=f"Change ({new})"), limit=2) == 1
    assert harness.console_errors(page) == []
