"""Printable copies: the care plan PDF and the one-page crisis sheet.

Real renders are few and shared (module-scoped fixtures on plans built in memory); route
tests that only need to know whether a PDF was produced replace the renderer with a stub.
Text is read back with Poppler's ``pdftotext`` and ``pdffonts``, structure with pypdf.
"""

import gc
import io
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from babel.support import Translations
from flask_babel import force_locale, format_date, get_domain, to_user_timezone
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from portal.models import (
    AuditEvent,
    CarePlan,
    CareTeamMember,
    Condition,
    Contact,
    CrisisStep,
    Goal,
    NeedsSection,
    Organisation,
    Patient,
    User,
    UsualState,
    Wish,
)
from portal.pdf import services
from portal.pdf.fetcher import FetchRefused, StaticOnlyFetcher
from portal.pdf.priority import LowPriorityRunner
from tests.test_access import ALL, CRISIS_READERS, PLAN_READERS

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts")),
    reason="Poppler utilities (poppler-utils) are needed to read PDFs back",
)

# Patient-written text in each script the portal supports beyond Latin, with the Noto family
# that must set it (as pdffonts names it).
SCRIPTS = {
    "ur": ("مجھے ذیابیطس ہے۔ کبھی کبھی میری شوگر بہت کم ہو جاتی ہے۔", "Noto-Nastaliq-Urdu"),
    "ar": ("أريد أن أمشي كل يوم مع ابنتي", "Noto-Naskh-Arabic"),
    "bn": ("আমি প্রতিদিন হাঁটতে চাই এবং আমার নাতনির সাথে কথা বলি", "Noto-Sans-Bengali"),
    "pa": ("ਮੈਂ ਹਰ ਰੋਜ਼ ਗੁਰਦੁਆਰੇ ਜਾਣਾ ਚਾਹੁੰਦਾ ਹਾਂ", "Noto-Sans-Gurmukhi"),
    "gu": ("હું દરરોજ મારા પૌત્ર સાથે ચાલવા માંગુ છું", "Noto-Sans-Gujarati"),
    "zh_Hans": ("我想每天和孙女一起散步，不想住进养老院。", "Noto-Sans-CJK-SC"),
}
# Where each script's text goes in the plan (whole-person sections).
SCRIPT_DOMAINS = {
    "ur": "personal",
    "ar": "family",
    "bn": "social",
    "pa": "home",
    "gu": "economic",
    "zh_Hans": "educational",
}
BIDI_CONTROLS = dict.fromkeys(
    [0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


# --------------------------------------------------------------------------- #
# Reading PDFs back
# --------------------------------------------------------------------------- #


def pdftotext(data: bytes, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - fixed Poppler command, PDF on stdin
        ["pdftotext", "-enc", "UTF-8", *args, "-", "-"],  # noqa: S607
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode("utf-8")


def pdffonts(data: bytes) -> list[dict]:
    """Rows of ``pdffonts``: name (subset prefix removed), embedded, has a Unicode map."""
    result = subprocess.run(  # noqa: S603 - fixed Poppler command, PDF on stdin
        ["pdffonts", "-"],  # noqa: S607
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    rows = []
    for line in result.stdout.decode().splitlines()[2:]:
        parts = line.split()
        # name type... encoding emb sub uni object-id generation
        rows.append(
            {"name": parts[0].split("+", 1)[-1], "emb": parts[-5], "uni": parts[-3]}
        )
    return rows


def compact(text: str) -> str:
    """Text without whitespace or bidi controls, for comparing extracted text."""
    return "".join(text.translate(BIDI_CONTROLS).split())


def letters(text: str) -> set[str]:
    return {ch for ch in text if unicodedata.category(ch).startswith("L")}


def _font_objects(reader: PdfReader):
    """Every font dictionary used by the pages (Type0 fonts with their descendant)."""
    seen = {}
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            seen[id(font)] = font
    return list(seen.values())


def _to_unicode(font) -> dict[int, str]:
    """glyph id -> text, from the font's ToUnicode CMap (bfchar and bfrange entries)."""
    if "/ToUnicode" not in font:
        return {}
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    mapping = {}

    def text(hexstring: str) -> str:
        return bytes.fromhex(hexstring).decode("utf-16-be") if hexstring else ""

    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>", block):
            mapping[int(src, 16)] = text(dst)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(
            r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>", block
        ):
            start = int(dst, 16)
            for offset, gid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[gid] = chr(start + offset)
    return mapping


def font_text(data: bytes) -> dict[str, str]:
    """Font name -> every character its glyphs stand for (from the ToUnicode maps)."""
    reader = PdfReader(io.BytesIO(data))
    result: dict[str, str] = {}
    for font in _font_objects(reader):
        name = str(font["/BaseFont"]).lstrip("/").split("+", 1)[-1]
        result[name] = result.get(name, "") + "".join(_to_unicode(font).values())
    return result


def missing_glyphs(data: bytes) -> str:
    """Characters drawn with a glyph the embedded font does not have (.notdef boxes).

    WeasyPrint draws a character no font covers with a glyph id past the end of the font
    (and still maps it to the character, so pdftotext alone would not notice): compare
    every mapped glyph id with the glyph count of the embedded font program.
    """
    reader = PdfReader(io.BytesIO(data))
    missing = ""
    for font in _font_objects(reader):
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        stream = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        program = TTFont(io.BytesIO(stream.get_object().get_data()))
        count = program["maxp"].numGlyphs
        missing += "".join(text for gid, text in _to_unicode(font).items() if gid >= count)
    return missing


def attachments(data: bytes) -> list:
    """Embedded files: the document's file list and file attachment annotations."""
    reader = PdfReader(io.BytesIO(data))
    found = list(reader.attachments)
    for page in reader.pages:
        for annot in page.get("/Annots", []) or []:
            if annot.get_object().get("/Subtype") == "/FileAttachment":
                found.append(annot)
    return found


# --------------------------------------------------------------------------- #
# A full plan in memory, rendered once per module
# --------------------------------------------------------------------------- #


def full_plan(extra_goal: Goal | None = None) -> CarePlan:
    """A typical plan, not stored: every section filled, text in six scripts."""
    org = Organisation(ods_code="P00001", name="Riverside Medical Practice")
    nurse = User(
        display_name="Priya Shah",
        job_title="Practice nurse",
        phone="0113 496 0001",
        email="nurse@example.org",
        availability="Weekdays 9am to 5pm",
        organisation=org,
    )
    patient_user = User(display_name="Margaret Hughes")
    patient = Patient(
        nhs_number="9434765919",
        given_name="Margaret",
        family_name="Hughes",
        date_of_birth=date(1946, 3, 14),
        conditions=[Condition(code="13645005", name="Chronic obstructive pulmonary disease")],
    )
    agreed = {"pending_review": False, "language": "en"}
    goals = [
        Goal(
            title=f"Walk to the corner shop, goal {n}",
            why_it_matters="So I can keep doing my own shopping.",
            steps="Breathing exercises every morning.",
            status="agreed",
            target_date=date(2030, 1, 1),
            **agreed,
        )
        for n in (1, 2)
    ]
    goals.append(
        Goal(
            title="Get back to the Thursday lunch club",
            why_it_matters="I miss my friends.",
            status="proposed",
            pending_review=True,
            language="en",
            proposed_by=patient_user,
        )
    )
    if extra_goal is not None:
        goals.append(extra_goal)
    levels = ("red", "red", "amber", "amber", "amber", "green")
    steps = [
        CrisisStep(
            level=level,
            signs=f"Sign {n}: more breathless than usual for two days, or coloured phlegm.",
            actions=f"Action {n}: start the rescue pack and ring the practice the same day.",
            who_to_call="999" if level == "red" else "GP practice",
            position=n,
            **agreed,
        )
        for n, level in enumerate(levels, start=1)
    ]
    needs = [NeedsSection(domain="health", text="COPD: breathless on the stairs.", **agreed)]
    needs += [
        NeedsSection(domain=SCRIPT_DOMAINS[code], text=text, language=code, pending_review=True)
        for code, (text, _font) in SCRIPTS.items()
    ]
    return CarePlan(
        patient=patient,
        named_contact=nurse,
        agreed_version=3,
        next_review_date=date(2030, 6, 1),
        last_review_date=date(2029, 6, 1),
        goals=goals,
        needs=needs,
        wishes=[Wish(kind="place_of_care", text="At home for as long as possible.", **agreed)],
        crisis_steps=steps,
        usual_state=UsualState(
            mobility="Walks indoors with a stick.",
            breathing="Oxygen saturation usually 91 to 93% at rest.",
            memory_understanding="Memory good; makes her own decisions.",
            usual_readings="Weight about 68 kg.",
            communication="Hard of hearing on the left.",
            medicines="Trimbow and salbutamol inhalers, bisoprolol, furosemide 40 mg.",
            allergies="Penicillin (rash).",
            respect_form_location="In the red folder on the fridge",
            dnacpr_location="No DNACPR decision",
            lpa_location="David holds health and welfare LPA",
            rescue_medication_location="Kitchen drawer by the sink",
            **agreed,
        ),
        contacts=[
            Contact(kind="next_of_kin", name="David Hughes", phone="07700 900123", **agreed),
            Contact(kind="practice", name="Riverside Medical Practice", phone="0113 496 0000"),
            Contact(kind="out_of_hours", name="NHS 111", phone="111"),
            Contact(kind="specialist", name="Heart failure nurses", phone="0113 496 0456"),
        ],
        care_team=[CareTeamMember(name="Dr Anna Patel", role="GP", phone="0113 496 0000")],
    )


class NotdefWarnings(logging.Handler):
    """Collects WeasyPrint's warnings about characters no font could draw."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        if ".notdef" in record.getMessage():
            self.messages.append(record.getMessage())


def _render(app, kind: str, plan: CarePlan, locale: str = "en_GB"):
    handler = NotdefWarnings()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        with app.test_request_context(), force_locale(locale):
            html = services.plan_html(plan) if kind == "plan" else services.crisis_html(plan)
            data = services.render_pdf(html, one_page=kind == "crisis")
    finally:
        logger.removeHandler(handler)
    return data, handler.messages


@pytest.fixture(scope="module")
def plan_pdf(app):
    data, warnings = _render(app, "plan", full_plan())
    return {
        "data": data,
        "text": pdftotext(data),
        "fonts": {row["name"]: row for row in pdffonts(data)},
        "font_text": font_text(data),
        "warnings": warnings,
    }


@pytest.fixture(scope="module")
def crisis_sheets(app):
    return {locale: _render(app, "crisis", full_plan(), locale)[0] for locale in ("en", "ur")}


# --------------------------------------------------------------------------- #
# The plan PDF: content, order, header, footer, metadata
# --------------------------------------------------------------------------- #


def test_plan_pdf_holds_the_patients_plan(plan_pdf):
    text = plan_pdf["text"]
    for expected in (
        "My care plan",
        "Walk to the corner shop, goal 1",
        "Sign 6: more breathless than usual",
        "Walks indoors with a stick.",
        "Penicillin (rash).",
        "Priya Shah",
        "Dr Anna Patel",
        "David Hughes",
        "At home for as long as possible.",
        "COPD: breathless on the stairs.",
        "Chronic obstructive pulmonary disease",
    ):
        assert expected in text


def test_plan_pdf_puts_the_crisis_plan_first_and_the_review_date_last(plan_pdf):
    text = plan_pdf["text"]
    order = [
        "If things get worse",
        "Usual state of health",
        "Named contact",
        "My goals",
        "My wishes and preferences",
        "About me: my whole life",
        "Next review",
    ]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert "Your review is due by June 2030." in text[positions[-1] :]


def test_plan_pdf_marks_proposals_apart_from_agreed_goals(plan_pdf):
    text = plan_pdf["text"]
    proposals = text.index("Changes waiting to be agreed")
    assert text.index("Walk to the corner shop, goal 2") < proposals
    assert text.index("Get back to the Thursday lunch club") > proposals
    assert "Added by Margaret Hughes – not yet agreed" in text


def test_every_page_has_the_running_header_and_page_x_of_y(plan_pdf):
    reader = PdfReader(io.BytesIO(plan_pdf["data"]))
    pages = len(reader.pages)
    assert pages >= 2
    for number in range(1, pages + 1):
        page = pdftotext(plan_pdf["data"], "-f", str(number), "-l", str(number))
        assert f"Page {number} of {pages}" in page
        assert "Margaret Hughes" in page
        assert "943 476 5919" in page
        assert "Plan version 3" in page
        assert "Printed " in page


def test_plan_pdf_is_tagged_with_a_title_and_language(plan_pdf):
    reader = PdfReader(io.BytesIO(plan_pdf["data"]))
    root = reader.trailer["/Root"]
    assert reader.metadata.title == "Care plan for Margaret Hughes"
    assert root["/Lang"] == "en-GB"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()


def readable_letters(code: str) -> set[str]:
    """Letters of the sample that a PDF's text layer can give back.

    Nastaliq draws keheh and gaf (ک گ) on one shared body glyph; a PDF maps each glyph to one
    text, so neither can be relied on when the text is copied out (see README).
    """
    sample, _family = SCRIPTS[code]
    shared_glyphs = {"ک", "گ"} if code == "ur" else set()
    return letters(sample) - shared_glyphs


@pytest.mark.parametrize("code", list(SCRIPTS))
def test_each_script_is_set_in_a_noto_font_that_covers_it(plan_pdf, code):
    _sample, family = SCRIPTS[code]
    fonts = plan_pdf["fonts"]
    assert family in fonts, f"{family} not embedded: {sorted(fonts)}"
    assert fonts[family]["emb"] == "yes" and fonts[family]["uni"] == "yes"
    # The glyphs of this font stand for the sample's letters: this font set the text.
    assert readable_letters(code) <= set(plan_pdf["font_text"][family])


@pytest.mark.parametrize("code", list(SCRIPTS))
def test_each_script_reads_back_from_the_pdf(plan_pdf, code):
    sample, _family = SCRIPTS[code]
    extracted = compact(plan_pdf["text"])
    if code in ("ur", "bn"):
        # Nastaliq's stacked joins and Bengali's reordered vowel signs come back from
        # pdftotext out of order or with marks moved; the letters must still be there.
        assert readable_letters(code) <= set(extracted)
    else:
        assert compact(sample) in extracted


def test_no_character_is_drawn_as_a_missing_glyph(plan_pdf):
    assert plan_pdf["warnings"] == []
    assert missing_glyphs(plan_pdf["data"]) == ""


def test_the_missing_glyph_check_catches_a_character_no_font_has(app):
    with app.test_request_context():
        data = services.render_pdf("<!DOCTYPE html><p lang=en>A\u0378B</p>")
    assert missing_glyphs(data) == "\u0378"


# --------------------------------------------------------------------------- #
# The crisis sheet
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("locale", ["en", "ur"])
def test_crisis_sheet_is_exactly_one_page(crisis_sheets, locale):
    data = crisis_sheets[locale]
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    text = pdftotext(data)
    # The footer is translated; Nastaliq does not extract reliably, so read it in English only.
    assert locale != "en" or "Page 1 of 1" in text
    for expected in ("Sign 1:", "Sign 6:", "Action 6:", "Penicillin (rash).", "07700 900123"):
        assert expected in text


def test_crisis_sheet_in_urdu_is_right_to_left_urdu(crisis_sheets):
    data = crisis_sheets["ur"]
    assert PdfReader(io.BytesIO(data)).trailer["/Root"]["/Lang"] == "ur"
    assert "Noto-Nastaliq-Urdu" in {row["name"] for row in pdffonts(data)}


def _fake_catalogue(monkeypatch, locale: str, messages: dict[str, str]) -> None:
    """Translations for ``locale`` that do not depend on the shipped catalogues."""
    catalogue = Translations()
    catalogue._catalog = dict(messages)
    catalogue.plural = lambda n: int(n != 1)
    monkeypatch.setitem(get_domain().cache, (locale, "messages"), catalogue)


def test_crisis_sheet_headings_carry_the_english_beside_the_translation(app, monkeypatch):
    welsh = {"Signs to look for": "Arwyddion i chwilio amdanynt", "Allergies": "Alergeddau"}
    with app.test_request_context():
        _fake_catalogue(monkeypatch, "cy", welsh)
        with force_locale("cy"):
            html = services.crisis_html(full_plan())
    assert '<html lang="cy" dir="ltr"' in html
    assert (
        '<h3>Arwyddion i chwilio amdanynt <span class="pdf-english">/</span> '
        '<span class="pdf-english" lang="en" dir="ltr">Signs to look for</span></h3>'
    ) in html
    assert (
        '<dt>Alergeddau <span class="pdf-english">/</span> '
        '<span class="pdf-english" lang="en" dir="ltr">Allergies</span>'
    ) in html
    # A heading the catalogue leaves in English is not printed twice.
    assert "<h3>What to do</h3>" in html


def test_crisis_sheet_in_english_has_no_second_heading(app):
    with app.test_request_context(), force_locale("en_GB"):
        html = services.crisis_html(full_plan())
    assert '<html lang="en-GB" dir="ltr"' in html
    assert "<h3>Signs to look for</h3>" in html
    assert "pdf-english" not in html


@pytest.mark.parametrize(
    ("locale", "lang", "direction"),
    [("ur", "ur", "rtl"), ("ar", "ar", "rtl"), ("zh_Hans", "zh-Hans", "ltr"), ("bn", "bn", "ltr")],
)
def test_documents_carry_the_readers_language_and_direction(app, locale, lang, direction):
    with app.test_request_context(), force_locale(locale):
        for html in (services.plan_html(full_plan()), services.crisis_html(full_plan())):
            assert f'<html lang="{lang}" dir="{direction}"' in html


def test_page_numbers_follow_the_translations_word_order(app, monkeypatch):
    with app.test_request_context():
        _fake_catalogue(monkeypatch, "cy", {"Page %(page)s of %(pages)s": "%(pages)s: %(page)s"})
        with force_locale("cy"):
            footer = services.page_numbers_css()
        with force_locale("en"):
            english = services.page_numbers_css()
    assert 'content: counter(pages) "\\00003a  " counter(page);' in footer
    assert 'content: "Page " counter(page) " of " counter(pages);' in english


def test_css_strings_cannot_break_out():
    quoted = services.css_string('a"b\\c};@import url(x)')
    assert quoted.startswith('"') and quoted.endswith('"')
    assert not set(quoted[1:-1]) & set("\"'};(@")
    assert quoted == (
        '"a\\000022 b\\00005c c\\00007d \\00003b \\000040 import url\\000028 x\\000029 "'
    )


@pytest.mark.parametrize(
    ("text", "language", "direction"),
    [
        ("Ring 999.", "en", "ltr"),
        ("Ring 999.", "ur", "rtl"),  # the language wins
        ("مجھے ذیابیطس ہے", None, "rtl"),  # else the first letter
        ("999 – Ring David", None, "ltr"),
        ("Hello", "not a language", "ltr"),
    ],
)
def test_direction_of_patient_text(app, text, language, direction):
    with app.test_request_context(), force_locale("en"):
        assert services.direction_of(text, language) == direction


def test_patient_text_keeps_its_own_language_and_direction(app):
    with app.test_request_context(), force_locale("en"):
        html = services.plan_html(full_plan())
    urdu, _font = SCRIPTS["ur"]
    assert f'<p class="own-words" lang="ur" dir="rtl">{urdu}</p>' in html
    chinese, _font = SCRIPTS["zh_Hans"]
    assert f'<p class="own-words" lang="zh-Hans" dir="ltr">{chinese}</p>' in html


# --------------------------------------------------------------------------- #
# Safety: nothing fetched, nothing embedded
# --------------------------------------------------------------------------- #

HOSTILE_GOAL = (
    '<img src="http://127.0.0.1:9/x"> '
    '<link rel="attachment" href="file:///etc/passwd"> '
    "<style>@import url(http://127.0.0.1:9/evil.css);</style>"
)


@pytest.fixture
def fetch_spy(monkeypatch):
    """Every URL the PDF renderer asks for, whether it is served or refused."""
    calls: list[str] = []
    original = StaticOnlyFetcher.fetch

    def spy(self, url, headers=None):
        calls.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticOnlyFetcher, "fetch", spy)
    return calls


def test_hostile_goal_is_printed_as_text_and_fetches_nothing(db, cast, login, fetch_spy):
    db.session.add(
        Goal(plan_id=cast.plan_a.id, title="Hostile", steps=HOSTILE_GOAL, status="proposed")
    )
    db.session.add(
        NeedsSection(
            plan_id=cast.plan_a.id,
            domain="home",
            text="@import url(http://127.0.0.1:9/import.css); <b>bold?</b>",
        )
    )
    db.session.commit()
    response = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan.pdf")
    assert response.status_code == 200
    assert not [url for url in fetch_spy if "127.0.0.1" in url or "passwd" in url]
    assert all(url.startswith(("data:", "file:")) for url in fetch_spy)
    assert attachments(response.data) == []
    text = compact(pdftotext(response.data))
    assert compact(HOSTILE_GOAL) in text
    assert compact("@import url(http://127.0.0.1:9/import.css); <b>bold?</b>") in text


def test_markup_that_reaches_the_renderer_is_refused_by_the_fetcher(app, fetch_spy):
    """Defence in depth: even unescaped HTML cannot make the renderer fetch or embed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    html = (
        f'<!DOCTYPE html><html lang="en"><head>'
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/a.css">'
        f'<link rel="attachment" href="file:///etc/passwd">'
        f"<style>@import url(http://127.0.0.1:{port}/b.css);</style></head>"
        f'<body><p>Hello</p><img src="http://127.0.0.1:{port}/c.png">'
        f'<img src="https://127.0.0.1:{port}/d.png"><img src="../../../etc/passwd">'
        f'<a rel="attachment" href="file:///etc/hostname">x</a></body></html>'
    )
    try:
        with app.test_request_context():
            data = services.render_pdf(html)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    finally:
        listener.close()
    assert attachments(data) == []
    refused = [url for url in fetch_spy if "127.0.0.1" in url or "/etc/" in url]
    assert len(refused) >= 5  # each was asked for, and each was refused
    assert "Hello" in pdftotext(data)


def test_every_html_and_css_object_gets_the_fetcher(app, monkeypatch):
    seen = []

    def recording(cls):
        def build(*args, **kwargs):
            seen.append((cls.__name__, kwargs.get("url_fetcher")))
            return cls(*args, **kwargs)

        return build

    monkeypatch.setattr(services, "HTML", recording(services.HTML))
    monkeypatch.setattr(services, "CSS", recording(services.CSS))
    caches = (services._base_stylesheet, services._inline_stylesheet)
    for cached in caches:
        cached.cache_clear()
    try:
        with app.test_request_context():
            services.render_pdf("<!DOCTYPE html><p>Hello</p>", one_page=True)
    finally:
        for cached in caches:
            cached.cache_clear()
    # The document, the stylesheet and the footer: each built with the fetcher.
    assert [name for name, _ in seen].count("CSS") >= 2
    assert {name for name, _ in seen} == {"HTML", "CSS"}
    assert all(isinstance(fetcher, StaticOnlyFetcher) for _, fetcher in seen)


@pytest.mark.parametrize("enabled", [True, False])
def test_rendering_leaves_the_garbage_collector_as_it_was(app, enabled):
    """The collector is paused during a render; afterwards it is back as it was, even when
    the render fails, and a collector something else turned off stays off."""
    was_enabled = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with app.test_request_context():
            services.render_pdf("<!DOCTYPE html><p>Hello</p>")
            assert gc.isenabled() is enabled
            with pytest.raises(TypeError):
                services.render_pdf(None)
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was_enabled else gc.disable)()


@pytest.mark.parametrize("max_pages", [50, 0], ids=["written", "refused as too long"])
def test_a_render_leaves_nothing_of_its_document_for_a_later_sweep(app, monkeypatch, max_pages):
    """A render's styles are freed by the sweep that ends it, not left as garbage in an older
    generation that Python seldom sweeps: a worker rendering plans for hours stays its size.
    Checked without a full collection of our own, as a worker runs."""
    from weasyprint.css import ComputedStyle

    monkeypatch.setitem(app.config, "PDF_MAX_PAGES", max_pages)
    gc.collect()
    with app.test_request_context():
        try:
            services.render_pdf("<!DOCTYPE html><p>Hello</p><p>Again</p>")
        except services.RenderRefused as refused:
            assert refused.reason == services.RenderRefused.TOO_LONG and max_pages == 0
    assert not [o for o in gc.get_objects() if isinstance(o, ComputedStyle)]


@pytest.fixture
def static_dir(tmp_path):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "pdf.css").write_text("p { color: red }")
    (tmp_path / "secret.txt").write_text("secret")
    (static / "css" / "link.css").symlink_to(tmp_path / "secret.txt")
    return static


def test_fetcher_serves_static_files_and_data_urls(static_dir):
    fetcher = StaticOnlyFetcher(static_dir)
    response = fetcher.fetch(fetcher.base_url + "css/pdf.css")
    assert response.read() == b"p { color: red }"
    assert response.content_type == "text/css"
    response = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert response.read() == b"hello"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "https://example.org/x.css",
        "ftp://example.org/x",
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://otherhost{static}/css/pdf.css",
        "file://{static}/../secret.txt",
        "file://{static}/css/%2e%2e/%2e%2e/secret.txt",
        "file://{static}/css/link.css",  # a symbolic link out of static/
        "file://{static}/css",  # a folder
        "file://{static}/css/missing.css",
        "gopher://127.0.0.1:9/x",
        "javascript:alert(1)",
        "css/pdf.css",
    ],
)
def test_fetcher_refuses_everything_else(static_dir, url):
    fetcher = StaticOnlyFetcher(static_dir)
    with pytest.raises(FetchRefused):
        fetcher.fetch(url.format(static=static_dir))


