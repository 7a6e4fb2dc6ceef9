"""Rendering the care plan and the crisis sheet to PDF, and keeping what was rendered.

The HTML comes from the portal's own Jinja templates (``templates/pdf/``) with autoescape on,
in the reader's current locale. WeasyPrint lays it out with the Noto fonts chosen by ``lang``
(see ``static/css/pdf.css``) and writes a tagged PDF/UA-1 file. Every ``HTML`` and ``CSS``
object gets the ``StaticOnlyFetcher``, so nothing outside ``static/`` can be loaded.

Rendering takes a few hundred milliseconds; the result is kept in a per-process LRU cache
keyed by the plan, the document kind, the locale and a hash of the rendered HTML. Any change
that shows in the document (a proposal, an edit, a new named contact, the print date) changes
the HTML and so the key; an unchanged plan is served from memory. With a broker configured,
the same keys are shared by every worker in Redis and renderings are done ahead by the job
queue when a plan changes (``portal.pdf.shared``).
"""

import gc
import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, lru_cache

from babel import UnknownLocaleError
from flask import current_app, render_template
from flask_babel import force_locale, get_locale, gettext, to_user_timezone
from flask_babel import lazy_gettext as _l
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from portal import audit, labels
from portal.contingency.held_apart import hold_apart
from portal.contingency.services import steps_by_level
from portal.i18n import html_lang, text_direction
from portal.meetings.summary import next_meeting
from portal.models import CarePlan, Domain, GoalStatus, PrintSize, WishKind
from portal.pdf.fetcher import StaticOnlyFetcher
from portal.pdf.shared import fetch_or_render
from portal.phone import tel_href
from portal.plans.glance import review_line
from portal.preparation.services import open_preparation
from portal.sections import BY_KEY, DOCUMENT_LOCATIONS, FIELD_LABELS, USUAL_STATE_DESCRIPTIONS

PLAN = "plan"
CRISIS = "crisis"
EASY_READ = "easy_read"  # the crisis plan in easy read, always in large type

# Tagged PDF/UA-1: structure tags, title shown in the window bar, document language.
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1"}

STYLESHEET = "css/pdf.css"
LARGE_STYLESHEET = "css/pdf-large.css"


def default_print_size(patient) -> PrintSize:
    """The print the patient chose, or a professional recorded for them (``Patient.print_size``)."""
    try:
        return PrintSize(patient.print_size)
    except ValueError:
        return PrintSize.STANDARD


def record_print_size(patient, size: PrintSize) -> None:
    """Keep the print the patient chose or told a professional; audited when it changes. The
    caller commits."""
    if patient.print_size != size:
        patient.print_size = size
        audit.record("patient.print_size", patient.id)


def print_size(asked: str | None, patient) -> PrintSize:
    """The size asked for in the link, else the patient's default; anything else is ignored."""
    try:
        return PrintSize(asked)
    except ValueError:
        return default_print_size(patient)

# The crisis sheet must fit one sheet of paper. A long crisis plan is laid out again with
# smaller type, down to 7 pt (still readable on a fridge door), then with less space around
# the text (``css/pdf-sheet-compact.css``); the last layout keeps every agreed step, contact
# and fact but prints the changes nobody has checked yet as one line each (what, who, when),
# with a note sending the reader to the crisis page for their words. Each layout is
# (a rule written here, stylesheets of ``static/``). ``tests/test_crisis_sheet_fit.py``
# prints the largest crisis plan the limits allow on one page in the longest-rendering
# languages; ``bench/worst_plan_bench.py`` measures it.
COMPACT_SHEET = "css/pdf-sheet-compact.css"
SHEET_DENSITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ()),
    ("html.pdf--crisis { font-size: 8pt; --urdu-line-height: 1.8; }", ()),
    (
        "html.pdf--crisis { font-size: 7pt; --urdu-line-height: 1.6; }"
        " .pdf--crisis .sheet-step { padding-block: 0.5mm; margin-block-end: 1mm; }"
        " .pdf--crisis .pdf-tag { font-size: 1em; padding-block: 0; }",
        (),
    ),
    ("", (COMPACT_SHEET,)),
    (
        ".sheet-unreviewed__words { display: none; } p.sheet-unreviewed__short { display: block; }"
                " .sheet-unreviewed { display: flow-root; }"
        " .sheet-unreviewed__item { float: inline-start; width: 33%; }"
        " .sheet-unreviewed__item + .sheet-unreviewed__item { border: 0; margin: 0; }",
        (COMPACT_SHEET,),
    ),
)
# A first layout this many pages long is far from fitting: the next tries go straight to
# the compact layout (each try costs a whole layout).
FAR_FROM_FITTING = 3

