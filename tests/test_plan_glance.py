"""The plan taken in at a glance: its summary, dates that say what they are, and one vocabulary
for where each item stands, the same on the plan page, in the PDF and at the review."""

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.lifecycle import ANY_READER, item_label
from portal.models import CrisisStep, Goal, ReviewMeeting, SharedResult
from portal.pdf.services import plan_html
from portal.plans import glance
from portal.plans.services import load_plan
from tests.compliance_factories import make_meeting
from tests.test_meetings import agree_everything
from tests.test_pdf import pdftotext

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES, PORTAL = ROOT / "templates", ROOT / "portal"
PAGES = ("/crisis", "/crisis/easy-read", "/contingency", "/my-data")


def _plan_page(client, cast) -> str:
    return client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)


def _person(id_, name):
    return SimpleNamespace(id=id_, display_name=name)


MARGARET, DAVID = _person(1, "Margaret"), _person(2, "David")
NOT_YET = "– not yet agreed"


@pytest.mark.parametrize(
    "pending, status, by, reader, expected",
    [
        (False, "agreed", None, 1, "Agreed"),
        (True, None, MARGARET, 1, f"Your suggestion {NOT_YET}"),
        (True, "proposed", DAVID, 1, f"Added by David {NOT_YET}"),
        (True, "agreed", DAVID, 1, f"Changed by David {NOT_YET}"),
        (True, "withdrawn", MARGARET, 1, f"You asked to stop this goal {NOT_YET}"),
        (True, None, None, 1, f"Suggestion {NOT_YET}"),
        (False, "achieved", None, 1, "Achieved"),
        # The PDF is the same for every reader: her own new goal is named, not "your".
        (True, "proposed", MARGARET, ANY_READER, f"Added by Margaret {NOT_YET}"),
    ],
)
def test_one_function_names_every_state(app, pending, status, by, reader, expected):
    item = SimpleNamespace(pending_review=pending, status=status, updated_by=by, proposed_by=None)
    with app.test_request_context():
        assert item_label(item, viewer_id=reader).text == expected


def test_an_agreed_item_can_say_when(app):
    item = SimpleNamespace(pending_review=False, status="agreed")
    with app.test_request_context():
        label = item_label(item, agreed_on=date(2026, 12, 7), viewer_id=1)
    assert (label.text, label.waiting) == ("Agreed on 7 December 2026", False)


def test_the_same_words_on_the_plan_in_the_pdf_and_at_the_review(db, cast, login, app):
    carer = cast.users["carer_contribute"]
    db.session.add(
        Goal(
            plan_id=cast.plan_a.id,
            title="Swim",
            status="proposed",
            proposed_by_id=carer.id,
            updated_by_id=carer.id,
        )
    )
    db.session.commit()
    words = "Added by Carer contribute – not yet agreed"
    assert words in _plan_page(login(cast.users["owner"]), cast)
    review = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/review")
    assert words in review.get_data(as_text=True)
    with app.test_request_context():
        assert words in plan_html(load_plan(cast.a.id))
    # The carer reads her own suggestion as hers.
    assert "Your suggestion – not yet agreed" in _plan_page(login(carer), cast)


def test_she_sees_her_suggestion_beside_the_agreed_wording(db, cast, login):
    agree_everything(db, cast.plan_a, cast.users["professional"])
    wish = cast.plan_a.wishes[0]
    wish.text, wish.pending_review, wish.updated_by_id = "In the hospice", True, cast.a.user_id
    db.session.commit()
    body = _plan_page(login(cast.users["owner"]), cast)
    compare = body[body.index("Compare with the agreed wording") :]
    compare = compare[: compare.index("</details>")]
    assert "At home" in compare and "In the hospice" in compare  # agreed | hers
    assert "Your suggestion – not yet agreed" in compare
    assert body.count("Compare with the agreed wording") == 1  # only where there is a change


