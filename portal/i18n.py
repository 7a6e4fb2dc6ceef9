"""Languages, locale choice and text direction."""

import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import flask_babel
from babel import Locale
from babel.dates import format_skeleton
from babel.support import NullTranslations
from flask import current_app, g, has_app_context, request
from flask_babel import get_locale, get_translations
from flask_login import current_user

LOCALE_COOKIE = "portal_locale"

# Every language the portal is built for, each named in itself for the switcher.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "cy": "Cymraeg",
    "pl": "Polski",
    "ro": "Română",
    "pa": "ਪੰਜਾਬੀ",
    "ur": "اردو",
    "pt": "Português",
    "es": "Español",
    "ar": "العربية",
    "bn": "বাংলা",
    "gu": "ગુજરાતી",
    "so": "Soomaali",
    "zh_Hans": "中文（简体）",
}


def available_locales(translations_dir: str) -> list[str]:
    """English plus every language that ships a catalogue; a language without one is not offered."""
    root = Path(translations_dir)
    shipped = {p.parent.parent.name for p in root.glob("*/LC_MESSAGES/messages.po")}
    return [code for code in LANGUAGES if code == "en" or code in shipped]


@dataclass(frozen=True)
class Review:
    """A professional translator's review of one language's whole catalogue."""

    date: date
    by: str


def translation_reviews(translations_dir: str) -> dict[str, Review]:
    """``translations/reviews.toml``: the languages a professional translator has reviewed."""
    path = Path(translations_dir) / "reviews.toml"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        reviewed = tomllib.load(f).get("reviewed", {})
    return {
        code: Review(entry["date"], str(entry.get("by", "")))
        for code, entry in reviewed.items()
        if code in LANGUAGES and isinstance(entry, dict) and isinstance(entry.get("date"), date)
    }


def supported() -> list[str]:
    return current_app.config["LOCALES"]


# English is written and formatted as in the UK ("1 June 2027"), not as Babel's plain "en".
BRITISH_ENGLISH = "en_GB"


def select_locale() -> str:
    """The chosen language, with English formatted the British way."""
    return formatting_locale(_chosen_language())


def formatting_locale(code: str) -> str:
    """The locale to format a language's text in (``en`` -> ``en_GB``), as a request does."""
    return BRITISH_ENGLISH if code == "en" else code


def current_language() -> str:
    """The portal's code for the reader's language (``en``, ``cy``, ... ``zh_Hans``)."""
    code = str(get_locale())
    return "en" if code == BRITISH_ENGLISH else code


# A link may name its language (``?lang=ur``): an invitation email links to the invitation page
# in the language it is written in, and its English part to the English page.
LANGUAGE_PARAMETER = "lang"


def linked_language() -> str | None:
    """The language a link asked for, if the portal has it."""
    asked = request.args.get(LANGUAGE_PARAMETER)
    return asked if asked in supported() else None


def _chosen_language() -> str:
    """The language a link asked for, the saved choice on the account, then the cookie, then
    Accept-Language, then English."""
    locales = supported()
    if linked := linked_language():
        return linked
    if current_user and current_user.is_authenticated and current_user.preferred_locale in locales:
        return current_user.preferred_locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in locales:
        return cookie
    accepted = request.accept_languages.best_match([c.replace("_", "-") for c in locales])
    if accepted:
        return accepted.replace("-", "_")
    # Accept-Language "zh-CN" or "zh" means Simplified Chinese here.
    for lang, _q in request.accept_languages:
        if lang.lower().startswith("zh") and "zh_Hans" in locales:
            return "zh_Hans"
    return "en"


def remember_language(response, code: str) -> None:
    """The language cookie, for pages seen before signing in."""
    response.set_cookie(
        LOCALE_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        secure=request.is_secure or current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def _remembered(ctx) -> NullTranslations | None:
    """The catalogue remembered for the locale now in force, if it is still that locale."""
    remembered = getattr(ctx, "portal_translations", None)
    if remembered is not None and remembered[0] is getattr(ctx, "babel_locale", None):
        return remembered[1]
    return None


class RequestDomain(flask_babel.Domain):
    """Flask-Babel's message domain, finding the catalogue once per request and locale.

    A page looks up a few hundred strings, in its templates and through ``gettext`` and lazy
    strings in the Python code; Flask-Babel's own lookup finds the context, domain, locale and
    catalogue again for each one. The catalogue is remembered beside the locale object itself,
    so ``force_locale`` (PDFs and emails in another language) gets its own. The portal has
    one message domain (``messages``).
    """

    def get_translations(self):
        ctx = g.get("_flask_babel") if has_app_context() else None
        if (found := _remembered(ctx)) is not None:
            return found
        translations = super().get_translations()
        ctx = g.get("_flask_babel") if has_app_context() else None  # made by the lookup
        if ctx is not None and getattr(ctx, "babel_locale", None) is not None:
            ctx.portal_translations = (ctx.babel_locale, translations)
        return translations


def request_translations() -> NullTranslations:
    """The catalogue for the locale in force (see ``RequestDomain``), for the templates'
    gettext: its remembered copy straight away, without finding the domain first."""
    if has_app_context() and (found := _remembered(g.get("_flask_babel"))) is not None:
        return found
    return get_translations()


def html_lang(code: str | None = None) -> str:
    """BCP 47 tag for the ``lang`` attribute (``zh_Hans`` -> ``zh-Hans``, ``en`` -> ``en-GB``)."""
    code = code or str(get_locale())
    return "en-GB" if code == "en" else code.replace("_", "-")


def text_direction(code: str | None = None) -> str:
    locale = Locale.parse(code) if code else get_locale()
    return locale.text_direction


def language_name(code: str | None) -> str:
    """A language's name in the reader's language, with its own name beside it."""
    if not code:
        return ""
    try:
        here = Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, TypeError):
        return code
    own = LANGUAGES.get(code)
    return f"{here} ({own})" if own and own != here else here


