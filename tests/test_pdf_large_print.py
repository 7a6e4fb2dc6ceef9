"""Large print: the plan and the crisis sheet at 16 pt or more, one column, on the page;
chosen by default when the patient's communication needs say so, offered to everyone."""

import io
import math
import re

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from portal.pdf import services
from portal.pdf.services import PrintSize
from tests.support import events
from tests.test_pdf import full_plan, pdftotext

# Latin, two Arabic-script languages, Bengali script and Chinese.
LOCALES = ("en_GB", "ur", "ar", "bn", "zh_Hans")


def text_sizes(data: bytes) -> list[tuple[float, str]]:
    """(size in points, text) for every piece of text drawn, from its text and page matrices."""
    found = []
    for page in PdfReader(io.BytesIO(data)).pages:

        def visit(text, cm, tm, _font, size, found=found):
            if not text.strip():
                return
            # The vertical scale of the text matrix times the page matrix.
            b = tm[0] * cm[1] + tm[1] * cm[3]
            d = tm[2] * cm[1] + tm[3] * cm[3]
            found.append((round(size * math.hypot(b, d), 2), text))

        page.extract_text(visitor_text=visit)
    return found


def words_off_the_page(data: bytes) -> list[str]:
    """Words whose box (pdftotext -bbox) is not inside their page."""
    layout = pdftotext(data, "-bbox")
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', layout, re.S)
    assert pages
    outside = []
    for width, height, body in pages:
        for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">'
            r"(.*?)</word>",
            body,
        ):
            box = [float(v) for v in (x0, y0, x1, y1)]
            if min(box) < 0 or box[2] > float(width) or box[3] > float(height):
                outside.append(word)
    return outside


def _large(app, kind: str, locale: str) -> bytes:
    with app.test_request_context(), force_locale(locale):
        plan = full_plan()
        if kind == "plan":
            html = services.plan_html(plan, PrintSize.LARGE)
        else:
            html = services.crisis_html(plan, PrintSize.LARGE)
        return services.render_pdf(html, large=True)


@pytest.fixture(scope="module")
def large_pdfs(app):
    return {
        (kind, locale): _large(app, kind, locale)
        for kind in ("plan", "crisis")
        for locale in LOCALES
    }


@pytest.mark.parametrize("kind", ["plan", "crisis"])
@pytest.mark.parametrize("locale", LOCALES)
def test_large_print_is_16_points_or_more_and_stays_on_the_page(large_pdfs, kind, locale):
    data = large_pdfs[(kind, locale)]
    sizes = text_sizes(data)
    assert sizes, "no text was read back"
    small = [(size, text) for size, text in sizes if size < 16]
    assert small == [], small[:5]
    assert words_off_the_page(data) == []


def test_standard_print_is_smaller_so_the_check_can_fail(app):
    with app.test_request_context(), force_locale("en_GB"):
        data = services.render_pdf(services.plan_html(full_plan()))
    assert min(size for size, _text in text_sizes(data)) < 16


def test_large_print_runs_in_one_column(app):
    with app.test_request_context(), force_locale("en_GB"):
        plan = full_plan()
        standard = services.render_pdf(services.plan_html(plan))
        large = services.render_pdf(services.plan_html(plan, PrintSize.LARGE), large=True)

    def beside(data: bytes) -> bool:
        """Whether "Why it matters" and "Steps and who helps" share a line (two columns)."""
        layout = pdftotext(data, "-layout")
        return any("Why it matters" in line and "Steps and who helps" in line
                   for line in layout.splitlines())

    assert beside(standard)
    assert not beside(large)


def test_large_print_crisis_sheet_keeps_its_type_size_however_long(app):
    """The standard sheet shrinks its type to fit one page; large print never does."""
    data = _large(app, "crisis", "en_GB")
    assert len(PdfReader(io.BytesIO(data)).pages) > 1
    assert min(size for size, _text in text_sizes(data)) >= 16


@pytest.mark.parametrize("chosen", list(PrintSize))
def test_the_patients_chosen_print_is_the_default_size(chosen):
    from types import SimpleNamespace

    # The free-text needs no longer decide anything: only the coded choice does.
    patient = SimpleNamespace(print_size=chosen, communication_needs="Large print letters")
    assert services.default_print_size(patient) == chosen
    assert services.print_size(None, patient) == chosen
    assert services.print_size("nonsense", patient) == chosen
    assert services.print_size("standard", patient) == PrintSize.STANDARD
    assert services.print_size("large", patient) == PrintSize.LARGE


