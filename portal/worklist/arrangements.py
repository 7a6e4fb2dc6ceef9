"""What a professional records with a patient who does not go online: consent given in
person or on paper, the format they want their plan in, the print its copies need (standard
or large), and the paper copy handed over."""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Optional, ValidationError

from portal import audit
from portal.extensions import db
from portal.fields import DateInputField, PortalForm, print_size_field
from portal.models import CarePlan, ConsentMethod, Patient, PlanFormat, PrintSize, User
from portal.pdf.services import record_print_size
from portal.sharing.services import record_consent

RECORDED_BY_STAFF = (ConsentMethod.IN_PERSON, ConsentMethod.PAPER)


class ArrangementsForm(PortalForm):
    decision = RadioField(
        _l("Has the patient told you their choice about sharing their plan with the practice?"),
        choices=[
            SelectChoice("", _l("No change")),
            SelectChoice("share", _l("They agree to share it with their care team")),
            SelectChoice("object", _l("They object: the practice must not see their plan")),
        ],
        default="",
        validators=[Optional(), AnyOf(["", "share", "object"])],
        validate_choice=False,
    )
    method = RadioField(
        _l("How did they tell you?"),
        choices=[
            SelectChoice(ConsentMethod.IN_PERSON.value, _l("In person or by phone")),
            SelectChoice(ConsentMethod.PAPER.value, _l("On a signed paper form")),
        ],
        validate_choice=False,  # checked with the decision it belongs to
    )
    preferred_format = RadioField(
        _l("How would they like their plan?"),
        choices=[
            SelectChoice(PlanFormat.ELECTRONIC.value, _l("Online, in this portal")),
            SelectChoice(PlanFormat.PAPER.value, _l("On paper")),
        ],
        validators=[
            AnyOf(
                [f.value for f in PlanFormat], message=_l("Choose how they would like their plan")
            )
        ],
        validate_choice=False,
    )
    print_size = print_size_field(
        _l("Which print do they need for printed copies?"), required=False
    )
    paper_copy_given_on = DateInputField(_l("Date a paper copy was handed over (optional)"))

    def validate_method(self, field):
        if self.decision.data and field.data not in RECORDED_BY_STAFF:
            raise ValidationError(_l("Choose how the patient told you their choice"))

    def validate_paper_copy_given_on(self, field):
        if field.data and field.data > date.today():
            raise ValidationError(
                _l("The date the paper copy was handed over must be today or in the past")
            )


@dataclass(frozen=True)
class Arrangements:
    share: bool | None  # None: no new decision
    method: ConsentMethod | None
    preferred_format: PlanFormat
    paper_copy_given_on: date | None
    print_size: PrintSize | None = None  # None: as recorded


def record(plan: CarePlan, patient: Patient, user: User, chosen: Arrangements) -> None:
    """Save what changed, each change audited; commits."""
    if plan.preferred_format != chosen.preferred_format:
        plan.preferred_format = chosen.preferred_format
        audit.record("plan.preferred_format", patient.id, f"plan {plan.id}")
    if chosen.print_size is not None:
        record_print_size(patient, chosen.print_size)
    if chosen.paper_copy_given_on and plan.paper_copy_given_on != chosen.paper_copy_given_on:
        plan.paper_copy_given_on = chosen.paper_copy_given_on
        audit.record("plan.paper_copy", patient.id, f"plan {plan.id}")
    if chosen.share is None or not record_consent(patient, chosen.share, user, chosen.method):
        db.session.commit()  # record_consent commits when it records a decision
