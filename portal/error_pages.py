"""The portal's "please try again" page as static files, for the front server to serve.

When a gunicorn worker is killed for running past its timeout, or every worker is busy for
longer than the front server waits, no Python code can answer: the front server (nginx)
answers 502 or 504 itself. ``deploy/nginx/portal.conf`` serves these pre-rendered pages
instead, one per language, chosen like the portal's own (the language cookie, then the
browser's languages, then English), with the portal's security headers. They are rendered
from ``templates/errors/static.html`` by ``flask --app portal error-pages`` and kept in
``deploy/error-pages/<locale>/50x.html``; a test fails when they no longer match what the
command would write (a changed translation or stylesheet path).
"""

from pathlib import Path

from flask import Flask, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.i18n import html_lang, text_direction

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "deploy" / "error-pages"
PAGE_NAME = "50x.html"

TITLE = _l("Sorry, the service took too long to answer")
BODY = _l(
    "Go back and try again in a few minutes. If you were saving something, check whether "
    "it was saved before you type it again."
)


def render_page(app: Flask, locale: str) -> str:
    """The page in ``locale``: no form, script or anything that differs between readers."""
    with app.test_request_context("/", base_url="http://localhost"), force_locale(locale):
        return render_template(
            "errors/static.html",
            title=TITLE,
            body=BODY,
            html_lang=html_lang(locale),
            text_dir=text_direction(locale),
        )


def pages(app: Flask) -> dict[str, str]:
    """Every language's page, by its file name under ``deploy/error-pages``."""
    return {f"{locale}/{PAGE_NAME}": render_page(app, locale) for locale in app.config["LOCALES"]}


def write_pages(app: Flask, folder: Path = PAGES) -> list[Path]:
    written = []
    for name, html in pages(app).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