STANDARD_CHOSEN = 'checked class="nhsuk-radios__input" id="print_size-0"'


def _large_print_patient(db, cast):
    cast.a.print_size = PrintSize.LARGE
    db.session.commit()


def test_the_patient_chooses_large_print_in_their_account(db, cast, login, renders):
    client = login(cast.users["owner"])
    assert "Standard print" in client.get("/account/").get_data(as_text=True)
    page = client.get("/account/print")
    assert STANDARD_CHOSEN in page.get_data(as_text=True)
    refused = client.post("/account/print", data={"print_size": "huge"})
    assert "Choose standard print, large print or easy read" in refused.get_data(as_text=True)
    saved = client.post("/account/print", data={"print_size": "large"})
    assert saved.status_code == 302
    db.session.refresh(cast.a)
    assert cast.a.print_size == PrintSize.LARGE
    assert [e.patient_id for e in events(db, "patient.print_size")] == [cast.a.id]
    response = client.get(f"/patients/{cast.a.id}/crisis.pdf")
    assert "crisis-sheet-large-print.pdf" in response.headers["Content-Disposition"]
    # Carers and staff have no plan of their own to choose a print for.
    assert login(cast.users["carer_view"]).get("/account/print").status_code == 404


def test_a_professional_records_large_print_for_the_patient(db, cast, login):
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/plan/arrangements"
    assert STANDARD_CHOSEN in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"preferred_format": "paper", "print_size": "large"})
    assert response.status_code == 302
    db.session.refresh(cast.a)
    assert cast.a.print_size == PrintSize.LARGE
    assert len(events(db, "patient.print_size")) == 1


def test_download_is_large_print_by_default_when_the_patient_needs_it(db, cast, login, renders):
    _large_print_patient(db, cast)
    client = login(cast.users["carer_view"])
    response = client.get(f"/patients/{cast.a.id}/plan.pdf")
    assert response.status_code == 200
    assert "care-plan-large-print.pdf" in response.headers["Content-Disposition"]
    assert 'class="pdf pdf--plan pdf--large"' in renders[-1]
    standard = client.get(f"/patients/{cast.a.id}/plan.pdf?size=standard")
    assert 'filename="care-plan.pdf"' in standard.headers["Content-Disposition"]
    assert "pdf--large" not in renders[-1]


def test_download_is_standard_by_default_otherwise(cast, login, renders):
    client = login(cast.users["carer_crisis"])
    response = client.get(f"/patients/{cast.a.id}/crisis.pdf?size=%00%22huge")
    assert response.status_code == 200
    assert 'filename="crisis-sheet.pdf"' in response.headers["Content-Disposition"]
    large = client.get(f"/patients/{cast.a.id}/crisis.pdf?size=large")
    assert 'filename="crisis-sheet-large-print.pdf"' in large.headers["Content-Disposition"]
    assert 'class="pdf pdf--crisis pdf--large"' in renders[-1]


def test_both_sizes_are_offered_with_the_patients_own_first(db, cast, login, renders):
    plan_url, crisis_url = f"/patients/{cast.a.id}/plan.pdf", f"/patients/{cast.a.id}/crisis.pdf"
    client = login(cast.users["owner"])
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    standard = body.index(f'href="{plan_url}?size=standard">Download my care plan (PDF)</a>')
    large = body.index(f'href="{plan_url}?size=large">Download my care plan in large print (PDF)')
    assert standard < large

    _large_print_patient(db, cast)
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert body.index(f"{plan_url}?size=large") < body.index(f"{plan_url}?size=standard")
    crisis = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert crisis.index(f"{crisis_url}?size=large") < crisis.index(f"{crisis_url}?size=standard")
    assert "Download the crisis sheet in large print (PDF)" in crisis


@pytest.mark.parametrize("locale", ["pa", "bn", "gu", "cy"])
def test_page_footer_keeps_its_spaces(app, locale):
    """A vowel sign before a space ("ਪੰਨਾ 1 / 1") is escaped in CSS without eating the space."""
    with app.test_request_context(), force_locale(locale):
        expected = services.gettext("Page %(page)s of %(pages)s", page=1, pages=1)
        data = services.render_pdf(f'<!DOCTYPE html><html lang="{locale}"><p>1</p></html>')
    assert " " in expected
    text = " ".join(pdftotext(data).split())
    assert " ".join(expected.split()) in text

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering


