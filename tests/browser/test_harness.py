"""The browser checks themselves: each must catch the fault it exists for."""

from urllib.parse import parse_qs

import pyotp

from tests.browser import harness

PHONE = {"width": 360, "height": 740}


def test_tap_target_check_reports_small_controls_but_not_links_in_sentences(new_context):
    page = new_context(viewport=PHONE).new_page()
    page.set_content(
        '<!DOCTYPE html><html lang="en"><body><main>'
        '<button style="width:16px;height:16px;padding:0">x</button>'
        '<p><a href="/alone" style="font-size:12px">Standalone</a></p>'
        '<p>Read <a href="/inline" style="font-size:12px">this link</a> in a sentence.</p>'
        '<button style="width:120px;height:44px">Big enough</button>'
        "</main></body></html>"
    )
    small = harness.small_tap_targets(page)
    assert len(small) == 2
    assert small[0].startswith("<button")
    assert "Standalone" in small[1]


def test_overflow_check_reports_a_page_wider_than_the_phone(new_context):
    page = new_context(viewport=PHONE).new_page()
    page.set_content('<!DOCTYPE html><html><body><div style="width:500px">wide</div></body></html>')
    overflow = harness.horizontal_overflow(page)
    assert overflow["scrollWidth"] > overflow["innerWidth"] == 360
    page.set_content('<!DOCTYPE html><html><body><div style="width:300px">fits</div></body></html>')
    assert harness.horizontal_overflow(page) is None


def test_overflow_check_sees_a_phone_browser_widen_its_layout(new_context):
    """A mobile browser lays a too-wide page out wider than the screen (innerWidth grows)."""
    page = new_context(viewport=PHONE, is_mobile=True).new_page()
    page.set_content(
        '<!DOCTYPE html><html dir="rtl"><head><meta name="viewport" '
        'content="width=device-width, initial-scale=1"></head><body>'
        '<select><option>a very long option that makes the select too wide for a phone screen'
        "</option></select></body></html>"
    )
    overflow = harness.horizontal_overflow(page)
    assert overflow is not None and any("<select" in culprit for culprit in overflow["wide"])


def test_focus_check_tells_a_visible_focus_from_a_hidden_one(page):
    page.set_content(
        '<!DOCTYPE html><html lang="en"><head><style>'
        "#hidden:focus { outline: none; }"
        "#shown:focus { outline: 3px solid #ffeb3b; }"
        '</style></head><body><button id="hidden">A</button><button id="shown">B</button>'
        "</body></html>"
    )
    hidden, shown = harness.tab_through(page, 2)
    assert hidden["id"] == "hidden" and shown["id"] == "shown"
    assert not hidden["outlineVisible"] and not hidden["changes_on_focus"]
    harness.assert_focus_visible(shown)


def test_sign_in_helper_answers_a_security_code_step(page):
    secret = pyotp.random_base32()
    posted = []

    def serve(route):
        if route.request.method == "POST":
            posted.append(route.request.post_data)
            route.fulfill(content_type="text/html", body="<!DOCTYPE html><p>Signed in</p>")
        else:
            route.fulfill(
                content_type="text/html",
                body=(
                    '<!DOCTYPE html><form method="post"><label for="code">Security code</label>'
                    '<input id="code" name="code" autocomplete="one-time-code">'
                    f'<p data-totp-secret="{secret}">Set up your app</p></form>'
                ),
            )

    page.route("http://security-code.test/**", serve)
    page.goto("http://security-code.test/sign-in/code")
    harness.complete_security_code(page)
    code = parse_qs(posted[0])["code"][0]
    assert pyotp.TOTP(secret).verify(code, valid_window=1)
