"""axe-core on every page each role can reach, in every sweep language: no violations."""

import re

import pytest
from playwright.sync_api import expect

from portal.auth.mfa import RECOVERY_CODE_COUNT
from portal.i18n import html_lang
from portal.models.plan import TEXT_LIMIT
from tests.browser import harness
from tests.browser.pages import SWEEP


def test_the_sweep_has_languages_to_run_in():
    assert harness.SWEEP_LOCALES, "English at least must be available"
    assert harness.SWEEP_LOCALES[0] == "en"


def test_checker_reports_an_image_without_alt_text(page):
    """The checker itself: a page with a known fault must fail the check, naming the fault."""
    page.set_content(
        '<!DOCTYPE html><html lang="en"><head><title>Broken</title></head><body>'
        '<main><h1>Broken page</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        "</main></body></html>"
    )
    violations = harness.axe_violations(page)
    assert "image-alt" in {v["id"] for v in violations}
    with pytest.raises(AssertionError, match="image-alt"):
        harness.assert_accessible(page)


def test_checker_passes_a_clean_page(page):
    page.set_content(
        '<!DOCTYPE html><html lang="en"><head><title>Fine</title></head><body>'
        "<main><h1>A fine page</h1><p>Nothing wrong here.</p></main></body></html>"
    )
    harness.assert_accessible(page)


def test_checker_works_under_the_portal_csp(open_as):
    """The real pages carry ``script-src 'self'``; axe must still load and run there."""
    tab = open_as("anonymous")
    tab.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend', "
        "'<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\">')"
    )
    assert "image-alt" in {v["id"] for v in harness.axe_violations(tab)}


# Pages vary fastest, so each role changes language once per language, not once per page.
@pytest.mark.parametrize("target", SWEEP, ids=lambda p: p.id)
@pytest.mark.parametrize("locale", harness.SWEEP_LOCALES)
def test_page_is_accessible(browse_as, target, locale):
    tab = browse_as(target.role, locale, target.path)
    if target.submit:
        harness.submit_unchanged(tab)
        expect(tab.locator(".nhsuk-error-summary")).to_be_focused()
    assert harness.status(tab) == target.status
    assert tab.locator("html").get_attribute("lang") == html_lang(locale)
    harness.assert_accessible(tab, target.disable)
    assert harness.console_errors(tab, target.status) == []


def test_character_count_speaks_the_page_language(open_as):
    """NHS.UK's counter writes its own message; an Urdu page must not count in English."""
    tab = open_as("patient_urdu", "ur", "/patients/{arif}/goals/{arif_goal}/edit")
    counter = tab.locator(".nhsuk-character-count__status").first
    expect(counter).to_have_text(re.compile(r"^آپ کے پاس \S+ حروف باقی ہیں$"))
    tab.locator(".nhsuk-js-character-count").first.fill("x" * (TEXT_LIMIT + 2))
    expect(counter).to_have_text(re.compile(r"^آپ نے \S+ حروف زیادہ لکھے ہیں$"))


def test_security_code_page_is_accessible(page):
    """The two-step verification page exists only between the password and the code."""
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(harness.ACCOUNTS["professional"])
    page.get_by_label("Password").fill(harness.demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator('input[autocomplete="one-time-code"]')).to_be_visible()
    harness.assert_accessible(page)
    assert harness.console_errors(page) == []


@pytest.mark.parametrize("locale", harness.SWEEP_LOCALES)
def test_recovery_codes_page_is_accessible(fresh_page, locale):
    """The codes are shown once, in answer to a form, so the page has no address to sweep.
    A portal of its own: the nurse's codes are replaced."""
    fresh_page.goto("/account/mfa")
    harness.sign_in(fresh_page, "professional", locale=locale)
    fresh_page.goto("/account/mfa")
    get_new_codes = fresh_page.locator("main form[action$='/mfa/recovery-codes'] button")
    with fresh_page.expect_navigation():
        get_new_codes.click()
    if harness.asks_to_confirm_password(fresh_page):
        harness.confirm_password(fresh_page)  # back to the two-step verification page
        with fresh_page.expect_navigation():
            get_new_codes.click()
    expect(fresh_page.locator(".portal-recovery-codes code")).to_have_count(RECOVERY_CODE_COUNT)
    assert fresh_page.locator("html").get_attribute("lang") == html_lang(locale)
    harness.assert_accessible(fresh_page)
    assert harness.console_errors(fresh_page) == []


@pytest.mark.parametrize("locale", harness.SWEEP_LOCALES)
def test_import_preview_is_accessible(open_as, portal_server, locale):
    """The preview exists only in answer to an uploaded file: the plan's own document here."""
    path = portal_server.path("/patients/{margaret}/fhir-import")
    tab = open_as("professional", locale, "/patients/{margaret}/fhir-import")
    document = tab.request.get(path.replace("/fhir-import", "/plan.fhir.json")).body()
    tab.locator("input[type=file]").set_input_files(
        {"name": "plan.json", "mimeType": "application/fhir+json", "buffer": document}
    )
    with tab.expect_navigation():
        tab.locator("main form button").click()
    expect(tab.locator("main table")).to_be_visible()
    assert tab.locator("html").get_attribute("lang") == html_lang(locale)
    harness.assert_accessible(tab)
    assert harness.console_errors(tab) == []


@pytest.mark.parametrize("locale", harness.SWEEP_LOCALES)
def test_a_step_marked_done_and_taken_back_is_accessible(open_as, locale):
    """The task list with a step done shows the way back ("Mark as not done"); both states are
    checked, and the step is left as it was found."""
    tab = open_as("patient", locale, "/patients/{margaret}/preparation")
    done = tab.locator("main form[action$='/preparation/done'] button").first
    with tab.expect_navigation():
        done.click()
    undo = tab.locator("main form[action$='/preparation/not-done'] button").first
    expect(undo).to_be_visible()
    harness.assert_accessible(tab)
    with tab.expect_navigation():
        undo.click()
    expect(tab.locator("main form[action$='/preparation/not-done']")).to_have_count(0)
    harness.assert_accessible(tab)
    assert harness.console_errors(tab) == []