# --------------------------------------------------------------------------- #
# Dates and times: CLDR's patterns through Babel, never written by hand
# --------------------------------------------------------------------------- #

# Times use the UK's 24-hour clock (CLDR's preferred hour cycle for the GB region) written
# with each language's own "Hm" pattern: CLDR's default for India and Pakistan is a 12-hour
# "10:30 AM", which Urdu, Punjabi, Bengali and Gujarati sentences then followed with their own
# "o'clock" word.
TIME_SKELETONS = {"short": "Hm", "medium": "Hms", "long": "Hms", "full": "Hms"}

# CLDR's own data is not always of one mind about the order of day and month: Somali's short
# and medium dates are day first ("04/03/27", "04-Mar-2027") while its long and full dates,
# and every skeleton, are month first ("Maarso 4, 2027"), the US order, which a reader used to
# day-first dates takes for 3 April. Where a locale's long or full pattern orders day and month
# unlike its own short pattern, the two fields of CLDR's pattern swap places (separators and
# everything else as CLDR has them): "MMMM d, y" becomes "d MMMM, y". No pattern is written
# here; tests/test_formats.py checks every language.
_PATTERN_PIECE = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")


def _fields(pattern: str) -> list[str]:
    return [m.group(0) for m in _PATTERN_PIECE.finditer(pattern)]


def _day_first(pieces: list[str]) -> bool | None:
    letters = [p[0] for p in pieces if p[0] in "dML"]
    if "d" not in letters or not {"M", "L"} & set(letters):
        return None
    return letters.index("d") < min(letters.index(x) for x in "ML" if x in letters)


@functools.cache
def date_pattern(code: str, width: str) -> str:
    """CLDR's date pattern for ``width``, with day and month in the locale's short-date order."""
    locale = Locale.parse(code)
    pattern = locale.date_formats[width].pattern
    if width == "short":
        return pattern
    pieces = _fields(pattern)
    wanted, found = _day_first(_fields(locale.date_formats["short"].pattern)), _day_first(pieces)
    if wanted is None or found is None or wanted == found:
        return pattern
    day = next(i for i, p in enumerate(pieces) if p[0] == "d")
    month = next(i for i, p in enumerate(pieces) if p[0] in "ML")
    pieces[day], pieces[month] = pieces[month], pieces[day]
    return "".join(pieces)


def format_date(value, width: str = "long") -> str:
    """A date in the reader's language; ``width`` is short, medium, long or full (anything
    else is taken as a pattern)."""
    if value is None:
        return ""
    if width in ("short", "medium", "long", "full"):
        width = date_pattern(str(get_locale()), width)
    return flask_babel.format_date(value, width)


def format_month(value) -> str:
    """A month and year ("December 2027"), for a date that is a deadline, not a day."""
    if value is None:
        return ""
    return format_skeleton("yMMMM", value, locale=get_locale())


def format_time(value, width: str = "short") -> str:
    """A wall-clock time in the portal's time zone, on the 24-hour clock."""
    if value is None:
        return ""
    return format_skeleton(
        TIME_SKELETONS[width], value, tzinfo=flask_babel.get_timezone(), locale=get_locale()
    )


def format_datetime(value, width: str = "medium") -> str:
    """Date and time joined the way the language joins them (CLDR's date-time pattern)."""
    if value is None:
        return ""
    local = flask_babel.to_user_timezone(value)  # a naive value is UTC, as Babel takes it
    joined = get_locale().datetime_formats[width].replace("'", "")
    date = format_date(local.date(), width)
    return joined.replace("{0}", format_time(local, width)).replace("{1}", date)
