"""What the browser tests do to a page: sign in, change language, check accessibility,
focus, tap targets and scrolling, and keep screenshots for people to look at."""

import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, expect

from portal import config, demo
from portal.i18n import available_locales, html_lang

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

# The languages the accessibility sweep runs in: Latin, Welsh, two right-to-left scripts and
# Chinese. A language is only offered once its catalogue ships, so the sweep runs over the
# ones that are available now and grows by itself as translations land.
SWEEP_LANGUAGES = ("en", "cy", "ur", "ar", "zh_Hans")
LOCALES = available_locales(
    os.environ.get(  # the server reads the same variable (PORTAL_* settings)
        "PORTAL_BABEL_TRANSLATION_DIRECTORIES", config.Defaults.BABEL_TRANSLATION_DIRECTORIES
    )
)
SWEEP_LOCALES = [code for code in SWEEP_LANGUAGES if code in LOCALES]

# Demo people by role; "anonymous" is someone who has not signed in.
ACCOUNTS = {
    "patient": demo.ACCOUNTS["patient"],
    "patient_urdu": demo.ACCOUNTS["patient_urdu"],
    "carer": demo.ACCOUNTS["carer"],
    "professional": demo.ACCOUNTS["professional"],
    "commissioner": demo.ACCOUNTS["commissioner"],
    "admin": demo.ACCOUNTS["admin"],
    "matron": demo.ACCOUNTS["matron"],
    "paramedic": demo.ACCOUNTS["paramedic"],
}

# WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus axe's best practices.
AXE_TAGS = [
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22a",
    "wcag22aa",
    "best-practice",
]
# Rules switched off everywhere, each with the reason it cannot apply. Keep this empty unless
# a rule truly cannot apply; switch a rule off for one page in tests/browser/pages.py instead.
AXE_RULES_OFF: dict[str, str] = {}

# The switcher's wording changes with the language it switches to, so it is found by class.
LANGUAGE_SWITCHER = ".portal-language"


# --------------------------------------------------------------------------- #
# Signing in and languages
# --------------------------------------------------------------------------- #


def sign_in(page: Page, role: str, locale: str | None = "en") -> None:
    """Sign in through the real form as a person would, including a security-code step.

    The portal then shows the language saved on the account, which an earlier test may have
    changed; ``locale`` (English unless told) is chosen with the switcher if it differs.
    """
    if urlparse(page.url).path != "/sign-in":
        page.goto("/sign-in")
    # Signed out by another test's "Sign out" (which ends every session of the account), the
    # sign-in page is in the language the browser last chose: the form is filled in English.
    ensure_language(page, "en")
    page.get_by_label("Email address").fill(ACCOUNTS[role])
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    complete_security_code(page)
    assert urlparse(page.url).path != "/sign-in", f"{role} could not sign in"
    if locale:
        ensure_language(page, locale)


def complete_security_code(page: Page) -> None:
    """Answer a TOTP step if the portal asks for one (professionals and admins).

    The field is recognised by ``autocomplete="one-time-code"``, which every code field should
    carry. The secret comes from the page when it shows one for setting up an authenticator
    app (an element with ``data-totp-secret``), otherwise from the demo data's fixed secret.
    """
    field = page.locator('input[autocomplete="one-time-code"]')
    if field.count() == 0:
        return
    import pyotp

    totp = pyotp.TOTP(_totp_secret(page))
    # A code already used in this 30-second step is refused as a replay, so try the next step's
    # code too (servers accept one step of clock drift).
    for offset in (0, 30):
        field.fill(totp.at(time.time() + offset))
        with page.expect_navigation():
            field.press("Enter")
        if field.count() == 0:
            return
    raise AssertionError("The security code was refused")


def _totp_secret(page: Page) -> str:
    shown = page.locator("[data-totp-secret]")
    if shown.count():
        return shown.first.get_attribute("data-totp-secret")
    for name in ("DEMO_TOTP_SECRET", "DEMO_MFA_SECRET", "TOTP_SECRET", "MFA_SECRET"):
        if secret := getattr(demo, name, None):
            return secret
    pytest.fail(
        "Sign-in asks for a security code but the demo has no fixed TOTP secret: "
        "expose it as portal.demo.DEMO_TOTP_SECRET (or data-totp-secret on the set-up page)."
    )


def asks_to_confirm_password(page: Page) -> bool:
    """Whether the portal has sent the page to "Confirm your password" (re-authentication)."""
    return urlparse(page.url).path == "/confirm-password"


def confirm_password(page: Page) -> None:
    """Type the demo password into "Confirm your password" (in any language) and continue."""
    field = page.locator('input[autocomplete="current-password"]')
    field.fill(demo.DEMO_PASSWORD)
    with page.expect_navigation():
        field.press("Enter")
    assert not asks_to_confirm_password(page), "the password was not accepted"


def submit_unchanged(page: Page) -> None:
    """Send the page's form as it stands (an empty new form shows its errors)."""
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").first.click()


