"""Numbers and codes keep their own order in right-to-left text (``portal.bidi``)."""

import re

import pytest
from flask_babel import force_locale
from markupsafe import Markup

from portal import bidi, mail
from portal.pdf import services as pdf
from tests.test_pdf import full_plan, pdftotext

LRI, PDI = bidi.LRI, bidi.PDI


def test_numbers_codes_and_addresses_in_rtl_text_are_isolated():
    text = "اتصل على 0113 496 0456 أو +44 113 496 0000 أو nurse@example.org"
    assert bidi.isolate_numbers(text) == (
        f"اتصل على {LRI}0113 496 0456{PDI} أو {LRI}+44 113 496 0000{PDI} "
        f"أو {LRI}nurse@example.org{PDI}"
    )


def test_english_text_is_left_as_it_is_unless_the_page_is_rtl():
    assert bidi.isolate_numbers("Ring 0113 496 0456") == "Ring 0113 496 0456"
    assert bidi.isolate_numbers("Ring 0113 496 0456", rtl=True) == f"Ring {LRI}0113 496 0456{PDI}"


def test_links_and_letters_with_digits_are_not_split():
    text = "رابط https://example.org/invitations/a1b2 HbA1c"
    assert bidi.isolate_numbers(text) == text


def test_markup_keeps_its_tags_and_attributes():
    html = Markup('<a href="/patients/12">٠١١٣ 496</a>')
    assert str(bidi.isolate_numbers(html, rtl=True)) == (
        f'<a href="/patients/12">{LRI}٠١١٣ 496{PDI}</a>'
    )


def test_ltr_escapes_and_wraps_in_bdi():
    assert bidi.ltr("<b>07700</b>") == '<bdi dir="ltr">&lt;b&gt;07700&lt;/b&gt;</bdi>'
    assert bidi.ltr("") == "" and bidi.ltr(None) == ""


@pytest.mark.parametrize(
    ("date_text", "expected"),
    [
        ("07\u200f/12\u200f/2026", '<bdi dir="ltr">07/12/2026</bdi>'),
        ("7 ديسمبر 2026", "7 ديسمبر 2026"),
    ],
)
def test_dates_in_digits_read_day_month_year_from_the_left(date_text, expected):
    assert str(bidi.ltr_date(date_text)) == expected


def test_rtl_email_body_isolates_numbers(app):
    with app.app_context():
        message = mail.build_message("a@example.org", "موضوع", "اتصل على 0113 496 0456")
    assert f"{LRI}0113 496 0456{PDI}" in message.get_content()


def test_crisis_page_isolates_the_nhs_number_and_call_numbers(db, cast, login):
    step = cast.plan_a.crisis_steps[0]
    step.who_to_call = "0113 496 0456"
    db.session.commit()
    html = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert '<bdi dir="ltr">0113 496 0456</bdi>' in html
    nhs = cast.a.nhs_number
    assert f'<bdi dir="ltr">{nhs[:3]} {nhs[3:6]} {nhs[6:]}</bdi>' in html


def _word_lefts(data: bytes, words: list[str]) -> list[float]:
    """Left edges of the first run of ``words`` appearing one after another in the PDF."""
    boxes = re.findall(r'<word xMin="([\d.]+)"[^>]*>([^<]*)</word>', pdftotext(data, "-bbox"))
    for i in range(len(boxes) - len(words) + 1):
        if [text for _x, text in boxes[i : i + len(words)]] == words:
            return [float(x) for x, _text in boxes[i : i + len(words)]]
    found = [text for _x, text in boxes]
    for i in range(len(boxes) - len(words) + 1):  # laid out right to left: found reversed
        if found[i : i + len(words)] == words[::-1]:
            return [float(x) for x, _text in boxes[i : i + len(words)]][::-1]
    raise AssertionError(f"{words} not found in the PDF")


@pytest.mark.parametrize("locale", ["ar", "ur"])
def test_crisis_sheet_numbers_read_left_to_right_in_rtl(app, locale):
    with app.test_request_context(), force_locale(locale):
        data = pdf.render_pdf(pdf.crisis_html(full_plan()), one_page=True)
    for number in ("943 476 5919", "07700 900123"):
        lefts = _word_lefts(data, number.split())
        assert lefts == sorted(lefts), f"{number} is printed at x = {lefts}"


def test_the_pdf_order_check_sees_an_unisolated_number_reversed(app):
    page = '<!DOCTYPE html><html lang="ar" dir="rtl"><p>رقم الخدمة 943 476 5919 هنا</p></html>'
    with app.test_request_context():
        data = pdf.render_pdf(page)
    lefts = _word_lefts(data, ["943", "476", "5919"])
    assert lefts != sorted(lefts)

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
