"""Language choice, direction and catalogue completeness."""

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale

from portal.character_count import character_count_i18n
from portal.i18n import LANGUAGES, LOCALE_COOKIE
from tests.factories import make_patient, make_plan

ROOT = Path(__file__).resolve().parent.parent
RTL = {"ur", "ar"}


def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_translations", ROOT / "scripts" / "check_translations.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogues_are_current_and_complete():
    problems = _checker().check(ROOT)
    assert problems == []


def test_checker_notices_an_untranslated_message(tmp_path):
    checker = _checker()
    (tmp_path / "translations" / "xx" / "LC_MESSAGES").mkdir(parents=True)
    pot = (ROOT / "translations" / "messages.pot").read_text(encoding="utf-8")
    (tmp_path / "translations" / "messages.pot").write_text(pot, encoding="utf-8")
    # A catalogue with every message left empty.
    po = tmp_path / "translations" / "xx" / "LC_MESSAGES" / "messages.po"
    po.write_text(pot, encoding="utf-8")
    problems = checker.check_locale(po, None)
    assert problems, "an empty catalogue must be reported"


def _locales(app):
    return app.config["LOCALES"]


def test_language_switcher_names_each_language_in_itself(client, app):
    body = client.get("/sign-in").get_data(as_text=True)
    for code in _locales(app):
        assert LANGUAGES[code] in body


def test_default_is_english(client):
    body = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="en-GB" dir="ltr">' in body


def _other_locale(app):
    others = [c for c in _locales(app) if c != "en"]
    if not others:
        pytest.skip("no translated locale ships yet")
    return others[0], others[-1]


