"""The largest crisis plan the limits allow prints on one sheet in every script.

The worst plan (``bench/worst_plan_bench.py``) holds every crisis step, contact and fact the
limits allow, each at full length, agreed and then changed again in full, so the sheet carries
each agreed item and, apart, its unreviewed change. Urdu (Nastaliq needs tall lines), Arabic,
Punjabi, Bengali and Welsh (long words) run longest.
"""

import io

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from bench.pdf_bench import SAMPLE_TEXTS
from bench.worst_plan_bench import build_worst_plan
from portal.models import Role
from portal.pdf import services
from portal.plans.services import load_plan
from tests.factories import make_org, make_user
from tests.test_pdf import pdftotext


@pytest.fixture
def worst_plan(db):
    org = make_org("Riverside Medical Practice")
    nurse = make_user(Role.PROFESSIONAL, org, display_name="Priya Shah")

    def build(language: str) -> int:
        return build_worst_plan(
            db, org.id, nurse.id, SAMPLE_TEXTS[language], language, "9434765919"
        )

    return build


def crisis_sheet(app, patient_id: int, locale: str) -> bytes:
    with app.test_request_context(), force_locale(locale):
        html = services.crisis_html(load_plan(patient_id))
        return services.render_pdf(html, one_page=True)


@pytest.mark.parametrize("locale", ["ur", "ar", "pa", "bn", "cy"])
def test_the_largest_crisis_plan_prints_on_one_page(app, worst_plan, locale):
    data = crisis_sheet(app, worst_plan(locale), locale)
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    text = " ".join(pdftotext(data).split())
    assert "999" in text and "943 476 5919" in text
    if locale == "cy":  # Latin text reads back in order: what is kept and what is shortened
        assert_agreed_steps_whole_and_changes_short(app, text)


def assert_agreed_steps_whole_and_changes_short(app, text: str) -> None:
    for step in range(1, 6):
        assert f"neu fflem lliw (cam {step})." in text  # the agreed step, in full
        assert f"(cam {step})Y" not in text  # its change (bench's change_every_crisis_item)
    with app.test_request_context(), force_locale("cy"):
        note = services.gettext(
            "Their words did not fit on this sheet: read them on the crisis page of the portal "
            "or in the care plan PDF."
        )
    assert " ".join(note.split()) in text

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
