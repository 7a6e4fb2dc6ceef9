"""Getting a worker ready before it takes traffic.

Without this, the first requests each worker answers pay for compiling every template they use
and for reading each language's catalogue from disk, which shows as slow outliers after every
start and every worker recycle. gunicorn calls ``warm`` once per worker (``gunicorn.conf.py``).
"""

from flask import Flask
from flask_babel import force_locale, get_translations

from portal.errors import render_error
from portal.i18n import formatting_locale


def warm(app: Flask) -> int:
    """Compile every template and load every catalogue; returns the number of templates."""
    env = app.jinja_env
    names = env.list_templates(extensions=["html"])
    for name in names:
        env.get_template(name)
    with app.test_request_context("/"):
        for code in app.config["LOCALES"]:
            with force_locale(formatting_locale(code)):
                get_translations()
                render_error(404)  # the base layout, its macros and the date formats
    return len(names)