# Headings of the crisis sheet. In any language but English each one is printed with the
# English beside it, so a paramedic can find "Allergies" on a sheet written in Urdu.
SHEET_HEADINGS = {
    "emergency": _l("In an emergency call 999"),
    "date_of_birth": _l("Date of birth"),
    "conditions": _l("Long-term conditions"),
    "signs": _l("Signs to look for"),
    "what_to_do": _l("What to do"),
    "who_to_call": _l("Who to call"),
    "usual_state": _l("Usual state of health"),
    "documents": _l("Where documents are kept"),
    "not_checked": _l("Not yet checked by the care team"),
}

# Headings of the plan PDF: (as usual, in easy read). Easy read headings say plainly what
# each part is for, for readers whose communication needs ask for easy read.
PLAN_HEADINGS = {
    "crisis": (_l("If things get worse"), _l("If I get more ill")),
    "signs": (_l("Signs to look for"), _l("What I notice")),
    "what_to_do": (_l("What to do"), _l("What to do")),
    "who_to_call": (_l("Who to call"), _l("People I can call")),
    "usual_state": (_l("Usual state of health"), _l("How I usually am")),
    "named_contact": (_l("Named contact"), _l("The person to contact about my plan")),
    "care_team": (_l("My care team"), _l("People who look after me")),
    "goals": (_l("My goals"), _l("What I want to do")),
    "wishes": (_l("My wishes and preferences"), _l("What matters to me")),
    "needs": (_l("About me: my whole life, not just my conditions"), _l("About me")),
    "preparation": (_l("Getting ready for my review"), _l("For my review meeting")),
    "review": (_l("Next review"), _l("When my plan is checked next")),
}


def plan_headings(size: PrintSize) -> dict:
    """The plan PDF's headings for ``size``: plain ones in easy read."""
    easy = size == PrintSize.EASY_READ
    return {key: pair[1] if easy else pair[0] for key, pair in PLAN_HEADINGS.items()}


USUAL_STATE_FIELDS = tuple((f, FIELD_LABELS[f]) for f in USUAL_STATE_DESCRIPTIONS)
DOCUMENT_FIELDS = tuple((f, FIELD_LABELS[f]) for f in DOCUMENT_LOCATIONS)
# What a contact's line says after its name, number and kind, in the section's order.
CONTACT_DETAILS = tuple(f for f in BY_KEY["contacts"].fields if f not in ("kind", "name", "phone"))


# --------------------------------------------------------------------------- #
# The documents
# --------------------------------------------------------------------------- #


def plan_pdf(plan: CarePlan, size: PrintSize = PrintSize.STANDARD) -> bytes:
    """The whole plan, crisis steps first. The same for every reader with ``view`` access."""
    return _cached(plan, PLAN, plan_html(plan, size), size)


def crisis_pdf(plan: CarePlan, size: PrintSize = PrintSize.STANDARD) -> bytes:
    """The crisis sheet for the fridge or beside the phone: one page in standard print."""
    return _cached(plan, CRISIS, crisis_html(plan, size), size)