def is_signed_in_page(page: Page) -> bool:
    return (
        urlparse(page.url).path != "/sign-in"
        and page.locator("form[action$='/sign-out']").count() > 0
    )


def status(page: Page) -> int:
    """HTTP status of the document now shown (after any redirects)."""
    return page.evaluate("() => performance.getEntriesByType('navigation')[0].responseStatus")


def page_language(page: Page) -> str:
    return page.locator("html").get_attribute("lang") or ""


def switch_language(page: Page, code: str) -> None:
    """Use the language switcher on the current page (saved on the account when signed in)."""
    switcher = page.locator(LANGUAGE_SWITCHER)
    switcher.get_by_role("combobox").select_option(code)
    switcher.get_by_role("button").click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", html_lang(code))


def ensure_language(page: Page, code: str) -> None:
    if page_language(page) != html_lang(code):
        switch_language(page, code)


# --------------------------------------------------------------------------- #
# Accessibility: axe-core
# --------------------------------------------------------------------------- #

_AXE_SOURCE: str | None = None


def _axe_source() -> str:
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        if not AXE_JS.exists():
            pytest.fail(f"{AXE_JS} is missing: run `make setup` (npm ci installs axe-core)")
        _AXE_SOURCE = AXE_JS.read_text(encoding="utf-8")
    return _AXE_SOURCE


def axe_violations(page: Page, disable: tuple[str, ...] | list[str] = ()) -> list[dict]:
    """Run axe-core on the page as it is now and return its violations (every impact level)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # page.add_script_tag inserts an inline <script>, which the portal's CSP
        # (script-src 'self') rightly blocks. Evaluating the source through the DevTools
        # protocol is not subject to the page's CSP, so the CSP stays on for everything else
        # the page does (bypass_csp=True would hide real CSP problems).
        page.evaluate(_axe_source() + "\n;undefined")
    rules = {rule: {"enabled": False} for rule in [*AXE_RULES_OFF, *disable]}
    options = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        "rules": rules,
        "resultTypes": ["violations"],
    }
    return page.evaluate(
        """async (options) => {
            const result = await axe.run(document, options);
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html,
                                          summary: n.failureSummary})),
            }));
        }""",
        options,
    )


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    at {node['target']}: {node['html'][:160]}")
            if node["summary"]:
                lines.append("      " + node["summary"].replace("\n", "\n      "))
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def assert_accessible(page: Page, disable: tuple[str, ...] | list[str] = ()) -> None:
    violations = axe_violations(page, disable)
    assert not violations, (
        f"axe found {len(violations)} problem(s) on {page.url} "
        f"(lang={page_language(page)}):\n{describe_violations(violations)}"
    )


# --------------------------------------------------------------------------- #
# Console: script errors and Content-Security-Policy refusals
# --------------------------------------------------------------------------- #


def watch_console(page: Page) -> list[str]:
    """Collect script errors and console errors (CSP refusals are reported there)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.portal_console_errors = errors
    return errors


def console_errors(page: Page, expected_status: int = 200) -> list[str]:
    """Errors so far, leaving out the browser's note about an error page's own status."""
    expected = f"the server responded with a status of {expected_status}"
    return [
        e
        for e in getattr(page, "portal_console_errors", [])
        if not (expected_status != 200 and expected in e)
    ]


# --------------------------------------------------------------------------- #
# Keyboard and focus
# --------------------------------------------------------------------------- #

_FOCUS_STYLE = """el => {
    const s = getComputedStyle(el);
    return {outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
            shadow: s.boxShadow, background: s.backgroundColor, color: s.color,
            decoration: s.textDecorationLine + " " + s.textDecorationThickness};
}"""


_DESCRIBE = """el => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(), id: el.id, cls: String(el.className || ""),
        text: (el.innerText || el.value || el.getAttribute("aria-label") || "")
            .replace(/\\s+/g, " ").trim(),
        href: el.getAttribute("href"),
        outlineVisible: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2
            && s.outlineColor !== "transparent" && !/rgba\\(.*,\\s*0\\)$/.test(s.outlineColor),
        width: r.width, height: r.height,
    };
}"""


def focused(page: Page) -> dict:
    """The element with the keyboard focus: tag, text, id, href, size and outline."""
    return page.evaluate(f"() => ({_DESCRIBE})(document.activeElement)")


def tabbable(page: Page) -> list[dict]:
    """Every element Tab should stop at, in document order (the portal uses no tabindex > 0)."""
    return page.evaluate(
        f"""() => [...document.querySelectorAll(
                'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), '
                + 'select:not([disabled]), textarea:not([disabled]), summary, '
                + '[tabindex]:not([tabindex="-1"])')]
            .filter(el => el.checkVisibility({{visibilityProperty: true}}))
            .map({_DESCRIBE})"""
    )


def same_element(a: dict, b: dict) -> bool:
    return (a["tag"], a["id"], a["text"], a["href"]) == (b["tag"], b["id"], b["text"], b["href"])


def focus_styles(page: Page) -> dict:
    return page.evaluate(f"() => ({_FOCUS_STYLE})(document.activeElement)")