def test_the_summary_comes_first_and_the_settings_last(cast, login):
    body = _plan_page(login(cast.users["owner"]), cast)
    summary = body.index("Your plan at a glance")
    assert summary < body.index('class="nhsuk-contents-list')
    assert body.index('class="nhsuk-contents-list') < body.index('<h2 id="contingency">')
    settings = body.index('<h2 id="settings">')
    assert "settings and copies" in body[settings : settings + 60]
    assert body.index('id="whole-person"') < settings
    for link in ("Who can see my plan", "Who has looked at my plan", "Download my care plan ("):
        assert body.index(link) > settings
    fhir = body.index("For other health services")
    assert fhir > settings
    assert "A file for a hospital or GP computer system to read" in body[fhir:]
    top = body[summary:settings]
    assert "Nurse Named" in top
    assert "You have 5 changes for your review." in top  # needs, wish, step, usual state, contact
    assert f'href="/patients/{cast.a.id}/crisis"' in top  # the crisis plan one tap away
    for anchor in ("contingency", "named-contact", "goals", "wishes", "whole-person", "settings"):
        assert f'href="#{anchor}"' in top


def _booking(plan, when: datetime, place: str = "") -> ReviewMeeting:
    from portal.extensions import db

    meeting = ReviewMeeting(plan_id=plan.id, status="scheduled", scheduled_for=when, location=place)
    db.session.add(meeting)
    db.session.commit()
    return meeting


def test_a_due_date_is_a_month_and_a_booked_meeting_a_day_time_and_place(db, cast, login):
    cast.plan_a.next_review_date = date(2030, 12, 7)
    db.session.commit()
    client = login(cast.users["owner"])
    body = _plan_page(client, cast)
    assert "Your review is due by December 2030." in body
    assert "7 December 2030" not in body
    _booking(cast.plan_a, datetime(2030, 1, 21, 10, 30, tzinfo=UTC), "Riverside <Surgery> 2")
    body = _plan_page(client, cast)
    # The place, as the practice wrote it, is escaped and isolated from the sentence's direction.
    place = '<bdi dir="auto">Riverside &lt;Surgery&gt; 2</bdi>'
    assert f"Your review meeting is on Monday, 21 January 2030 at 10:30 at {place}." in body
    prep = client.get(f"/patients/{cast.a.id}/preparation").get_data(as_text=True)
    assert "Your review meeting is on Monday, 21 January 2030 at 10:30" in prep


def test_an_overdue_review_says_so(db, cast, login):
    cast.plan_a.next_review_date = date.today() - timedelta(days=40)
    db.session.commit()
    body = _plan_page(login(cast.users["owner"]), cast)
    assert "Your review was due by" in body and "Contact your care team to book it." in body


def test_a_survey_prompt_leaves_the_top_when_its_meeting_is_long_past(db, cast, login):
    old = make_meeting(cast.plan_a, date.today() - timedelta(days=330))
    db.session.commit()
    client = login(cast.users["owner"])
    assert f"/survey/{old.id}" not in _plan_page(client, cast)
    recent = make_meeting(cast.plan_a, date.today() - timedelta(days=3))
    db.session.commit()
    assert f"/survey/{recent.id}" in _plan_page(client, cast)
    last_day = recent.held_on + glance.SURVEY_WINDOW
    assert glance.survey_still_current(recent, last_day) is recent
    assert glance.survey_still_current(recent, last_day + timedelta(days=1)) is None


def _result_before_the_last_review(db, cast) -> None:
    cast.plan_a.last_review_date = date.today() - timedelta(days=10)
    before = datetime.combine(date.today() - timedelta(days=40), time(9), tzinfo=UTC)
    old = SharedResult(plan_id=cast.plan_a.id, name="HbA1c", value="48", created_at=before)
    db.session.add(old)
    db.session.commit()


def test_only_results_shared_since_the_last_review_belong_to_the_next(db, cast, login):
    _result_before_the_last_review(db, cast)
    client = login(cast.users["owner"])
    assert "shared for the review" not in _plan_page(client, cast)
    db.session.add(SharedResult(plan_id=cast.plan_a.id, name="eGFR", value="61"))
    db.session.commit()
    assert "1 result shared for the review" in _plan_page(client, cast)


