"""Right-to-left pages mirror NHS.UK components, measured where the browser draws them."""

import pytest
from flask import render_template_string
from flask_babel import force_locale

from tests.browser import harness

RTL = [code for code in ("ur", "ar") if code in harness.LOCALES]
PLAN = "/patients/{margaret}/plan"


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, "the element is not drawn"
    return box


def _chevron_cos(tab, selector: str) -> float:
    """The cosine of the back link chevron's rotation: it points right when positive."""
    return tab.eval_on_selector(
        selector,
        """el => {
            const m = new DOMMatrixReadOnly(getComputedStyle(el, '::before').transform);
            return m.a;
        }""",
    )


@pytest.mark.parametrize("locale", RTL)
def test_back_link_arrow_is_on_the_right_and_points_right(open_as, locale):
    tab = open_as("patient", locale, "/patients/{margaret}/goals/{goal}/edit")
    link = tab.locator("a.nhsuk-back-link")
    box = _box(link)
    style = link.evaluate(
        """el => {
            const before = getComputedStyle(el, '::before');
            const range = document.createRange();
            range.selectNodeContents(el);
            const text = range.getBoundingClientRect();
            return {left: before.left, right: before.right, width: parseFloat(before.width),
                    textLeft: text.left, textRight: text.right};
        }"""
    )
    harness.screenshot(tab, f"rtl-{locale}-back-link", full_page=False)
    assert style["right"] == "0px", "the arrow is placed from the right edge"
    assert _chevron_cos(tab, "a.nhsuk-back-link") > 0, "the arrow points to the right"
    # The arrow takes the rightmost half em; the words stay clear of it.
    assert style["textRight"] <= box["x"] + box["width"] - style["width"]


def test_back_link_points_left_in_english(open_as):
    tab = open_as("patient", "en", "/patients/{margaret}/goals/{goal}/edit")
    assert _chevron_cos(tab, "a.nhsuk-back-link") < 0


PHONE = {"viewport": {"width": 360, "height": 740}}


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("locale", RTL)
def test_card_actions_run_right_to_left_with_the_divider_between(open_as, locale, width):
    """ "Change | Withdraw" on a goal: Change first, on the right, the divider between them."""
    tab = open_as("patient", locale, PLAN, **(PHONE if width == "phone" else {}))
    actions = tab.locator(".nhsuk-card__actions").first
    first, second = actions.locator(".nhsuk-card__action").nth(0), actions.locator(
        ".nhsuk-card__action"
    ).nth(1)
    one, two = _box(first), _box(second)
    assert two["x"] + two["width"] <= one["x"] + 1, "the second action is left of the first"
    border = second.evaluate(
        "el => [getComputedStyle(el).borderRightWidth, getComputedStyle(el).borderLeftWidth]"
    )
    assert border == ["1px", "0px"], "the divider is on the side facing the first action"
    if width == "desktop":  # the actions end at the left, the end of the heading row
        heading = _box(tab.locator(".nhsuk-card__heading-container").first)
        assert one["x"] + one["width"] < heading["x"] + heading["width"] / 2 + one["width"]


@pytest.mark.parametrize("locale", RTL)
def test_summary_list_actions_are_on_the_left_of_their_row(open_as, locale):
    tab = open_as("patient", locale, PLAN)
    row = tab.locator(".nhsuk-summary-list__row:has(.nhsuk-summary-list__actions)").first
    key = _box(row.locator(".nhsuk-summary-list__key"))
    action = _box(row.locator(".nhsuk-summary-list__actions a"))
    assert action["x"] + action["width"] <= key["x"], "the action is after the key, on the left"


@pytest.mark.parametrize("locale", RTL)
def test_lists_have_no_extra_indent(open_as, locale):
    tab = open_as("patient", locale, PLAN)
    paddings = tab.eval_on_selector_all(
        "main ul, main ol",
        """lists => lists.map(el => {
            const s = getComputedStyle(el);
            return [el.className, parseFloat(s.paddingLeft), parseFloat(s.paddingRight)];
        })""",
    )
    assert paddings
    for name, left, right in paddings:
        assert left == 0, f"{name}: {left}px on the left, the end of the line"
        assert right <= 20, f"{name}: {right}px on the right"


def _pagination_markup(app, locale: str) -> str:
    """The portal's own pagination macro, page 2 of 3."""
    from types import SimpleNamespace

    result = SimpleNamespace(pages=3, page=2, numbers=[1, 2, 3])
    with app.test_request_context(), force_locale(locale):
        return render_template_string(
            '{% from "macros/pagination.html" import pagination %}'
            '{{ pagination(result, "admin.organisations") }}',
            result=result,
        )


@pytest.mark.parametrize("locale", RTL)
def test_pagination_is_mirrored(open_as, app, locale):
    tab = open_as("patient", locale, PLAN)
    tab.eval_on_selector(
        "main", "(main, html) => main.insertAdjacentHTML('afterbegin', html)",
        _pagination_markup(app, locale),
    )
    nav = tab.locator("nav.nhsuk-pagination")
    previous, following = _box(nav.locator(".nhsuk-pagination__previous")), _box(
        nav.locator(".nhsuk-pagination__next")
    )
    first, last = _box(nav.get_by_text("1", exact=True)), _box(nav.get_by_text("3", exact=True))
    harness.screenshot(tab, f"rtl-{locale}-pagination", full_page=False)
    assert previous["x"] > following["x"], "the previous page is on the right"
    assert first["x"] > last["x"], "page 1 is on the right of page 3"
    flips = nav.locator("svg").evaluate_all(
        "icons => icons.map(i => new DOMMatrixReadOnly(getComputedStyle(i).transform).a)"
    )
    assert flips == [-1, -1], "both arrows are mirrored"


@pytest.mark.parametrize("locale", RTL)
def test_english_inside_the_page_uses_the_latin_font(open_as, locale):
    tab = open_as("patient", locale, PLAN)
    page_font = tab.evaluate("getComputedStyle(document.body).fontFamily")
    english = tab.eval_on_selector(
        'option[lang="en-GB"]', "el => getComputedStyle(el).fontFamily"
    )
    assert "Nastaliq" in page_font or "Naskh" in page_font
    assert english.startswith('"Frutiger W01"'), english


def test_urdu_link_underline_clears_nastaliq(open_as):
    if "ur" not in harness.LOCALES:
        pytest.skip("no Urdu catalogue")
    tab = open_as("patient", "ur", PLAN)
    offset = tab.eval_on_selector(
        "main a.nhsuk-link", "el => parseFloat(getComputedStyle(el).textUnderlineOffset)"
    )
    size = tab.eval_on_selector(
        "main a.nhsuk-link", "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert offset >= 0.4 * size