# --------------------------------------------------------------------------- #
# Downloads: access, audit, cache, links
# --------------------------------------------------------------------------- #

ROUTES = {
    "plan": ("/patients/{a}/plan.pdf", PLAN_READERS),
    "crisis": ("/patients/{a}/crisis.pdf", CRISIS_READERS),
    # The easy read crisis plan: whoever may open its page (the same action).
    "easy_read": ("/patients/{a}/crisis/easy-read.pdf", CRISIS_READERS),
}


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("kind", list(ROUTES))
def test_download_access_matrix(cast, request_as, renders, kind, who):
    route, readers = ROUTES[kind]
    response = request_as(cast.users[who], "GET", route.format(a=cast.a.id))
    if who == "anonymous":
        assert response.status_code == 302
    elif who in readers:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment;")
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("kind", list(ROUTES))
def test_download_refused_without_consent_or_record(cast, request_as, renders, kind):
    route, _readers = ROUTES[kind]
    for patient_id in (cast.no_consent.id, 999999):
        url = route.format(a=patient_id)
        assert request_as(cast.users["professional"], "GET", url).status_code == 404
    assert renders == []


def test_each_download_is_audited_even_from_the_cache(db, cast, login, renders):
    client = login(cast.users["carer_view"])
    for _ in range(2):
        assert client.get(f"/patients/{cast.a.id}/plan.pdf").status_code == 200
    assert client.get(f"/patients/{cast.a.id}/crisis.pdf").status_code == 200
    events = db.session.query(AuditEvent).filter(AuditEvent.action.like("pdf.%")).all()
    assert sorted(e.action for e in events) == ["pdf.crisis", "pdf.plan", "pdf.plan"]
    assert {(e.patient_id, e.actor_id) for e in events} == {
        (cast.a.id, cast.users["carer_view"].id)
    }
    assert all(e.detail == f"plan {cast.plan_a.id}, standard print" for e in events)
    assert len(renders) == 2  # the second plan download came from the cache


