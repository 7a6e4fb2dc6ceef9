"""Every page, in every language, as each kind of user, is well-formed HTML.

A translation is text: one holding a quotation mark must not end the attribute it is put in
(the Urdu QR code's ``alt`` on the two-step set-up page did), and no page may leave an
element open or close one it did not open.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import select

from portal.i18n import LANGUAGES
from portal.models import AccessGrant, Domain, WishKind

ROOT = Path(__file__).resolve().parent.parent
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_.:-]*$")


class StrictHTML(HTMLParser):
    """Records broken attributes, stray end tags and elements left open."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, tuple[int, int]]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = [name for name, _value in attrs]
        bad = [name for name in names if not ATTRIBUTE_NAME.match(name)]
        if bad:
            self.problems.append(f"<{tag}> at {self.getpos()} has broken attributes {bad}")
        if len(names) != len(set(names)):
            self.problems.append(f"<{tag}> at {self.getpos()} repeats an attribute: {names}")
        if tag not in VOID:
            self.open.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.open or self.open[-1][0] != tag:
            expected = self.open[-1] if self.open else None
            self.problems.append(f"</{tag}> at {self.getpos()} closes nothing open ({expected})")
            # Recover so one fault is reported once.
            for index in range(len(self.open) - 1, -1, -1):
                if self.open[index][0] == tag:
                    del self.open[index:]
                    break
            return
        self.open.pop()

    def close(self):
        super().close()
        self.problems += [f"<{tag}> opened at {pos} is never closed" for tag, pos in self.open]


def html_problems(html: str) -> list[str]:
    parser = StrictHTML()
    parser.feed(html)
    parser.close()
    return parser.problems


def test_the_checker_finds_a_broken_attribute_and_an_unclosed_element():
    assert html_problems('<p><img alt="a "quoted" word" src="x"></p>')
    assert html_problems("<main><div></main>")
    assert html_problems("<div><p>text</div>")
    assert html_problems('<p class="a">fine<br></p>') == []


def test_a_translation_with_quotation_marks_stays_inside_its_attribute(app):
    """The Urdu translation of the QR code's text has quotation marks round the portal name."""
    source = (
        '<img src="x" alt="{{ _(\'QR code to add My care plan to your authenticator app\') }}">'
    )
    with app.test_request_context(), force_locale("ur"):
        html = render_template_string(source)
    assert html_problems(html) == []
    parser = HTMLParser()
    found = {}
    parser.handle_starttag = lambda tag, attrs: found.update(attrs)
    parser.feed(html)
    assert found["alt"] == '"میرا کیئر پلان" کو آپ کی تصدیقی ایپ میں شامل کرنے کا QR کوڈ'


def test_plain_text_keeps_translations_as_written(app):
    """Emails in plain text are not HTML: their quotation marks stay as they are."""
    source = (
        "{% autoescape false %}"
        "{{ _('QR code to add My care plan to your authenticator app') }}"
        "{% endautoescape %}"
    )
    with app.test_request_context(), force_locale("ur"):
        text = render_template_string(source)
    assert text.startswith('"میرا کیئر پلان"')


def test_no_template_puts_an_expression_in_a_single_quoted_attribute():
    """Translations keep their apostrophes, which only double-quoted attributes allow."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""[\w-]+='[^']*(\{\{|\{%)""", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


NOT_HTML = (".pdf", ".json", ".ics", ".csv")
ROLES = ("anonymous", "owner", "carer_view", "professional", "commissioner", "admin")


def _urls(app, cast, db) -> list[str]:
    grant = db.session.scalars(
        select(AccessGrant).where(AccessGrant.patient_id == cast.a.id)
    ).first()
    values = {
        "patient_id": cast.a.id,
        "user_id": cast.users["professional"].id,
        "organisation_id": cast.org.id,
        "grant_id": grant.id,
        "number": 1,
        "domain": next(iter(Domain)).value,
        "kind": next(iter(WishKind)).value,
    }
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            if rule.rule.endswith(NOT_HTML):  # files (PDF, JSON, calendar, CSV), not pages
                continue
            if not set(rule.arguments) <= set(values):
                continue
            urls.append(rule.build({k: values[k] for k in rule.arguments})[1])
    return sorted(set(urls))


@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_well_formed_in_every_language(db, app, cast, client, role):
    from tests.conftest import sign_in

    user = cast.users[role]
    if user is not None:
        sign_in(client, user)
    urls = _urls(app, cast, db)
    checked, faults = 0, []
    for code in LANGUAGES:
        if user is not None:
            user.preferred_locale = code
            db.session.commit()
        client.set_cookie("portal_locale", code)
        for url in urls:
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            checked += 1
            faults += [f"{code} {url}: {p}" for p in html_problems(response.get_data(as_text=True))]
    assert checked >= len(LANGUAGES), "too few pages answered to sweep"
    assert faults == [], "\n".join(faults[:20])

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
