"""The crisis plan in easy read on paper: the easy read page's words, in large type, on one page
where the plan allows, in the reader's language and direction; audited as a download."""

import io

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from portal.models import AuditEvent, CarePlan, CrisisStep
from portal.pdf import services
from tests.test_pdf import pdffonts, pdftotext
from tests.test_pdf_large_print import text_sizes, words_off_the_page


def _url(cast) -> str:
    return f"/patients/{cast.a.id}/crisis/easy-read.pdf"


def _agree_the_crisis_plan(db, cast) -> None:
    """The factory's step, contact and usual state as if agreed at a review."""
    for step in db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == cast.plan_a.id)):
        step.pending_review = False
    plan = db.session.get(CarePlan, cast.plan_a.id)
    for item in [*plan.contacts, plan.usual_state]:
        if item is not None:
            item.pending_review = False
    db.session.commit()


def _pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def test_the_easy_read_pdf_says_what_the_easy_read_page_says(db, cast, login):
    _agree_the_crisis_plan(db, cast)
    client = login(cast.users["carer_crisis"])
    response = client.get(_url(cast))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="crisis-plan-easy-read.pdf"'
    )
    text = " ".join(pdftotext(response.data).split())
    for expected in (
        "My crisis plan: easy read",
        "This plan says what to do if I get more ill.",
        "Very ill? Call 999 now.",
        "Need help today? Call NHS 111.",
        "Emergency",
        "What I notice",
        "Lips blue",  # the agreed step, in the words it was written in
        "What to do",
        "People I can call",
    ):
        assert expected in text, expected
    assert "Someone has changed this plan." not in text
    assert _pages(response.data) == 1
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "pdf.easy_read")
    ).all()
    assert [(e.patient_id, e.actor_id) for e in events] == [
        (cast.a.id, cast.users["carer_crisis"].id)
    ]


def test_a_change_nobody_checked_is_only_said_to_wait(db, cast, login):
    """As on the easy read page: the agreed plan, and only that a change waits (hazard H02)."""
    _agree_the_crisis_plan(db, cast)
    db.session.add(
        CrisisStep(
            plan_id=cast.plan_a.id,
            level="red",
            signs="Unchecked sign",
            actions="Unchecked action",
            pending_review=True,
            updated_by_id=cast.users["carer_contribute"].id,
        )
    )
    db.session.commit()
    data = login(cast.users["owner"]).get(_url(cast)).data
    text = " ".join(pdftotext(data).split())
    assert "Someone has changed this plan." in text
    assert "The care team has not checked the change yet." in text
    assert "Unchecked" not in text and "Lips blue" in text


# Latin, two Arabic-script languages, Bengali script and Chinese, as for large print.
@pytest.mark.parametrize("locale", ["en_GB", "ur", "ar", "bn", "zh_Hans"])
def test_large_type_on_one_page(db, cast, app, locale):
    """Every piece of text 16 pt or more, nothing off the page, one page for a usual plan."""
    _agree_the_crisis_plan(db, cast)
    with app.test_request_context(), force_locale(locale):
        plan = db.session.get(CarePlan, cast.plan_a.id)
        data = services.render_pdf(services.easy_read_html(plan), large=True)
    sizes = text_sizes(data)
    assert sizes and [s for s in sizes if s[0] < 16] == []
    assert words_off_the_page(data) == []
    assert _pages(data) == 1


@pytest.mark.parametrize("locale, font", [("ur", "Noto-Nastaliq-Urdu"), ("ar", "Noto-Naskh")])
def test_in_urdu_and_arabic_it_reads_right_to_left_in_the_right_font(db, cast, app, locale, font):
    _agree_the_crisis_plan(db, cast)
    with app.test_request_context(), force_locale(locale):
        plan = db.session.get(CarePlan, cast.plan_a.id)
        html = services.easy_read_html(plan)
        data = services.render_pdf(html, large=True)
    assert f'lang="{locale}" dir="rtl"' in html
    assert PdfReader(io.BytesIO(data)).trailer["/Root"]["/Lang"] == locale
    names = {row["name"] for row in pdffonts(data)}
    assert any(name.startswith(font) for name in names), names
    assert "Lips blue" in pdftotext(data)  # English words kept as written, left to right
    assert [s for s in text_sizes(data) if s[0] < 16] == []


def test_offered_beside_the_easy_read_page(db, cast, login):
    client = login(cast.users["carer_crisis"])
    link = f'href="{_url(cast)}"'
    crisis = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    easy = client.get(f"/patients/{cast.a.id}/crisis/easy-read").get_data(as_text=True)
    assert link in crisis and "Easy read version of this crisis plan" in crisis
    assert link in easy
    assert "Download the easy read crisis plan (PDF" in easy
