"""The warning before the idle sign-out, used with the keyboard alone, and what was typed
kept and put back after signing in again."""

import json

from playwright.sync_api import expect

from tests.browser import harness

WARNING = "You will be signed out soon"


def _nearly_out(tab, seconds: int = 110):
    """The server says the session has ``seconds`` left; the page's clock jumps to the warning."""
    tab.route(
        "**/session/remaining",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"seconds": seconds})
        ),
    )


def test_the_warning_can_be_answered_with_the_keyboard(open_as):
    tab = open_as("professional", path="/worklist")
    tab.clock.install()
    tab.reload()
    _nearly_out(tab)
    stays = []
    tab.on("request", lambda r: stays.append(r.url) if r.url.endswith("/session/stay") else None)
    tab.clock.fast_forward("13:05")  # 15 minutes idle for staff; the warning comes at 13
    dialog = tab.get_by_role("dialog", name=WARNING)
    expect(dialog).to_be_visible()
    stay = dialog.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()  # focus moved into the warning
    stops = harness.tab_through(tab, 2)  # focus stays in the warning while it is open
    assert [stop["text"] for stop in stops] == ["Sign out", "Stay signed in"]
    for stop in stops:
        harness.assert_focus_visible(stop)
    tab.keyboard.press("Shift+Tab")
    tab.keyboard.press("Tab")
    expect(stay).to_be_focused()
    tab.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    tab.wait_for_timeout(300)
    assert stays, "staying signed in asks the server to keep the session"

    tab.clock.fast_forward("13:05")  # the warning again; Escape also means "stay"
    expect(dialog).to_be_visible()
    tab.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert harness.console_errors(tab) == []


def test_the_warning_is_accessible(open_as):
    tab = open_as("patient", path="/")
    tab.clock.install()
    tab.reload()
    _nearly_out(tab)
    tab.clock.fast_forward("28:05")  # 30 minutes for patients
    expect(tab.get_by_role("dialog", name=WARNING)).to_be_visible()
    harness.assert_accessible(tab)


def test_typing_is_kept_when_the_warning_runs_out_and_offered_back(fresh_page, fresh_portal):
    page = fresh_page
    url = fresh_portal.path("/patients/{margaret}/preparation")
    typed = "Can I change my inhaler to one that is easier to use?"
    harness.sign_in(page, "patient")
    page.clock.install()
    page.goto(url)
    page.get_by_label("Questions I want to ask").fill(typed)
    _nearly_out(page, seconds=6)
    page.clock.fast_forward("28:05")  # the warning, then nobody answers it
    page.clock.fast_forward("00:10")
    expect(page.get_by_text("What you had typed was kept")).to_be_visible(timeout=10_000)
    assert "/sign-in" in page.url
    harness.sign_in(page, "patient")
    assert url in page.url  # back on the page it was typed on
    offer = page.get_by_role("button", name="Put what I typed back into the form")
    expect(offer).to_be_visible()
    offer.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("What you typed is back in the form")).to_be_visible()
    expect(page.get_by_label("Questions I want to ask")).to_have_value(typed)
    assert harness.console_errors(page) == []
