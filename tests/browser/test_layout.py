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
