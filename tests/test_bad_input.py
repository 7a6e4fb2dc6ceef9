"""Hostile input to every form route of the app, as every role.

Routes are found from ``app.url_map`` and field names from the forms on the app's own pages,
so form routes added later are covered without touching this file. For each request:
never a 500; a refusal (4xx, or the form shown again with "There is a problem") changes
nothing in the database. For known forms, valid input is stored exactly as typed and shown
escaped. Bounded: a few examples per route and role, no deadline.
"""

import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from portal.models import User
from tests.conftest import sign_in
from tests.support import (
    FUZZ_EXAMPLES,
    STATE_CHANGING,
    changed_tables,
    email_change_link,
    fill,
    fuzz_targets,
    no_error,
    rules,
    snapshot,
    unfinished,
    use_outbox,
)

ROLES = ["owner", "carer_contribute", "professional", "commissioner", "admin", "anonymous"]

HOSTILE = [
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\x07\x08\x1b[31mcontrol\x7f",
    "line\r\nbreak\ttab",
    "\u202egnp.exe\u202c \u2066isolated\u2069",
    "😀👩‍👩‍👧‍👦🏳️‍🌈" * 20,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "'; DROP TABLE users; --",
    "1 OR 1=1",
    "../../../etc/passwd",
    "%00%0d%0a",
    "{{ config }}{% print 1 %}",
    "${7*7}",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "null",
    "²",
    "١٢٣",
    "9999999999",  # a day of ten digits overflowed the date
    "9" * 4400,  # longer than int() reads
    "x" * 5000,
    "長" * 3000,
]
LONG = st.builds(lambda c, n: c * n, st.characters(codec="utf-8"), st.integers(200, 20_000))
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300), LONG)
NUMBERS = st.one_of(st.integers(-5, 5).map(str), st.sampled_from(HOSTILE))
EXAMPLES = FUZZ_EXAMPLES  # per route, URL and role: the sweep, not the count, gives coverage


class FormFields(HTMLParser):
    """Field names of each form on a page, keyed by the path the form posts to.

    ``METHOD``: the forms read (``get`` forms carry query parameters).
    """

    METHOD = "post"

    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: dict[str, set[str]] = {}
        self._current: set[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == self.METHOD:
            action = urlsplit(attrs.get("action") or self.page_path).path or self.page_path
            self._current = self.forms.setdefault(action, set())
        elif (
            tag in ("input", "textarea", "select")
            and self._current is not None
            and attrs.get("name") not in (None, "", "csrf_token")
        ):
            self._current.add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def crawl(app, client, cast, parser_class=None) -> dict[str, set[str]]:
    """Every form on every GET page this person can open, by where it posts.

    ``parser_class`` reads something else from the pages into its ``forms`` (the query
    parameters of links and GET forms, for ``tests/test_fuzz.py``).
    """
    forms: dict[str, set[str]] = {}
    for rule in rules(app, {"GET"}):
        url = fill(app, rule, cast.a.id)
        response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            parser = (parser_class or FormFields)(urlsplit(url).path)
            parser.feed(response.get_data(as_text=True))
            for action, names in parser.forms.items():
                forms.setdefault(action, set()).update(names)
    return forms


def forged_ids(app, cast) -> list[str]:
    """Ids of patient B's rows and ids that do not exist, for ``..._id`` fields."""
    from tests.support import ids_for

    values = {str(cast.b.id), str(cast.plan_b.id), "0", "-1", "99999999999999999999"}
    for stem in ("goal", "wish", "need", "contact", "step", "grant", "meeting", "plan"):
        values.update(str(i) for i in ids_for(stem)[-2:])
    return sorted(values)


def strategy_for(name: str, forged: list[str]):
    if name.endswith("version"):
        return NUMBERS  # stale, negative and nonsense versions
    if name == "id" or name.endswith("_id"):
        return st.one_of(st.sampled_from(forged), st.sampled_from(HOSTILE))
    return TEXT


def refused(response) -> bool:
    if 400 <= response.status_code < 500:
        return True
    return response.status_code == 200 and "There is a problem" in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ROLES)
def test_hostile_input_to_every_form_route(app, cast, client, who, monkeypatch, tmp_path):
    use_outbox(app, monkeypatch, tmp_path)
    fresh_session = session_starter(client, cast.users[who])
    fresh_session()
    pending = unfinished("forms", route_targets(app, cast, who))
    if not pending:
        return  # every target was done by an earlier run of the same report
    forms = crawl(app, client, cast)
    forged = forged_ids(app, cast)
    assert any(forms.values()), "no forms found: the crawl is broken"
    for target, (method, url) in fuzz_targets("forms", pending):
        with target:
            names = sorted(forms.get(urlsplit(url).path, set()) | {"version", "id"})
            check_route(client, fresh_session, target, who, method, url, names, forged)


