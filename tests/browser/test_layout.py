"""Phones and paper: no sideways scrolling, big enough targets, a one-page crisis sheet."""

import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from tests.browser import harness
from tests.browser.pages import PHONE

PHONE_OPTIONS = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.mark.parametrize("target", PHONE, ids=lambda p: p.id)
@pytest.mark.parametrize("locale", harness.SWEEP_LOCALES)
def test_page_fits_a_phone(open_as, target, locale):
    tab = open_as(target.role, locale, target.path, **PHONE_OPTIONS)
    assert harness.status(tab) == target.status
    harness.screenshot(tab, f"phone-{locale}-{target.id}")
    assert harness.horizontal_overflow(tab) is None
    assert harness.small_tap_targets(tab) == []


@pytest.mark.parametrize("locale", harness.SWEEP_LOCALES)
def test_crisis_page_prints_on_one_a4_page(open_as, locale):
    tab = open_as("carer", locale, "/patients/{margaret}/crisis")
    tab.emulate_media(media="print")
    harness.screenshot(tab, f"print-{locale}-crisis")
    pdf = tab.pdf(format="A4", print_background=True)
    harness.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (harness.ARTIFACTS / f"crisis-print-{locale}.pdf").write_bytes(pdf)
    reader = PdfReader(BytesIO(pdf))
    # Text extraction spaces words oddly (more so right to left): compare on single spaces.
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    for needed in ("999", "07700 900123", "0113 496 0000", "Penicillin", "red folder"):
        assert needed in text, f"{needed!r} is missing from the printed crisis page"
    assert len(reader.pages) == 1


# Where a label sits in its button or tag: the gaps above and below its text, in pixels.
LABEL_GAPS = """() => [...document.querySelectorAll("main .nhsuk-button, main .nhsuk-tag")]
  .filter((el) => el.offsetParent !== null)
  .map((el) => {
    const box = el.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = [...range.getClientRects()].filter((r) => r.width > 1 && r.height > 1);
    if (!lines.length) return null;
    const top = Math.min(...lines.map((r) => r.top));
    const bottom = Math.max(...lines.map((r) => r.bottom));
    return [el.textContent.trim().slice(0, 40), top - box.top, box.bottom - bottom];
  })
  .filter(Boolean)"""


@pytest.mark.parametrize("locale", ["en", "ur", "zh_Hans"])
@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("path", ["/patients/{margaret}/plan", "/patients/{margaret}/crisis"])
def test_button_and_tag_labels_sit_in_the_middle(open_as, locale, width, path):
    """No label stuck to the top edge of its button ("Add a goal", "Call 999") or tag ("Your
    suggestion – not yet agreed"), wrapped or not, at a phone's and a laptop's width."""
    tab = open_as("patient", locale, path, viewport={"width": width, "height": 900})
    gaps = tab.evaluate(LABEL_GAPS)
    assert gaps, "no buttons or tags to measure"
    off_centre = [(text, above, below) for text, above, below in gaps if abs(above - below) > 6]
    assert off_centre == []