def test_unchanged_plan_is_rendered_once_for_everyone(cast, login, renders):
    url = f"/patients/{cast.a.id}/plan.pdf"
    first = login(cast.users["owner"]).get(url).data
    second = login(cast.users["carer_view"]).get(url).data
    assert first == second
    assert len(renders) == 1


def test_any_change_to_the_plan_gives_a_new_pdf(db, cast, login, renders):
    client = login(cast.users["owner"])
    url = f"/patients/{cast.a.id}/plan.pdf"
    client.get(url)
    client.get(url)
    assert len(renders) == 1

    goal = db.session.query(Goal).filter_by(plan_id=cast.plan_a.id, title="Goal 1").one()
    goal.title = "Goal 1, edited"
    db.session.commit()
    assert client.get(url).data == b"%PDF-1.7 stub 2"
    assert "Goal 1, edited" in renders[-1]

    # A proposal leaves the agreed version alone but still changes the printed plan.
    agreed_version = cast.plan_a.agreed_version
    db.session.add(Goal(plan_id=cast.plan_a.id, title="Swim on Fridays", status="proposed"))
    db.session.commit()
    assert client.get(url).data == b"%PDF-1.7 stub 3"
    assert db.session.get(CarePlan, cast.plan_a.id).agreed_version == agreed_version

    usual = db.session.query(UsualState).filter_by(plan_id=cast.plan_a.id).one()
    usual.allergies = "Latex"
    db.session.commit()
    client.get(url)
    client.get(url)
    assert len(renders) == 4


