"""Who writes a section of the plan, and how it counts.

Patients and contributing carers write proposals for the review. A professional of the care
team writes with the patient in clinic, and says for each save whether it was agreed with
the patient there and then, or is her own proposal, to agree at the review meeting. The
same forms serve both: the professional's carry one more choice.
"""

from collections.abc import Callable
from datetime import date, time
from enum import StrEnum

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import BooleanField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired

from portal.bidi import ltr_date
from portal.i18n import format_date
from portal.permissions import Access, with_patient
from portal.sections import SECTIONS
from portal.versions.labels import SECTIONS as TITLES


class RecordedAs(StrEnum):
    AGREED = "agreed"  # agreed with the patient now, in clinic
    PROPOSAL = "proposal"  # the professional's proposal, agreed at the review meeting


_CHOOSE = _l("Choose whether this was agreed with the patient now or is your proposal")


def _recorded_as() -> RadioField:
    return RadioField(
        _l("How is this recorded?"),
        choices=[
            SelectChoice(RecordedAs.AGREED.value, _l("Agreed with the patient now")),
            SelectChoice(
                RecordedAs.PROPOSAL.value, _l("My proposal, to agree at the review meeting")
            ),
        ],
        default=RecordedAs.AGREED.value,
        validate_choice=False,
        validators=[InputRequired(_CHOOSE), AnyOf([r.value for r in RecordedAs], _CHOOSE)],
    )


_IN_CLINIC: dict[type, type] = {}


def form_for(form_class: type, access: Access) -> type:
    """The section's form, with the professional's choice when she writes with the patient."""
    if not with_patient(access):
        return form_class
    if form_class not in _IN_CLINIC:
        _IN_CLINIC[form_class] = type(
            f"{form_class.__name__}InClinic",
            (form_class,),
            {
                "recorded_as": _recorded_as(),
                # Asked on the read-back page only (``read_back``).
                "patient_agrees": BooleanField(_l("The patient has heard or read this and agrees")),
            },
        )
    return _IN_CLINIC[form_class]


def agreed_with_patient(form, access: Access) -> bool:
    """Saved as agreed with the patient: a professional in clinic who said so."""
    return with_patient(access) and form.recorded_as.data == RecordedAs.AGREED


# The read-back page's two buttons post the form again with this name: "confirm" saves once
# the confirmation is ticked, "change" shows the section's form again with everything kept.
READ_BACK = "read_back"
CONFIRM, CHANGE = "confirm", "change"
_NOT_READ_BACK = {"csrf_token", READ_BACK, "patient_agrees"}


def read_back(form, access: Access, title: str, form_page: Callable[[], object]):
    """H14: what a professional is about to save as agreed with the patient, read back first.

    Call after the form validated. Returns ``None`` when the save may go on (not agreed now,
    or agreed and confirmed), else what to answer instead: the read-back page (again, with an
    error, when the confirmation was not ticked), or ``form_page()``, the section's form with
    everything typed, when the professional chose to change it. Nothing is saved before.
    """
    if not agreed_with_patient(form, access):
        return None
    step = request.form.get(READ_BACK)
    if step == CHANGE:
        return form_page()
    if step == CONFIRM:
        if form.patient_agrees.data:
            return None
        form.patient_agrees.errors = [
            _("Confirm that the patient has heard or read this and agrees, or change it")
        ]
    else:
        form.patient_agrees.data = False  # never ticked before the page is read
    page = render_template(
        "authorship/read_back.html",
        access=access,
        patient=access.patient,
        form=form,
        title=title,
        rows=read_back_rows(form),
        kept=[(k, v) for k, v in request.form.items(multi=True) if k not in _NOT_READ_BACK],
    )
    return page, 200


def section_title(item) -> str:
    """The name of the plan's section an item belongs to, as the version history names it."""
    return str(next(TITLES[s.key] for s in SECTIONS if isinstance(item, s.model)))


def read_back_rows(form) -> list[tuple[str, str]]:
    """Each field as it will be saved: its label and the value as typed ("" when empty)."""
    rows = []
    for field in form:
        if field.name in _NOT_READ_BACK or field.name == "recorded_as":
            continue
        if field.type in ("HiddenField", "CSRFTokenField"):
            continue
        rows.append((str(field.label.text), _as_typed(field)))
    return rows


def _as_typed(field) -> str:
    data = field.data
    if field.type in ("RadioField", "SelectField"):
        return next((str(label) for value, label, chosen, *_ in field.iter_choices() if chosen), "")
    if field.type == "BooleanField":
        return _("Yes") if data else _("No")
    if isinstance(data, date):
        return format_date(data, "long")
    if isinstance(data, time):
        return data.strftime("%H:%M")
    return "" if data is None else str(data)


def saved_in_clinic(form, access: Access) -> str:
    """What the professional is told once she saved with the patient."""
    if agreed_with_patient(form, access):
        return _("Saved as agreed with %(name)s.", name=access.patient.full_name)
    return _("Saved as your proposal. Agree it with the patient when you record the review.")


def written_with(item) -> Markup:
    """"Written with the patient by <name> on <date>" for an agreed item a professional wrote
    in clinic, else empty: one wording for the plan and crisis pages and both PDFs.

    Agreed entries read back from a snapshot carry no author, so they say nothing."""
    if not getattr(item, "written_with_patient", False) or item.pending_review:
        return Markup("")  # decided before the author is loaded: most items need no name
    by = getattr(item, "updated_by", None)
    if by is None:
        return Markup("")
    # The message alone, then the values: a date in digits is HTML (``ltr_date``).
    wording = escape(_("Written with the patient by %(name)s on %(date)s"))
    return wording % {
        "name": by.display_name,
        "date": ltr_date(format_date(item.updated_at, "long")),
    }