def easy_read_pdf(plan: CarePlan, size: PrintSize = PrintSize.LARGE) -> bytes:
    """The crisis plan in easy read, as its page words it: large type whatever was asked."""
    return _cached(plan, EASY_READ, easy_read_html(plan), PrintSize.LARGE)


def plan_html(plan: CarePlan, size: PrintSize = PrintSize.STANDARD) -> str:
    return render_template(
        "pdf/plan.html", **_plan_context(plan), print_size=size, headings=plan_headings(size)
    )


def crisis_html(plan: CarePlan, size: PrintSize = PrintSize.STANDARD) -> str:
    return render_template("pdf/crisis.html", **_crisis_context(plan), print_size=size)


def easy_read_html(plan: CarePlan) -> str:
    context = _crisis_context(plan)
    # 999 and 111 are offered first on their own, as on the easy read page.
    calls = context["contacts"]
    context["contacts"] = [c for c in calls if tel_href(c.phone) not in ("999", "111")]
    context.update(kind=EASY_READ, title=gettext("My crisis plan: easy read"))
    return render_template("pdf/crisis_easy_read.html", **context, print_size=PrintSize.LARGE)


def bilingual(message) -> tuple[str, str | None]:
    """A heading in the reader's language, and in English when that reads differently."""
    text = str(message)
    if get_locale() is None or get_locale().language == "en":
        return text, None
    with force_locale("en"):
        english = str(message)
    return text, (english if english != text else None)


def direction_of(text: str, language: str | None = None) -> str:
    """``ltr`` or ``rtl`` for a piece of patient text: from its language, else its first letter.

    WeasyPrint has no ``dir="auto"``; without this an English note in an Urdu plan would be
    laid out right to left, its full stop at the wrong end.
    """
    if language:
        try:
            return text_direction(language)
        except (ValueError, TypeError, UnknownLocaleError):
            pass
    for ch in text or "":
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return text_direction()


def _common_context(plan: CarePlan, kind: str, title: str) -> dict:
    patient = plan.patient
    today = to_user_timezone(datetime.now(UTC)).date()
    if plan.agreed_version:
        version = gettext("Plan version %(number)s", number=plan.agreed_version)
    else:
        version = gettext("Plan not yet agreed")
    return {
        "kind": kind,
        "title": title,
        "plan": plan,
        "patient": patient,
        "document_lang": html_lang(),
        "document_dir": text_direction(),
        "version_label": version,
        "printed_on": today,
        "labels": labels,
        "contact_details": CONTACT_DETAILS,
        "lang_tag": html_lang,
        "direction_of": direction_of,
    }


def _plan_context(plan: CarePlan) -> dict:
    title = gettext("Care plan for %(name)s", name=plan.patient.full_name)
    goals = [g for g in plan.goals if g.status != GoalStatus.WITHDRAWN or g.pending_review]
    held = hold_apart(plan)
    return {
        **_common_context(plan, PLAN, title),
        # The crisis plan as agreed; changes nobody has checked yet apart, as on the crisis
        # page and sheet: a paramedic must never read an unreviewed instruction as the plan.
        "levels": steps_by_level(held.steps),
        "contacts": held.contacts,
        "usual": held.usual,
        "changes": held.changes,
        "usual_fields": USUAL_STATE_FIELDS + DOCUMENT_FIELDS,
        "agreed_goals": [g for g in goals if not g.pending_review],
        "proposed_goals": [g for g in goals if g.pending_review],
        "wishes": [(kind, w) for kind in WishKind for w in plan.wishes if w.kind == kind],
        "needs": [(d, n) for d in Domain for n in plan.needs if n.domain == d and n.text],
        # What the person wants to raise at the review goes into the copy they print.
        "preparation": open_preparation(plan.id) if plan.id else None,
        "review_line": review_line(plan, next_meeting(plan.id) if plan.id else None),
    }