def test_the_results_page_keeps_earlier_reviews_results_apart(db, cast, login):
    _result_before_the_last_review(db, cast)
    client = login(cast.users["owner"])
    body = client.get(f"/patients/{cast.a.id}/results").get_data(as_text=True)
    assert "No results have been shared for your next review yet." in body
    assert body.index("Shared for earlier reviews") < body.index("HbA1c")
    db.session.add(SharedResult(plan_id=cast.plan_a.id, name="eGFR", value="61"))
    db.session.commit()
    body = client.get(f"/patients/{cast.a.id}/results").get_data(as_text=True)
    assert body.index("eGFR") < body.index("Shared for earlier reviews") < body.index("HbA1c")


def test_patient_pages_speak_to_her_not_about_her(cast, login):
    own = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/contingency")
    assert "You and your care team look at it together" in own.get_data(as_text=True)
    assert "with the patient" not in own.get_data(as_text=True)
    carer = login(cast.users["carer_contribute"]).get(f"/patients/{cast.a.id}/contingency")
    assert "It is looked at with the patient at the next review." in carer.get_data(as_text=True)


# Own words the crisis pages, the crisis sheet and the readable copy once gave the lifecycle of
# an item, before ``item_label`` gave every label.
RETIRED = frozenset(
    {
        "Reviewed",
        "Not yet reviewed",
        "Not checked",
        "Removal asked for – not yet reviewed",
        "Draft – not yet agreed",
        "Proposed – not yet agreed",
        "Proposed since the last review – not yet agreed",
    }
)
_MESSAGE = re.compile(r"""\b(?:_|_l|gettext|lazy_gettext)\(\s*(["'])(.+?)\1""")


def _messages(root: Path, pattern: str):
    for path in sorted(root.rglob(pattern)):
        for match in _MESSAGE.finditer(path.read_text(encoding="utf-8")):
            yield path.relative_to(root.parent), match.group(2)


def test_no_template_or_module_names_a_state_in_its_own_words():
    """A retired phrase written again as a message fails here, before any page shows it."""
    found = [
        (str(path), text)
        for root, pattern in ((TEMPLATES, "*.html"), (PORTAL, "*.py"))
        for path, text in _messages(root, pattern)
        if text in RETIRED
    ]
    assert found == []


def _texts(html: str) -> set[str]:
    """Each piece of text between tags, as a reader sees it."""
    return {" ".join(t.split()) for t in re.findall(r">([^<]+)<", html) if t.strip()}


def test_crisis_pages_sheet_and_readable_copy_use_the_one_vocabulary(db, cast, login):
    """The crisis page, its easy read version, the page that changes it, the crisis sheet and
    the readable copy of everything held: the item's label, never a retired phrase."""
    plan = cast.plan_a
    plan.contingency_reviewed_on = date(2026, 11, 2)  # the plan as a whole was gone through
    step = db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == plan.id)).one()
    step.updated_by_id = cast.users["carer_contribute"].id
    db.session.commit()
    client = login(cast.users["owner"])
    base = f"/patients/{cast.a.id}"
    pages = {url: client.get(base + url).get_data(as_text=True) for url in PAGES}
    sheet = pdftotext(client.get(f"{base}/crisis.pdf").data)
    copy = pdftotext(client.get(f"{base}/my-data.pdf").data)
    for name, text in [*pages.items(), ("sheet", sheet), ("copy", copy)]:
        lines = {" ".join(line.split()) for line in text.splitlines()}
        seen = _texts(text) if name in pages else lines
        assert not seen & RETIRED, name
        assert "Not yet reviewed" not in text, name
    carer = "Added by Carer contribute"
    assert f"{carer} on " in pages["/crisis"]  # with when, and that nobody has checked it
    assert "not yet checked by the care team" in pages["/crisis"]
    assert f"{carer} – not yet agreed" in pages["/contingency"]
    assert f"{carer} – not yet agreed" in pages["/my-data"]
    assert carer in " ".join(sheet.split())
    assert "The care team has not checked the change yet." in pages["/crisis/easy-read"]
