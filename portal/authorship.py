"""Who writes a section of the plan, and how it counts.

Patients and contributing carers write proposals for the review. A professional of the care
team writes with the patient in clinic, and says for each save whether it was agreed with
the patient there and then, or is her own proposal, to agree at the review meeting. The
same forms serve both: the professional's carry one more choice.
"""

from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired

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
