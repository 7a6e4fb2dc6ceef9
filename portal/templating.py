"""Template globals: language, direction, date formatting and display labels."""

from flask import Flask, request
from flask_babel import format_date, format_datetime, get_locale

from portal import labels
from portal.character_count import character_count_i18n
from portal.i18n import (
    LANGUAGES,
    current_language,
    html_lang,
    language_name,
    request_translations,
    supported,
    text_direction,
)
from portal.nhs_number import formatted as format_nhs_number
from portal.phone import is_phone_number, tel_href


def register_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["nhs_number"] = format_nhs_number
    app.jinja_env.filters["date"] = lambda d, fmt="long": format_date(d, fmt) if d else ""
    # Globals (not context) so that imported macros see them too.
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.globals["lang_attr"] = html_lang
    app.jinja_env.globals["language_name"] = language_name
    app.jinja_env.globals["character_count_i18n"] = character_count_i18n
    app.jinja_env.filters["tel_href"] = tel_href
    app.jinja_env.tests["phone_number"] = is_phone_number
    # Flask-Babel's callables, with the catalogue looked up once per locale and request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
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
            "current_path": request.full_path.rstrip("?"),
        }

    # Date and time in the reader's locale and the portal's time zone (Europe/London).
    app.jinja_env.filters["datetime"] = (
        lambda d, fmt="medium": format_datetime(d, fmt) if d else ""
    )
