"""Languages, locale choice and text direction."""

from pathlib import Path

from babel import Locale
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


def supported() -> list[str]:
    return current_app.config["LOCALES"]


# English is written and formatted as in the UK ("1 June 2027"), not as Babel's plain "en".
BRITISH_ENGLISH = "en_GB"


def select_locale() -> str:
    """The chosen language, with English formatted the British way."""
    code = _chosen_language()
    return BRITISH_ENGLISH if code == "en" else code


def current_language() -> str:
    """The portal's code for the reader's language (``en``, ``cy``, ... ``zh_Hans``)."""
    code = str(get_locale())
    return "en" if code == BRITISH_ENGLISH else code


def _chosen_language() -> str:
    """Saved choice on the account, then the cookie, then Accept-Language, then English."""
    locales = supported()
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


def request_translations() -> NullTranslations:
    """The catalogue for the locale in force, remembered beside that locale for the request.

    A page looks up a few hundred strings; Flask-Babel's own lookup finds the context, domain,
    locale and catalogue again for each one. Keyed on the locale object itself, so
    ``force_locale`` (PDFs and emails in another language) gets its own catalogue.
    """
    if not has_app_context():
        return get_translations()
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    remembered = getattr(ctx, "portal_translations", None)
    if locale is not None and remembered is not None and remembered[0] is locale:
        return remembered[1]
    translations = get_translations()
    ctx = g._flask_babel  # made by get_translations
    ctx.portal_translations = (ctx.babel_locale, translations)
    return translations


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
