"""Template globals: language, direction, date formatting and display labels."""

from flask import Flask, request
from flask_babel import get_locale
from jinja2 import pass_context

from portal import authorship, bidi, labels, lifecycle
from portal.character_count import character_count_i18n
from portal.i18n import (
    LANGUAGES,
    current_language,
    format_date,
    format_datetime,
    format_time,
    html_lang,
    language_name,
    request_translations,
    supported,
    text_direction,
    translation_reviews,
)
from portal.nhs_number import formatted as format_nhs_number
from portal.phone import is_phone_number, tel_href

# No message holds markup, so a translation is text: "&", "<" and ">" are escaped, and so is
# the double quotation mark that delimits every attribute in the templates ("alt", "title",
# "aria-label"). The apostrophe is left as it is: it is common in Welsh and English text and
# no template quotes an attribute with it (tests/test_html_sweep.py keeps it so).
_HTML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;"})


def _as_html(context, text: str) -> str:
    """Jinja trusts a translation as HTML: a quotation mark in one would end an attribute."""
    return text.translate(_HTML_TEXT) if context.eval_ctx.autoescape else text


def register_templating(app: Flask) -> None:
    app.extensions["translation_reviews"] = translation_reviews(
        app.config["BABEL_TRANSLATION_DIRECTORIES"]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # Numbers and codes keep their own order in right-to-left text (portal.bidi).
    app.jinja_env.filters["ltr"] = bidi.ltr
    app.jinja_env.filters["isolate_numbers"] = _isolate_numbers
    app.jinja_env.filters["nhs_number"] = lambda n: bidi.ltr(format_nhs_number(n)) if n else ""
    app.jinja_env.filters["date"] = lambda d, fmt="long": (
        bidi.ltr_date(format_date(d, fmt)) if d else ""
    )
    # A time of day, 24-hour, read left to right in every language ("08:00").
    app.jinja_env.filters["time"] = lambda t: bidi.ltr(t.strftime("%H:%M")) if t else ""
    # The wall-clock time of a moment (UTC in the database) at the practice.
    app.jinja_env.filters["time_of_day"] = lambda m: bidi.ltr(format_time(m)) if m else ""
    # Globals (not context) so that imported macros see them too.
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.globals["item_label"] = lifecycle.item_label
    app.jinja_env.globals["written_with"] = authorship.written_with
    app.jinja_env.globals["lifecycle"] = lifecycle
    app.jinja_env.globals["lang_attr"] = html_lang
    app.jinja_env.globals["language_name"] = language_name
    app.jinja_env.globals["character_count_i18n"] = character_count_i18n
    app.jinja_env.filters["tel_href"] = tel_href
    app.jinja_env.tests["phone_number"] = is_phone_number
    # Flask-Babel's callables, with the catalogue looked up once per locale and request, and
    # each translation escaped for HTML (see _as_html).
    app.jinja_env.install_gettext_callables(
        gettext=pass_context(lambda ctx, s: _as_html(ctx, request_translations().ugettext(s))),
        ngettext=pass_context(
            lambda ctx, s, p, n: _as_html(ctx, request_translations().ungettext(s, p, n))
        ),
        pgettext=pass_context(
            lambda ctx, c, s: _as_html(ctx, request_translations().upgettext(c, s))
        ),
        npgettext=pass_context(
            lambda ctx, c, s, p, n: _as_html(ctx, request_translations().unpgettext(c, s, p, n))
        ),
        newstyle=True,
    )

    @app.context_processor
    def inject():
        locale = current_language()
        return {
            "html_lang": html_lang(str(get_locale())),
            "text_dir": text_direction(locale),
            "current_locale": locale,
            "languages": [(code, LANGUAGES[code]) for code in supported()],
            "translation_review": app.extensions["translation_reviews"].get(locale),
            "current_path": request.full_path.rstrip("?"),
        }

    # Date and time in the reader's locale and the portal's time zone (Europe/London).
    app.jinja_env.filters["datetime"] = format_datetime


def _isolate_numbers(text):
    """Hints, errors and messages: numbers isolated on right-to-left pages and in RTL text."""
    return bidi.isolate_numbers(text, rtl=True if text_direction() == "rtl" else None)
