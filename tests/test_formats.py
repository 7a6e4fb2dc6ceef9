"""Dates and times in every language: CLDR's patterns, the UK's 24-hour clock, day first."""

from datetime import UTC, date, datetime

import pytest
from babel import Locale
from flask import render_template_string
from flask_babel import force_locale, gettext

from portal.i18n import LANGUAGES, date_pattern, format_date, format_datetime, format_time
from portal.meetings.views import meeting_time

OTHERS = [code for code in LANGUAGES if code != "en"]
MORNING = datetime(2027, 1, 7, 10, 30, tzinfo=UTC)  # London is on UTC in January
AFTERNOON = datetime(2027, 1, 7, 15, 45, tzinfo=UTC)
DAY = date(2027, 3, 4)


def _am_pm(code: str) -> set[str]:
    periods = Locale.parse(code).day_periods["format"]
    return {width[key] for width in periods.values() for key in ("am", "pm") if key in width}


@pytest.mark.parametrize("code", OTHERS)
def test_times_are_on_the_24_hour_clock_without_am_or_pm(app, code):
    with app.test_request_context(), force_locale(code):
        morning, afternoon = format_time(MORNING), format_time(AFTERNOON)
        sentence = meeting_time(AFTERNOON)
    assert morning == "10:30"
    assert afternoon == "15:45"
    words = set(sentence.replace("،", " ").replace(",", " ").split())
    leftovers = sorted(words & (_am_pm(code) | {"AM", "PM"}))
    assert leftovers == [], f"{code}: {sentence!r} still says {leftovers}"


@pytest.mark.parametrize("code", [*OTHERS, "en_GB"])
def test_long_dates_never_put_the_month_before_the_day(app, code):
    """US order (March 4, 2027) is read as 3 April by someone used to day-first dates."""
    with app.test_request_context(), force_locale(code):
        shown = format_date(DAY, "long")
        full = format_date(DAY, "full")
    month = Locale.parse(code).months["format"]["wide"][3]
    for text in (shown, full):
        if text.startswith("2027"):  # year, month, day (Chinese) is not the US order
            continue
        assert month in text, text
        assert text.index("4") < text.index(month), f"{code}: {text!r}"


def test_somali_dates_put_the_day_first(app):
    with app.test_request_context(), force_locale("so"):
        assert format_date(DAY, "long") == "4 Maarso, 2027"
        assert format_date(DAY, "full") == "Khamiis, 4 Maarso, 2027"
        assert format_date(DAY, "medium") == "04-Mar-2027"


@pytest.mark.parametrize("code", [*OTHERS, "en_GB"])
def test_date_patterns_are_cldrs_with_only_day_and_month_in_the_short_dates_order(code):
    """Nothing is written by hand: each pattern is CLDR's, or CLDR's with the day and month
    fields swapped where its long date disagrees with its own short date (Somali)."""
    formats = Locale.parse(code).date_formats
    for width in ("short", "medium", "long", "full"):
        cldr, used = formats[width].pattern, date_pattern(code, width)
        if used != cldr:
            assert code == "so" and width in ("long", "full")
            assert sorted(used) == sorted(cldr)  # the same fields and separators
            assert used.index("d") < used.index("M")


@pytest.mark.parametrize(
    ("code", "postposition"),
    [("ur", "کو"), ("ur", "بجے"), ("pa", "ਨੂੰ"), ("pa", "ਵਜੇ"), ("gu", "ના રોજ"), ("gu", "વાગ્યે")],
)
def test_meeting_sentence_says_each_postposition_once(app, code, postposition):
    with app.test_request_context(), force_locale(code):
        when = meeting_time(MORNING)
        sentence = gettext("The review meeting is on %(when)s.", when=when)
    assert sentence.count(postposition) == 1, sentence


def test_english_dates_and_times_read_as_before(app):
    with app.test_request_context(), force_locale("en_GB"):
        assert meeting_time(MORNING) == "Thursday, 7 January 2027 at 10:30"
        assert format_datetime(datetime(2027, 3, 4, 10, 30, 5)) == "4 Mar 2027, 10:30:05"
        assert format_date(DAY) == "4 March 2027"


def test_times_follow_london_summer_time(app):
    with app.test_request_context(), force_locale("ur"):
        assert format_time(datetime(2027, 7, 1, 9, 15, tzinfo=UTC)) == "10:15"
        shown = format_datetime(datetime(2027, 7, 1, 23, 30, tzinfo=UTC))
    assert "00:30" in shown and "2" in shown and "جولائی" in shown


def test_date_filter_uses_the_same_formats(app):
    with app.test_request_context(), force_locale("so"):
        html = render_template_string("{{ d | date }} / {{ none | date }}", d=DAY, none=None)
    assert html == "4 Maarso, 2027 / "

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