def tab_through(page: Page, steps: int, shift: bool = False) -> list[dict]:
    """Press Tab (or Shift+Tab) ``steps`` times and describe each element that took the focus.

    Each stop says whether its focus is visible: a real outline, or a look (outline, box
    shadow, background, colour or underline) that changes when the focus leaves it. NHS.UK
    frontend shows focus as a yellow background with a dark underline and keeps a transparent
    outline for Windows high-contrast mode. Focus ends where the last press left it.
    """
    key, back = ("Shift+Tab", "Tab") if shift else ("Tab", "Shift+Tab")
    stops: list[dict] = []
    handles, styles = [], []

    def settle_previous() -> None:
        stops[-1]["changes_on_focus"] = handles[-1].evaluate(_FOCUS_STYLE) != styles[-1]

    for _ in range(steps):
        page.keyboard.press(key)
        if stops:
            settle_previous()
        stops.append(focused(page))
        handles.append(page.evaluate_handle("() => document.activeElement"))
        styles.append(focus_styles(page))
    if stops:
        page.keyboard.press(key)
        settle_previous()
        page.keyboard.press(back)
    return stops


def tab_to(page: Page, target: Locator, limit: int = 60, shift: bool = False) -> int:
    """Press Tab until ``target`` has the focus; the number of presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{target} never received the focus in {limit} presses of Tab")


def assert_focus_visible(stop: dict) -> None:
    assert stop["outlineVisible"] or stop.get("changes_on_focus"), (
        f"no visible focus on <{stop['tag']}> {stop['text'][:60]!r} ({stop['cls']})"
    )


# --------------------------------------------------------------------------- #
# Phone layout
# --------------------------------------------------------------------------- #


def horizontal_overflow(page: Page) -> dict | None:
    """None if the page fits the viewport's width; else the widths and the widest culprits.

    The width is the one the page was opened at: a phone browser widens its layout viewport
    to fit content that is too wide (and zooms out), so ``innerWidth`` can grow with the fault.
    """
    return page.evaluate(
        """(width) => {
            const doc = document.documentElement;
            if (doc.scrollWidth <= width && window.innerWidth <= width) return null;
            const wide = [...document.body.querySelectorAll("*")]
                .filter(el => {
                    const r = el.getBoundingClientRect();
                    return r.width > width + 0.5 || r.left < -0.5 || r.right > width + 0.5;
                })
                .slice(-8)
                .map(el => `<${el.tagName.toLowerCase()} class="${el.className}"> width=` +
                           Math.round(el.getBoundingClientRect().width));
            return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, wide};
        }""",
        page.viewport_size["width"],
    )


def small_tap_targets(page: Page, minimum: int = 24) -> list[str]:
    """Buttons, form fields and standalone links smaller than ``minimum`` CSS pixels.

    WCAG 2.5.8 exempts targets "in a sentence or its size is otherwise constrained by the
    line-height of non-target text", so a link inside running text is left out: a link counts
    as standalone when it is all the text of its nearest block (a list item, paragraph or
    table cell holding only the link). Visually hidden elements (the skip link until it is
    focused) are left out too. Radio buttons and checkboxes are measured by their label, the
    target a person taps. A link whose ``::after`` is stretched over its positioned ancestor
    (the NHS.UK task list makes the whole row the link that way) is measured by that ancestor.
    """
    return page.evaluate(
        """(minimum) => {
            const squash = s => (s || "").replace(/\\s+/g, " ").trim();
            const blockOf = el => {
                let node = el.parentElement;
                while (node && getComputedStyle(node).display.startsWith("inline")) {
                    node = node.parentElement;
                }
                return node;
            };
            const found = [];
            const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary";
            for (const el of document.querySelectorAll(selector)) {
                if (!el.checkVisibility({visibilityProperty: true})) continue;
                let target = el;
                if (el.matches("input[type=radio], input[type=checkbox]") && el.labels.length) {
                    target = el.labels[0];
                }
                const after = getComputedStyle(el, "::after");
                if (el.tagName === "A" && after.content !== "none" && after.position === "absolute"
                    && el.offsetParent) {
                    target = el.offsetParent;
                }
                const r = target.getBoundingClientRect();
                if (r.width <= 1 || r.height <= 1) continue;
                if (el.tagName === "A") {
                    const block = blockOf(el);
                    if (block && squash(block.innerText) !== squash(el.innerText)) continue;
                }
                if (r.width < minimum || r.height < minimum) {
                    found.push(`<${el.tagName.toLowerCase()} class="${el.className}"> ` +
                               `${squash(el.innerText || el.name || "").slice(0, 40)} ` +
                               `${r.width.toFixed(1)}x${r.height.toFixed(1)}`);
                }
            }
            return found;
        }""",
        minimum,
    )


# --------------------------------------------------------------------------- #
# Screenshots
# --------------------------------------------------------------------------- #


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a PNG under test-artifacts/screenshots/ (git-ignored) for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=full_page)
    return path