def route_targets(app, cast, who):
    """``(key, (method, url))`` of every state-changing route, with A's and with forged ids."""
    for rule in rules(app, STATE_CHANGING):
        method = sorted(STATE_CHANGING & rule.methods)[0]
        for kind, url in urls_of(app, rule, cast):
            yield f"{who} {method} {rule.rule} ({kind})", (method, url)


def urls_of(app, rule, cast):
    """The rule's URL for patient A, and with patient B's and forged ids when that differs."""
    own = fill(app, rule, cast.a.id)
    forged = fill(app, rule, cast.b.id, forged=True)
    return [("own", own)] + ([("forged", forged)] if forged != own else [])


def check_route(client, fresh_session, target, who, method, url, names, forged):
    fields = st.fixed_dictionaries({n: strategy_for(n, forged) for n in names})

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(data=fields)
    @example(data={n: "\x00<script>alert(1)</script>" for n in names})
    @example(data={n: "x" * 100_000 for n in names})
    def post(data):
        if target.spent():
            return
        with target.request():
            fresh_session()
            before = snapshot()
            response = client.open(url, method=method, data=data)
            assert no_error(response), (who, url, data)
            if refused(response):
                assert changed_tables(before, snapshot()) == [], (who, url, data)

    post()


def session_starter(client, user):
    """A function that gives ``client`` a new session as ``user`` (None: signed out)."""

    def fresh_session():
        with client.session_transaction() as session:
            session.clear()
        if user is not None:
            sign_in(client, db_user(user))

    return fresh_session


def db_user(user):
    """The user as the database has it now (a request may have rotated their token)."""
    from portal.extensions import db

    return db.session.get(User, user.id)


# --- valid input is stored exactly as typed and shown escaped ----------------------------------

NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)), min_size=1, max_size=200
).filter(lambda s: s.strip() and s == s.strip())


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(name=NAMES)
@example(name="<script>alert('x')</script> & \"quotes\"")
@example(name="O'Brien \u202eRTL\u202c 😀")
@example(name="長" * 200)
@example(name="\ufa10")  # a compatibility ideograph: NFC writes it as U+585A
def test_a_valid_name_is_stored_as_typed_and_shown_escaped(app, cast, request_as, name):
    owner = cast.users["owner"]
    response = request_as(owner, "POST", "/account/name", data={"display_name": name})
    assert response.status_code == 302
    # Forms keep text in its composed form (NFC): the same letters, one way of writing them,
    # so e.g. a CJK compatibility ideograph is stored as the ideograph it stands for.
    name = unicodedata.normalize("NFC", name)
    assert db_user(owner).display_name == name
    page = request_as(owner, "GET", "/account/").get_data(as_text=True)
    assert str(escape(name)) in page
    if "<" in name:
        assert name not in page


EMAILS = st.from_regex(
    r"[a-z0-9]{1,20}([._+-][a-z0-9]{1,10}){0,2}@[a-z0-9]{1,15}(-[a-z0-9]{1,5})?\.(org|uk|com)",
    fullmatch=True,
)


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(email=EMAILS)
@example(email="o'brien+care@example.org")
def test_a_valid_email_is_stored_as_typed_and_shown_escaped(
    app, cast, request_as, monkeypatch, tmp_path, email
):
    outbox = use_outbox(app, monkeypatch, tmp_path)
    carer = cast.users["carer_view"]
    taken = {u.email for u in cast.users.values() if u is not None and u.id != carer.id}
    assume(email not in taken)
    response = request_as(carer, "POST", "/account/email", data={"email": email})
    assert response.status_code == 302, response.get_data(as_text=True)
    request_as(carer, "POST", email_change_link(outbox, email))
    assert db_user(carer).email == email
    page = request_as(db_user(carer), "GET", "/account/").get_data(as_text=True)
    assert str(escape(email)) in page


def test_the_sweep_reaches_the_forms_it_is_meant_to(app, cast, client):
    """Guards the generic discovery: known forms and their fields are found."""
    sign_in(client, cast.users["owner"])
    forms = crawl(app, client, cast)
    assert {"display_name"} <= forms["/account/name"]
    assert {"current_password", "password", "confirm"} <= forms["/account/password"]
    assert {"language", "next"} <= forms["/account/language"]
    assert "/account/sign-out-everywhere" in forms
    assert re.match(r"^/", next(iter(forms)))
