"""Every text on the crisis sheet meets WCAG AA contrast (4.5:1), with the sheet's own styles.

The sheet is laid out by WeasyPrint with the stylesheet the PDF uses (``static/css/pdf.css``);
each piece of text is checked against the nearest background it is drawn on (the white page
if none), so a grey English gloss inside the red emergency line is caught.
"""

import pytest
from flask_babel import force_locale
from weasyprint import HTML
from weasyprint.formatting_structure.boxes import TextBox

from portal.models import CrisisStep
from portal.pdf import services
from portal.pdf.fetcher import StaticOnlyFetcher
from tests.test_pdf import _fake_catalogue, full_plan

AA = 4.5
WHITE = (1.0, 1.0, 1.0, 1.0)
WELSH = {
    "In an emergency call 999": "Mewn argyfwng ffoniwch 999",
    "Signs to look for": "Arwyddion i chwilio amdanynt",
    "What to do": "Beth i'w wneud",
    "Who to call": "Pwy i'w ffonio",
    "Usual state of health": "Cyflwr iechyd arferol",
    "Not yet checked by the care team": "Heb ei wirio eto gan y tîm gofal",
    "Allergies": "Alergeddau",
}


def _luminance(rgba) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground, background) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_contrasts(app, html: str) -> list[tuple[str, float]]:
    """(text, contrast ratio) for every piece of text laid out, as the PDF renderer styles it."""
    fetcher = StaticOnlyFetcher(app.static_folder)
    stylesheet = services._base_stylesheet(app.static_folder)
    document = HTML(string=html, base_url=fetcher.base_url, url_fetcher=fetcher).render(
        stylesheets=[stylesheet]
    )
    found: list[tuple[str, float]] = []

    def walk(box, background):
        colour = box.style["background_color"]
        if colour.alpha > 0:
            background = colour
        if isinstance(box, TextBox) and box.text.strip():
            found.append((box.text, contrast(box.style["color"], background)))
        for child in getattr(box, "children", ()):
            walk(child, background)

    for page in document.pages:
        walk(page._page_box, WHITE)
    return found


def _sheet(app, monkeypatch, locale: str) -> str:
    plan = full_plan()
    plan.crisis_steps.append(
        CrisisStep(level="amber", signs="New sign", actions="New action", pending_review=True)
    )
    with app.test_request_context():
        if locale == "cy":
            _fake_catalogue(monkeypatch, "cy", WELSH)
        with force_locale(locale):
            return services.crisis_html(plan)


@pytest.mark.parametrize("locale", ["cy", "ur", "en_GB"])
def test_every_text_on_the_crisis_sheet_meets_aa_contrast(app, monkeypatch, locale):
    html = _sheet(app, monkeypatch, locale)
    with app.test_request_context():
        ratios = text_contrasts(app, html)
    assert ratios
    too_faint = [(text, round(ratio, 2)) for text, ratio in ratios if ratio < AA]
    assert too_faint == []


def test_the_glosses_are_checked_where_they_are_drawn(app, monkeypatch):
    """The English gloss inside the red emergency line is among the texts checked."""
    html = _sheet(app, monkeypatch, "cy")
    assert '<span class="pdf-english" lang="en" dir="ltr">In an emergency call 999</span>' in html
    with app.test_request_context():
        texts = [text for text, _ratio in text_contrasts(app, html)]
    assert any("In an emergency call 999" in text for text in texts)


def test_the_check_catches_grey_on_red(app):
    html = (
        '<!DOCTYPE html><html lang="en"><p class="pdf-emergency">Call 999 '
        '<span style="color: #4c6272">/ grey gloss</span></p></html>'
    )
    with app.test_request_context():
        ratios = dict(text_contrasts(app, html))
    assert ratios["/ grey gloss"] < 1.5
    assert round(contrast((1, 1, 1, 1), (0, 0, 0, 1)), 1) == 21.0

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