# Easy read: large print with plain headings for the plan (the crisis plan has its own easy
# read version, tests/test_pdf_easy_read.py).

EASY_HEADINGS = ("If I get more ill", "What I want to do", "What matters to me", "About me")
USUAL_HEADINGS = ("If things get worse", "My goals", "My wishes and preferences")


def test_easy_read_gives_the_plan_plain_headings_in_large_print(app):
    with app.test_request_context(), force_locale("en_GB"):
        plan = full_plan()
        easy = services.plan_html(plan, PrintSize.EASY_READ)
        usual = services.plan_html(plan, PrintSize.LARGE)
        data = services.render_pdf(easy, large=True)
    assert 'class="pdf pdf--plan pdf--large"' in easy
    for heading in EASY_HEADINGS:
        assert f"<h2>{heading}</h2>" in easy and f"<h2>{heading}</h2>" not in usual
    for heading in USUAL_HEADINGS:
        assert f"<h2>{heading}</h2>" in usual and f"<h2>{heading}</h2>" not in easy
    text = " ".join(pdftotext(data).split())
    assert "What I want to do" in text and "What I notice" in text
    assert [s for s in text_sizes(data) if s[0] < 16] == []


def test_easy_read_headings_are_translated(app):
    with app.test_request_context(), force_locale("ur"):
        easy = services.plan_html(full_plan(), PrintSize.EASY_READ)
    assert 'lang="ur" dir="rtl"' in easy
    assert not any(heading in easy for heading in EASY_HEADINGS)


def test_the_patient_chooses_easy_read_and_the_plan_downloads_in_it(db, cast, login, renders):
    client = login(cast.users["owner"])
    assert "Easy read: large print with plain headings" in client.get(
        "/account/print"
    ).get_data(as_text=True)
    assert client.post("/account/print", data={"print_size": "easy_read"}).status_code == 302
    db.session.refresh(cast.a)
    assert cast.a.print_size == PrintSize.EASY_READ
    plan_url = f"/patients/{cast.a.id}/plan.pdf"
    response = client.get(plan_url)
    assert 'filename="care-plan-easy-read.pdf"' in response.headers["Content-Disposition"]
    assert "<h2>What I want to do</h2>" in renders[-1] and "pdf--large" in renders[-1]
    # Her choice comes first; the other prints are offered beside it.
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    easy = body.index(f'href="{plan_url}?size=easy_read">Download my care plan in easy read')
    assert easy < body.index(f"{plan_url}?size=standard") < body.index(f"{plan_url}?size=large")
    # The crisis sheet has no easy read print: its large print comes first, and the easy
    # read crisis plan is offered as a document of its own.
    crisis_url = f"/patients/{cast.a.id}/crisis.pdf"
    crisis = client.get(f"/patients/{cast.a.id}/crisis").get_data(as_text=True)
    assert "size=easy_read" not in crisis
    assert crisis.index(f"{crisis_url}?size=large") < crisis.index(f"{crisis_url}?size=standard")
    assert f"/patients/{cast.a.id}/crisis/easy-read.pdf" in crisis
    sheet = client.get(crisis_url)
    assert 'filename="crisis-sheet-large-print.pdf"' in sheet.headers["Content-Disposition"]
    assert "pdf--large" in renders[-1]
    asked = client.get(f"{crisis_url}?size=easy_read")
    assert 'filename="crisis-sheet-large-print.pdf"' in asked.headers["Content-Disposition"]


def test_a_professional_records_easy_read_for_the_patient(db, cast, login):
    client = login(cast.users["professional"])
    url = f"/patients/{cast.a.id}/plan/arrangements"
    response = client.post(url, data={"preferred_format": "paper", "print_size": "easy_read"})
    assert response.status_code == 302
    db.session.refresh(cast.a)
    assert cast.a.print_size == PrintSize.EASY_READ


def test_the_database_refuses_a_print_it_does_not_know(db, cast):
    from sqlalchemy.exc import IntegrityError

    cast.a.print_size = "huge"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