def test_cache_is_per_language_and_per_document(app, cast, renders):
    with app.test_request_context():
        for locale in ("en", "cy", "en"):
            with force_locale(locale):
                services.plan_pdf(cast.plan_a)
                services.crisis_pdf(cast.plan_a)
    assert len(renders) == 4


def test_cache_keeps_at_most_its_size():
    store = services.PdfCache(2)
    for n in range(3):
        store.put((1, "plan", "en", str(n)), b"x" * n)
    assert len(store) == 2
    assert store.get((1, "plan", "en", "0")) is None
    assert store.get((1, "plan", "en", "2")) == b"xx"
    assert store.last_size(1, "plan", "en") == 2


def test_plan_page_links_to_the_pdf_with_its_file_type(db, cast, login, renders):
    goal = db.session.query(Goal).filter_by(plan_id=cast.plan_a.id, title="Goal 1").one()
    goal.language = "ur"  # patient text with a language must not break the page
    db.session.commit()
    client = login(cast.users["owner"])
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    link = f'<a href="/patients/{cast.a.id}/plan.pdf?size=standard">Download my care plan (PDF)</a>'
    assert link in body
    client.get(f"/patients/{cast.a.id}/plan.pdf")
    body = client.get(f"/patients/{cast.a.id}/plan").get_data(as_text=True)
    assert "Download my care plan (PDF, 1 KB)</a>" in body

    body = login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/plan").get_data(
        as_text=True
    )
    assert "Download this care plan (PDF" in body