def _crisis_context(plan: CarePlan) -> dict:
    name = plan.patient.full_name
    held = hold_apart(plan)
    return {
        **_common_context(plan, CRISIS, gettext("Crisis plan for %(name)s", name=name)),
        "heading_title": _l("Crisis plan for %(name)s", name=name),
        "headings": SHEET_HEADINGS,
        # The agreed plan as agreed; changes nobody has checked yet apart, as on the crisis page.
        "levels": steps_by_level(held.steps),
        "contacts": held.contacts,
        "usual": held.usual,
        "changes": held.changes,
        "usual_fields": USUAL_STATE_FIELDS,
        "document_fields": DOCUMENT_FIELDS,
        "filled": _filled_fields(held.usual),
        "bilingual": bilingual,
    }


def readable_copy_pdf(patient, sections) -> bytes:
    """All the information held about the patient (``portal.portability.readable``), printed.

    Not cached: it is asked for rarely and holds the access log, which changes on every view.
    """
    today = to_user_timezone(datetime.now(UTC)).date()
    html = render_template(
        "pdf/my_data.html",
        kind="data",
        title=gettext("All the information the portal holds about me"),
        patient=patient,
        sections=sections,
        document_lang=html_lang(),
        document_dir=text_direction(),
        version_label=gettext("Copy of the information held"),
        printed_on=today,
        lang_tag=html_lang,
        direction_of=direction_of,
    )
    return render_pdf(html)


def _filled_fields(usual) -> set[str]:
    if usual is None:
        return set()
    fields = USUAL_STATE_FIELDS + DOCUMENT_FIELDS
    return {field for field, _label in fields if getattr(usual, field)}


# --------------------------------------------------------------------------- #
# Cache
# --------------------------------------------------------------------------- #


class PdfCache:
    """A thread-safe LRU of rendered PDFs, bounded by ``PDF_CACHE_SIZE`` entries.

    It lives in the worker process: each gunicorn worker keeps its own, and a restart
    empties it. Entries for content that has since changed are never asked for again and
    age out.
    """

    def __init__(self, max_entries: int):
        self.max_entries = max(0, int(max_entries))
        self._entries: OrderedDict[tuple, bytes] = OrderedDict()
        # (plan id, kind, locale) -> size of the latest rendering; small, but bounded too.
        self._sizes: OrderedDict[tuple, int] = OrderedDict()
        self._max_sizes = max(1000, 4 * self.max_entries)
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            data = self._entries.get(key)
            if data is not None:
                self._entries.move_to_end(key)
            return data

    def put(self, key: tuple, data: bytes) -> None:
        with self._lock:
            self._sizes[key[:3]] = len(data)
            self._sizes.move_to_end(key[:3])
            while len(self._sizes) > self._max_sizes:
                self._sizes.popitem(last=False)
            if not self.max_entries:
                return
            self._entries[key] = data
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def last_size(self, plan_id: int, kind: str, locale: str) -> int | None:
        """Size of the latest rendering, for the "PDF, 80 KB" hint beside download links."""
        return self._sizes.get((plan_id, kind, locale))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()

    def __len__(self) -> int:
        return len(self._entries)


def pdf_cache() -> PdfCache:
    return current_app.extensions["pdf_cache"]


