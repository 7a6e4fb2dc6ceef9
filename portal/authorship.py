"""Who writes a section of the plan, and how it counts.

Patients and contributing carers write proposals for the review. A professional of the care
team writes with the patient in clinic, and says for each save whether it was agreed with
the patient there and then, or is her own proposal, to agree at the review meeting. The
same forms serve both: the professional's carry one more choice.
"""

from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired

from portal.bidi import ltr_date
from portal.i18n import format_date
from portal.permissions import Access, with_patient


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
            f"{form_class.__name__}InClinic", (form_class,), {"recorded_as": _recorded_as()}
        )
    return _IN_CLINIC[form_class]


def agreed_with_patient(form, access: Access) -> bool:
    """Saved as agreed with the patient: a professional in clinic who said so."""
    return with_patient(access) and form.recorded_as.data == RecordedAs.AGREED


def saved_in_clinic(form, access: Access) -> str:
    """What the professional is told once she saved with the patient."""
    if agreed_with_patient(form, access):
        return _("Saved as agreed with %(name)s.", name=access.patient.full_name)
    return _("Saved as your proposal. Agree it with the patient when you record the review.")


def written_with(item) -> Markup:
    """"Written with the patient by <name> on <date>" for an agreed item a professional wrote
    in clinic, else empty: one wording for the plan and crisis pages and both PDFs.

    Agreed entries read back from a snapshot carry no author, so they say nothing."""
    by = getattr(item, "updated_by", None)
    if not getattr(item, "written_with_patient", False) or item.pending_review or by is None:
        return Markup("")
    # The message alone, then the values: a date in digits is HTML (``ltr_date``).
    wording = escape(_("Written with the patient by %(name)s on %(date)s"))
    return wording % {
        "name": by.display_name,
        "date": ltr_date(format_date(item.updated_at, "long")),
    }
