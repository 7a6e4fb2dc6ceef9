"""Hostile query parameters on every page of the real app, as every role, in every way.

``tests/test_bad_input.py`` drives every form with hostile values; this drives every query
parameter. Pages come from ``app.url_map`` (for patient A, and with patient B's and forged
ids); parameter names from the links and GET forms on the app's own pages, plus the ones
every list takes (``page``, ``next``). Each request must answer 2xx, 3xx or 4xx, in the
reader's language, and change no row: GET requests change nothing (audit events aside).

Bounded in the normal suite (``PORTAL_FUZZ_EXAMPLES``, default 3 per page and role); ``make
bench`` runs it longer (``bench/fuzz.py``) and prints how many requests it made.
"""

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from tests.conftest import sign_in
from tests.support import (
    FUZZ_EXAMPLES,
    changed_tables,
    fuzz_targets,
    no_error,
    rules,
    snapshot,
    unfinished,
)
from tests.test_bad_input import HOSTILE, FormFields, crawl, session_starter, urls_of

ROLES = ["owner", "carer_view", "professional", "commissioner", "admin", "anonymous"]
EXAMPLES = FUZZ_EXAMPLES
# In the normal suite pages with no parameters of their own get only the fixed hostile
# examples, for patient A; the long run gives every page the generated ones too.
LONG_RUN = EXAMPLES > 3

# Values of every type a query parameter might be given.
NUMBERISH = [
    "²",
    "1²",
    "١٢٣",
    "9999999999",
    "9" * 4400,  # longer than int() reads
    "-0",
    "+1",
    "0x1f",
    "1_000",
    "1.5",
    "2011-13",
    "2011-02-30",
    "99999-01",
    "0000-00",
]
VALUES = st.one_of(
    st.sampled_from(HOSTILE + NUMBERISH),
    st.text(max_size=200),
    st.integers().map(str),
    st.lists(st.sampled_from(HOSTILE + NUMBERISH), min_size=2, max_size=3),  # repeated
)


class QueryNames(FormFields):
    """Query parameter names of a page's links and GET forms, by the path they lead to."""

    METHOD = "get"

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href and "?" in href:
            url = urlsplit(href)
            found = self.forms.setdefault(url.path or self.page_path, set())
            found.update(name for name, _ in parse_qsl(url.query, keep_blank_values=True))
        else:
            super().handle_starttag(tag, attrs)


def query_names(app, client, cast) -> dict[str, set[str]]:
    return crawl(app, client, cast, QueryNames)


@pytest.fixture
def versions(cast):
    """Two agreed versions of patient A's plan, so the comparison's links are there to find."""
    from portal.versions.services import create_version

    for _ in range(2):
        create_version(cast.plan_a, cast.users["professional"])
    db.session.commit()


@pytest.mark.parametrize("who", ROLES)
def test_hostile_query_parameters_on_every_page(app, cast, versions, client, who):
    user = cast.users[who]
    if user is not None:
        user.preferred_locale = "cy"  # answers must come in the reader's language
        db.session.commit()
    fresh_session = session_starter(client, user)
    fresh_session()
    pages = [
        (f"{who} GET {rule.rule} ({kind})", url)
        for rule in rules(app, {"GET"})
        for kind, url in urls_of(app, rule, cast)
    ]
    pending = unfinished("query parameters", pages)
    if not pending:
        return  # every target was done by an earlier run of the same report
    names = query_names(app, client, cast)
    for target, url in fuzz_targets("query parameters", pending):
        own = names.get(urlsplit(url).path, set())
        if not (own or LONG_RUN or str(cast.a.id) in url):
            continue
        wanted = sorted(own | {"page", "next"})
        examples = EXAMPLES if own or LONG_RUN else 0
        with target:
            check_page(client, fresh_session, target, who, url, wanted, examples)


def check_page(client, fresh_session, target, who, url, wanted, examples):
    query = st.dictionaries(st.sampled_from(wanted), VALUES, min_size=1, max_size=len(wanted))

    @settings(
        max_examples=max(1, examples),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=list(Phase) if examples else [Phase.explicit],
    )
    @given(params=query)
    @example(params=dict.fromkeys(wanted, "9999999999"))
    @example(params=dict.fromkeys(wanted, "²"))
    @example(params=dict.fromkeys(wanted, "99999999999999999999"))
    def get(params):
        if target.spent():
            return
        with target.request():
            fresh_session()
            before = snapshot()
            response = client.get(url, query_string=params)
            assert no_error(response), (who, url, params)
            assert changed_tables(before, snapshot()) == [], (who, url, params)
            html = response.mimetype == "text/html" and response.status_code < 300
            if who != "anonymous" and html:
                assert '<html lang="cy"' in response.get_data(as_text=True), (who, url)

    get()


def test_the_discovery_finds_the_query_parameters_it_is_meant_to(app, cast, versions, client):
    """Guards the generic discovery: a GET form's fields and links' parameters are found."""
    sign_in(client, cast.users["admin"])
    assert any("q" in found for found in query_names(app, client, cast).values())
    sign_in(client, cast.users["owner"])
    compare = query_names(app, client, cast).get(f"/patients/{cast.a.id}/versions/compare")
    assert compare and {"from", "to"} <= compare


# --- the hostile values that used to give a 500 ----------------------------------------------


def test_a_date_whose_day_is_ten_digits_long_is_a_message(db, cast, login):
    response = login(cast.users["owner"]).post(
        f"/patients/{cast.a.id}/goals/new",
        data={
            "title": "Walk",
            "target_date-day": "9999999999",
            "target_date-month": "1",
            "target_date-year": "2030",
        },
    )
    assert response.status_code == 200
    assert "must be a real date" in response.get_data(as_text=True)


@pytest.mark.parametrize("size", ["9" * 5000, "²", "9999999999"])
def test_a_number_thousands_of_digits_long_on_a_staff_form_is_a_message(
    db, cast, login, size
):
    auditor = cast.users["professional"]
    auditor.can_audit = True
    db.session.commit()
    response = login(auditor).post("/audits/new", data={"size": size})
    assert response.status_code == 200
    assert "Enter a number from 1 to 50" in response.get_data(as_text=True)


# Every list shown a page at a time, and who reads it.
PAGED = [
    ("professional", "/worklist"),
    ("professional", "/conversations"),
    ("practice_admin", "/register/"),
    ("admin", "/admin/"),
    ("admin", "/admin/organisations"),
    ("owner", "/patients/{a}/sharing"),
]


@pytest.mark.parametrize("who, url", PAGED)
@pytest.mark.parametrize("page", ["99999999999999999999", "²", "9" * 5000, "-1"])
def test_a_page_number_past_any_number_shows_the_first_page(cast, request_as, who, url, page):
    """A page of twenty digits overflowed the query's offset (a 500 on the worklist)."""
    url = url.format(a=cast.a.id)
    response = request_as(cast.users[who], "GET", url, query_string={"page": page})
    assert response.status_code == 200
