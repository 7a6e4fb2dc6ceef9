"""Template globals: language, direction, date formatting and display labels."""

from flask import Flask, request
from flask_babel import format_date, get_locale

from portal import labels
from portal.i18n import LANGUAGES, html_lang, supported, text_direction
from portal.nhs_number import formatted as format_nhs_number


def register_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["nhs_number"] = format_nhs_number
    app.jinja_env.filters["date"] = lambda d, fmt="long": format_date(d, fmt) if d else ""
    app.jinja_env.globals["labels"] = labels
    # A global, not a context variable: macros imported without context use it (own_words).
    app.jinja_env.globals["lang_attr"] = html_lang

    @app.context_processor
    def inject():
        locale = str(get_locale())
        return {
            "html_lang": html_lang(locale),
            "text_dir": text_direction(locale),
            "current_locale": locale,
            "languages": [(code, LANGUAGES[code]) for code in supported()],
            "current_path": request.full_path.rstrip("?"),
        }