def test_crisis_page_links_to_the_crisis_sheet(cast, login, renders):
    body = login(cast.users["carer_crisis"]).get(f"/patients/{cast.a.id}/crisis").get_data(
        as_text=True
    )
    assert (
        f'<a href="/patients/{cast.a.id}/crisis.pdf?size=standard">'
        "Download the crisis sheet (PDF)</a>" in body
    )


def test_real_download_through_the_route(cast, login):
    """One end-to-end render: the route's PDF is the plan of the patient asked for."""
    response = login(cast.users["carer_crisis"]).get(f"/patients/{cast.a.id}/crisis.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-1.7")
    text = pdftotext(response.data)
    assert "Crisis plan for Alice Able" in text
    assert "Lips blue" in text and "Ring 999" in text
    assert "Bob Baker" not in text
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 1


def test_print_date_is_the_day_of_printing(app, plan_pdf):
    with app.test_request_context():
        today = to_user_timezone(datetime.now(UTC)).date()
        printed = {format_date(today - timedelta(days=d), "medium") for d in (0, 1)}
    # Today in the portal's time zone (or yesterday, if the module rendered before midnight).
    assert any(f"Printed {day}" in plan_pdf["text"] for day in printed)


def test_items_whose_removal_awaits_review_are_printed_as_agreed_and_apart(app, db, cast):
    from sqlalchemy import select

    from portal.models import Contact, CrisisStep
    from portal.pdf.services import _crisis_context
    from portal.plans.services import load_plan

    step = db.session.scalars(select(CrisisStep).where(CrisisStep.plan_id == cast.plan_a.id)).one()
    contact = db.session.scalars(select(Contact).where(Contact.plan_id == cast.plan_a.id)).one()
    step.removal_proposed = contact.removal_proposed = True
    db.session.commit()
    with app.test_request_context():
        context = _crisis_context(load_plan(cast.a.id))
    # Still in the agreed plan until a professional agrees the removal; the request is apart.
    assert [s.id for _level, steps in context["levels"] for s in steps] == [step.id]
    assert context["contacts"] == [contact]
    assert {step, contact} <= {c.item for c in context["changes"]}


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_pdfs_are_laid_out_at_a_lower_priority_than_page_views(app, monkeypatch):
    """The render thread yields the CPU to page views; the request thread keeps its own."""
    seen = []
    html = services.HTML

    def recording(*args, **kwargs):
        seen.append((threading.get_native_id(), _nice()))
        return html(*args, **kwargs)

    monkeypatch.setattr(services, "HTML", recording)
    usual = _nice()
    with app.test_request_context():
        data = services.render_pdf("<!DOCTYPE html><p>Hello</p>")
    assert data.startswith(b"%PDF-")
    [(thread, nice)] = seen
    assert thread != threading.get_native_id()
    assert nice == min(usual + app.config["PDF_RENDER_NICE"], 19) > usual
    assert _nice() == usual


def test_no_render_thread_when_the_priority_is_left_alone():
    runner = LowPriorityRunner(0)
    assert runner.run(threading.get_native_id) == threading.get_native_id()


def test_render_thread_errors_reach_the_request():
    def broken():
        raise ValueError("no layout")

    with pytest.raises(ValueError, match="no layout"):
        LowPriorityRunner(5).run(broken)


def test_a_forked_worker_starts_its_own_render_thread():
    """gunicorn forks workers from a preloaded app; the parent's thread is not in the child."""
    runner = LowPriorityRunner(5)
    parent = runner.run(threading.get_native_id)
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child process
        signal.alarm(10)  # a render waiting on the parent's thread would hang here
        os._exit(0 if runner.run(threading.get_native_id) not in (parent, 0) else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