def test_accept_language_is_used_when_nothing_is_chosen(client, app):
    first, _ = _other_locale(app)
    header = first.replace("_", "-")
    body = client.get("/sign-in", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f'lang="{header}"' in body


def test_cookie_beats_accept_language(client, app):
    first, last = _other_locale(app)
    client.set_cookie(LOCALE_COOKIE, last)
    body = client.get(
        "/sign-in", headers={"Accept-Language": first.replace("_", "-")}
    ).get_data(as_text=True)
    assert f'<html lang="{last.replace("_", "-")}"' in body


def test_account_choice_beats_cookie(db, client, app, login):
    first, last = _other_locale(app)
    patient = make_patient()
    patient.user.preferred_locale = first
    make_plan(patient)
    db.session.commit()
    login(patient.user)
    client.set_cookie(LOCALE_COOKIE, last)
    body = client.get(f"/patients/{patient.id}/plan").get_data(as_text=True)
    assert f'<html lang="{first.replace("_", "-")}"' in body


def test_switching_language_saves_it_on_the_account(db, client, app, login):
    first, _ = _other_locale(app)
    patient = make_patient()
    make_plan(patient)
    db.session.commit()
    login(patient.user)
    response = client.post(
        "/account/language", data={"language": first, "next": f"/patients/{patient.id}/plan"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/patients/{patient.id}/plan"
    db.session.refresh(patient.user)
    assert patient.user.preferred_locale == first


def test_unknown_language_is_ignored(client):
    response = client.post("/account/language", data={"language": "xx", "next": "/sign-in"})
    assert response.status_code == 302
    assert LOCALE_COOKIE not in response.headers.get("Set-Cookie", "")


def _translations(locale: str) -> dict[str, str]:
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    return {
        m.id: m.string
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and m.string != m.id
    }


def _page_text(html: str) -> str:
    from html.parser import HTMLParser

    chunks: list[str] = []

    class Text(HTMLParser):
        skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "option"):
                self.skip += 1

        def handle_endtag(self, tag):
            if tag in ("script", "style", "option"):
                self.skip -= 1

        def handle_data(self, data):
            if not self.skip:
                chunks.append(" ".join(data.split()))

    Text().feed(html)
    return "\n".join(c for c in chunks if c)


def test_every_locale_renders_main_pages_translated(db, app, cast, client, request_as):
    """lang and dir from the locale, a translated heading, and no English UI text leaking."""
    owner, carer = cast.users["owner"], cast.users["carer_view"]
    pages = [
        (None, "/sign-in", "Sign in to your care plan"),
        (owner, f"/patients/{cast.a.id}/plan", "My care plan"),
        (carer, f"/patients/{cast.a.id}/crisis", "Usual state of health"),
        (carer, "/", "People you care for"),
    ]
    for locale in [c for c in _locales(app) if c != "en"]:
        translated = _translations(locale)
        english_ui = {m for m in translated if len(m) > 12 and "%" not in m}
        tag = locale.replace("_", "-")
        direction = "rtl" if locale in RTL else "ltr"
        for user, url, heading in pages:
            for u in (owner, carer):
                u.preferred_locale = locale
            db.session.commit()
            client.set_cookie(LOCALE_COOKIE, locale)
            response = request_as(user, "GET", url)
            html = response.get_data(as_text=True)
            assert f'<html lang="{tag}" dir="{direction}">' in html, (locale, url)
            assert translated[heading] in html, (locale, url)
            text = _page_text(html)
            leaks = [m for m in english_ui if m in text]
            assert not leaks, (locale, url, leaks[:5])


def _render_in(app, locale: str, source: str, **context) -> str:
    with app.test_request_context(), force_locale(locale):
        return render_template_string(source, **context)


def test_pagination_says_page_not_step_in_chinese(app):
    """Pagination's "Next" is the next page (下一页), not the next step (下一步)."""
    result = SimpleNamespace(pages=3, page=2, numbers=[1, 2, 3])
    html = _render_in(
        app,
        "zh_Hans",
        '{% from "macros/pagination.html" import pagination %}'
        '{{ pagination(result, "admin.organisations") }}',
        result=result,
    )
    assert "上一页" in html and "下一页" in html
    assert "下一步" not in html


def test_character_count_counts_in_the_readers_language(app):
    """The NHS.UK counter's own messages, in every plural form the language has."""
    with app.test_request_context():
        with force_locale("cy"):
            welsh = character_count_i18n()
        with force_locale("ur"):
            urdu = character_count_i18n()
    assert {"zero", "one", "two", "few", "many", "other"} <= {
        key.rsplit(".", 1)[1] for key in welsh if "." in key
    }
    assert urdu["characters-under-limit.other"] == "آپ کے پاس %{count} حروف باقی ہیں"
    assert urdu["characters-over-limit.one"] == "آپ نے %{count} حرف زیادہ لکھا ہے"
    assert urdu["characters-at-limit"] == "آپ کے پاس 0 حروف باقی ہیں"


# --------------------------------------------------------------------------- #
# Plural rules: CLDR's, in CLDR's order of forms
# --------------------------------------------------------------------------- #

CLDR_ORDER = ("zero", "one", "two", "few", "many", "other")
# Whole numbers that reach every CLDR category of the portal's languages.
SAMPLE_COUNTS = [*range(0, 250), 1000, 1001, 1011, 1_000_000, 2_000_000]


def _catalogue(locale: str):
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _cldr_forms(locale: str) -> list[str]:
    from babel import Locale

    tags = Locale.parse(locale).plural_form.tags | {"other"}
    return [tag for tag in CLDR_ORDER if tag in tags]


@pytest.mark.parametrize("locale", [code for code in LANGUAGES if code != "en"])
def test_plural_forms_header_picks_the_cldr_form_for_every_count(locale):
    """The header gettext runs at page time chooses the form CLDR names, for every count."""
    import gettext

    from babel import Locale

    catalog = _catalogue(locale)
    forms = _cldr_forms(locale)
    assert catalog.num_plurals == len(forms)
    choose = gettext.c2py(catalog.plural_expr)
    rule = Locale.parse(locale).plural_form
    wrong = [n for n in SAMPLE_COUNTS if forms[choose(n)] != rule(n)]
    assert wrong == [], f"{locale}: the header picks a different form from CLDR for {wrong[:10]}"


@pytest.mark.parametrize("locale", [code for code in LANGUAGES if code != "en"])
def test_every_plural_message_has_every_cldr_form(locale):
    catalog = _catalogue(locale)
    expected = len(_cldr_forms(locale))
    short = [
        message.id[0]
        for message in catalog
        if message.id and message.pluralizable
        and (len(message.string) != expected or not all(message.string))
    ]
    assert short == []


def test_arabic_counts_from_11_to_99_and_from_100_to_102_read_right(app):
    """11-99 take the accusative singular (tamyiz), 100-102 the genitive singular."""
    from flask_babel import ngettext

    with app.test_request_context(), force_locale("ar"):
        def accounts(n):
            return ngettext("%(num)d account", "%(num)d accounts", n)

        def entries(n):
            return ngettext("%(num)d entry", "%(num)d entries", n)

        assert accounts(11) == "11 حسابًا"
        assert accounts(99) == "99 حسابًا"
        assert accounts(101) == "101 حساب"
        assert accounts(5) == "5 حسابات"
        assert entries(12) == "12 إدخالًا"
        assert entries(102) == "102 إدخال"


def test_checker_notices_a_plural_rule_that_is_not_cldrs(tmp_path):
    checker = _checker()
    source = ROOT / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
    po = tmp_path / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    text = source.read_text(encoding="utf-8")
    header_start = text.index('"Plural-Forms:')
    header_end = text.index('"MIME-Version')
    babel_table = (
        '"Plural-Forms: nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : '
        'n%100>=3 && n%100<=10 ? 3 : n%100>=0 && n%100<=2 ? 4 : 5);\\n"\n'
    )
    po.write_text(text[:header_start] + babel_table + text[header_end:], encoding="utf-8")
    problems = checker.check_locale(po, None)
    assert any("Plural-Forms header is not CLDR" in p for p in problems)


# --------------------------------------------------------------------------- #
# Professional translator reviews
# --------------------------------------------------------------------------- #


def _readme_reviews() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| .* \((\w+)\) \| (.+) \|$", readme, flags=re.MULTILINE)
    return dict(rows)


def test_readme_table_follows_the_review_record(app):
    from portal.i18n import translation_reviews

    reviews = translation_reviews(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    table = _readme_reviews()
    assert set(table) == set(LANGUAGES) - {"en"}
    for code, status in table.items():
        expected = reviews[code].date.isoformat() if code in reviews else "not yet"
        assert status.startswith(expected), (code, status)


def test_no_language_is_marked_reviewed_until_a_person_has_done_it(app):
    from portal.i18n import translation_reviews

    assert translation_reviews(app.config["BABEL_TRANSLATION_DIRECTORIES"]) == {}


def test_the_switcher_says_whether_a_professional_has_checked_the_language(client):
    client.set_cookie(LOCALE_COOKIE, "cy")
    body = client.get("/sign-in").get_data(as_text=True)
    assert _translations("cy")[
        "This translation has not yet been checked by a professional translator."
    ] in body
    client.set_cookie(LOCALE_COOKIE, "en")
    assert "professional translator" not in client.get("/sign-in").get_data(as_text=True)


def test_a_recorded_review_is_shown_with_its_date(app, tmp_path):
    from datetime import date

    from portal.i18n import Review, translation_reviews

    (tmp_path / "reviews.toml").write_text(
        '[reviewed]\ncy = { date = 2027-01-15, by = "A. Translator" }\nxx = { date = 2027-01-15 }\n'
        'pl = "yesterday"\n',
        encoding="utf-8",
    )
    assert translation_reviews(str(tmp_path)) == {"cy": Review(date(2027, 1, 15), "A. Translator")}
    reviews = app.extensions["translation_reviews"]
    app.extensions["translation_reviews"] = translation_reviews(str(tmp_path))
    try:
        with app.test_client() as client:
            client.set_cookie(LOCALE_COOKIE, "en")
            client.set_cookie(LOCALE_COOKIE, "cy")
            body = client.get("/sign-in").get_data(as_text=True)
    finally:
        app.extensions["translation_reviews"] = reviews
    assert "15 Ionawr 2027" in body

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
