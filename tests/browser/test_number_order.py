"""Numbers read in their own order on right-to-left pages, measured on screen.

The markup could say ``dir="ltr"`` and still be laid out wrongly (an isolate lost to CSS, a
number inside a translated sentence), so these tests ask Chromium where each digit group of
a number is drawn and check that the groups run from left to right.
"""

import pytest
from playwright.sync_api import Locator

from tests.browser import harness

RTL = [code for code in ("ur", "ar") if code in harness.LOCALES]

# The left edge, in CSS pixels, of each space-separated group of ``number`` inside the element
# (the first place it occurs in the element's text, isolate characters and all).
_GROUP_LEFTS = """
(element, number) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let text = "";
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    nodes.push([node, text.length]);
    text += node.data;
  }
  const start = text.indexOf(number);
  if (start < 0) return null;
  const at = (offset) => {
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (nodes[i][1] <= offset) return [nodes[i][0], offset - nodes[i][1]];
    }
  };
  const lefts = [];
  let offset = start;
  for (const group of number.split(" ")) {
    const [node, local] = at(offset);
    const range = document.createRange();
    range.setStart(node, local);
    range.setEnd(node, local + group.length);
    lefts.push(range.getBoundingClientRect().left);
    offset += group.length + 1;
  }
  return lefts;
}
"""


def group_lefts(element: Locator, number: str) -> list[float]:
    lefts = element.evaluate(_GROUP_LEFTS, number)
    assert lefts is not None, f"{number!r} is not in {element.inner_text()!r}"
    return lefts


def assert_reads_left_to_right(element: Locator, number: str) -> None:
    lefts = group_lefts(element, number)
    assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts), (
        f"the groups of {number!r} are drawn at x = {lefts}: not left to right"
    )


@pytest.mark.parametrize("locale", RTL)
def test_crisis_page_numbers_read_left_to_right(open_as, locale):
    tab = open_as("carer", locale, "/patients/{margaret}/crisis")
    assert tab.locator("html").get_attribute("dir") == "rtl"
    # The nurse team's button in the call list (and on its step, while the team is open).
    nurse_lines = tab.locator(".portal-call", has_text="0113 496 0456").all()
    assert nurse_lines
    for line in nurse_lines:
        assert_reads_left_to_right(line, "0113 496 0456")
    assert_reads_left_to_right(tab.locator(".portal-crisis-id"), "943 476 5919")
    harness.screenshot(tab, f"number-order-{locale}-crisis")


@pytest.mark.parametrize("locale", RTL)
def test_phone_hint_and_error_read_left_to_right(open_as, locale):
    tab = open_as("carer", locale, "/patients/{margaret}/contingency/contacts/{contact}")
    phone = tab.locator("input[type=tel]")
    hint = tab.locator(f"#{phone.get_attribute('id')}-hint")
    assert_reads_left_to_right(hint, "0113 496 0000")
    phone.fill("call me")
    phone.press("Enter")  # sends the contact form, which says what is wrong
    error = tab.locator(f"#{phone.get_attribute('id')}-error")
    assert_reads_left_to_right(error, "+44 113 496 0000")
    assert_reads_left_to_right(tab.locator(".nhsuk-error-summary"), "07700 900123")