def fingerprint(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


def document(plan: CarePlan, kind: str, size: PrintSize) -> tuple[tuple, Callable[[], bytes]]:
    """The cache key of a document in the current locale, and how to render it."""
    html = (plan_html if kind == PLAN else crisis_html)(plan, size)
    return _key(plan, kind, html, size), _renderer(kind, html, size)


def _key(plan: CarePlan, kind: str, html: str, size: PrintSize) -> tuple:
    return (plan.id, _variant(kind, size), str(get_locale()), fingerprint(html))


def _renderer(kind: str, html: str, size: PrintSize) -> Callable[[], bytes]:
    large = size != PrintSize.STANDARD  # easy read is in large print too
    return lambda: render_pdf(html, one_page=kind == CRISIS and not large, large=large)


def _cached(plan: CarePlan, kind: str, html: str, size: PrintSize) -> bytes:
    key = _key(plan, kind, html, size)
    store = pdf_cache()
    data = store.get(key)
    if data is None:
        data = fetch_or_render(key, _renderer(kind, html, size), plan.patient_id)
        store.put(key, data)
    return data


def _variant(kind: str, size: PrintSize) -> str:
    return kind if size == PrintSize.STANDARD else f"{kind}-{size}"


def rendered_sizes(plan_id: int, kind: str) -> tuple[int | None, ...]:
    """The sizes every print of the document was last rendered at, in this language (what the
    hints beside its links say): the plan page's kept body changes when they do."""
    locale = str(get_locale())
    return tuple(pdf_cache().last_size(plan_id, _variant(kind, s), locale) for s in PrintSize)


def size_hint(plan_id: int, kind: str, size: PrintSize = PrintSize.STANDARD) -> str:
    """ "PDF" or "PDF, 84 KB" for a download link, from the latest rendering if any."""
    found = pdf_cache().last_size(plan_id, _variant(kind, size), str(get_locale()))
    if not found:
        return gettext("PDF")
    return gettext("PDF, %(size)s KB", size=max(1, round(found / 1024)))


def download_name(kind: str, size: PrintSize = PrintSize.STANDARD) -> str:
    if kind == EASY_READ:
        return "crisis-plan-easy-read.pdf"
    name = "crisis-sheet" if kind == CRISIS else "care-plan"
    if size == PrintSize.EASY_READ:
        return f"{name}-easy-read.pdf"
    return f"{name}-large-print.pdf" if size == PrintSize.LARGE else f"{name}.pdf"


# --------------------------------------------------------------------------- #
# WeasyPrint
# --------------------------------------------------------------------------- #


_fonts = threading.local()


def _font_config() -> FontConfiguration:
    """One font configuration per thread: loading the fonts anew costs ~30 ms a render.

    The portal declares no ``@font-face`` (system Noto fonts only), so nothing a document
    contains is ever added to it.
    """
    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
    return config


@cache
def _base_stylesheet(static_folder: str, path: str = STYLESHEET) -> CSS:
    """A stylesheet of ``static/`` (``css/pdf.css`` by default), parsed once per process
    (through the fetcher, like the rest)."""
    url_fetcher = StaticOnlyFetcher(static_folder)
    return CSS(url=url_fetcher.base_url + path, url_fetcher=url_fetcher)


@lru_cache(maxsize=64)
def _inline_stylesheet(static_folder: str, text: str) -> CSS:
    """A rule the portal writes itself (footer per language, sheet density), parsed once."""
    return CSS(string=text, url_fetcher=StaticOnlyFetcher(static_folder))


class _CollectorPause:
    """Python's cyclic garbage collector off during a render, then one sweep of what it left.

    A render allocates a few hundred thousand objects that live until it ends, so the
    collector would run dozens of times meanwhile, and over the whole heap several times,
    freeing almost nothing: a fifth of a render's CPU time. Paused, everything the render
    allocated stays in the youngest generation and one collection of that generation frees
    it. The switch is process-wide: with renders in several threads the collector resumes
    when the last one ends, and it stays off if something else had turned it off.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._renders = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if not self._renders:
                self._resume = gc.isenabled()
                gc.disable()
            self._renders += 1

    def __exit__(self, *_exc) -> None:
        with self._lock:
            self._renders -= 1
            resume = self._resume and not self._renders
            if resume:
                gc.enable()
        if resume:
            gc.collect(0)


_collector_paused = _CollectorPause()


def css_string(text: str) -> str:
    """A CSS string literal holding ``text``: anything but letters, digits and spaces escaped.

    Each escape ends with a space, which CSS reads as the end of the escape: without it a
    space after an escaped character (a vowel sign in "ਪੰਨਾ 1 / 1") would be swallowed.
    """
    return (
        '"' + "".join(ch if ch.isalnum() or ch == " " else f"\\{ord(ch):06x} " for ch in text) + '"'
    )


def page_numbers_css() -> str:
    """The "Page X of Y" footer in the reader's language, with CSS page counters."""
    pattern = gettext("Page %(page)s of %(pages)s")
    parts = []
    for piece in re.split(r"(%\(pages?\)s)", pattern):
        if piece == "%(page)s":
            parts.append("counter(page)")
        elif piece == "%(pages)s":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return "@page { @bottom-center { content: %s; } }" % " ".join(parts)  # noqa: UP031


class RenderRefused(Exception):
    """The document would take longer (``TOO_SLOW``) or run longer (``TOO_LONG``) than allowed."""

    TOO_SLOW = "too slow"
    TOO_LONG = "too long"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def render_pdf(html: str, *, one_page: bool = False, large: bool = False) -> bytes:
    """Lay out ``html`` and write the PDF. ``one_page`` tightens the type until it fits;
    ``large`` adds the large-print stylesheet (which is never tightened).

    The layout runs in the worker's low-priority render thread (``portal.pdf.priority``);
    everything that needs the request (the app, the locale) is read here first. Raises
    ``RenderRefused`` past ``PDF_RENDER_SECONDS`` or ``PDF_MAX_PAGES``.
    """
    config = current_app.config
    static_folder = current_app.static_folder
    stylesheets = [
        _base_stylesheet(static_folder),
        _inline_stylesheet(static_folder, page_numbers_css()),
    ]
    if large:
        stylesheets.append(_base_stylesheet(static_folder, LARGE_STYLESHEET))
    renderer = current_app.extensions["pdf_renderer"]
    try:
        return renderer.run(
            _lay_out,
            html,
            static_folder,
            stylesheets,
            one_page,
            config["PDF_MAX_PAGES"],
            timeout=config["PDF_RENDER_SECONDS"],
        )
    except TimeoutError:
        raise RenderRefused(RenderRefused.TOO_SLOW) from None


def _lay_out(
    html: str, static_folder: str, stylesheets: list[CSS], one_page: bool, max_pages: int
) -> bytes:
    with _collector_paused:
        # Only the bytes outlive the call below: the document's styles and boxes are garbage by
        # the time the collector sweeps, so they are freed there, not promoted to a generation
        # that is seldom swept (which grew a process by about 1.4 MB a render). A refusal's
        # traceback would hold them too, so it is raised again once the sweep is done.
        try:
            return _write(html, static_folder, stylesheets, one_page, max_pages)
        except RenderRefused as refused:
            reason = refused.reason
    raise RenderRefused(reason)


def _write(
    html: str, static_folder: str, stylesheets: list[CSS], one_page: bool, max_pages: int
) -> bytes:
    url_fetcher = StaticOnlyFetcher(static_folder)
    document = HTML(string=html, base_url=url_fetcher.base_url, url_fetcher=url_fetcher)
    densities = list(SHEET_DENSITIES if one_page else SHEET_DENSITIES[:1])
    while densities:
        rule, paths = densities.pop(0)
        extra = [_base_stylesheet(static_folder, path) for path in paths]
        if rule:
            extra.append(_inline_stylesheet(static_folder, rule))
        rendered = document.render(
            stylesheets=stylesheets + extra, font_config=_font_config(), **PDF_OPTIONS
        )
        pages = len(rendered.pages)
        if pages == 1:
            break
        if pages >= FAR_FROM_FITTING:
            densities = [d for d in densities if COMPACT_SHEET in d[1]]
    if len(rendered.pages) > max_pages:  # not written: writing costs as much again
        raise RenderRefused(RenderRefused.TOO_LONG)
    return rendered.write_pdf(**PDF_OPTIONS)
