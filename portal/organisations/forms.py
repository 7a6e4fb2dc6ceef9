"""Forms for proposing a care team member, and for urgent care's emergency access."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from portal import labels
from portal.fields import DateInputField, PortalForm, nhs_number_field
from portal.models import EmergencyReason
from portal.sharing.forms import SCOPE_CHOICES, NotInPast


def _whole_number(value):
    return int(value) if str(value or "").isdigit() else None


class ProposeMemberForm(PortalForm):
    """Choices are set by the view from the organisations and their staff."""

    organisation = SelectField(
        _l("Organisation"),
        coerce=_whole_number,
        validators=[InputRequired(_l("Choose the organisation"))],
    )
    professional = SelectField(
        _l("Professional"), coerce=_whole_number, validate_choice=False
    )
    scope = RadioField(
        _l("What can they see?"),
        choices=SCOPE_CHOICES,
        validators=[InputRequired(_l("Choose what they can see"))],
    )
    end_date = DateInputField(_l("End date"), validators=[NotInPast()])
    spoken_consent = BooleanField(_l("The patient has told me they agree"))

    def validate_organisation(self, field):
        if field.data not in {choice[0] for choice in self.organisation.choices}:
            raise ValidationError(_l("Choose the organisation"))


class EmergencySearchForm(PortalForm):
    nhs_number = nhs_number_field(_l("Enter the NHS number"))
    date_of_birth = DateInputField(
        _l("Date of birth"), required_message=_l("Enter the date of birth")
    )


REASON_CHOICES = [
    SelectChoice(reason.value, labels.EMERGENCY_REASONS[reason]) for reason in EmergencyReason
]


class EmergencyReasonForm(PortalForm):
    reason = RadioField(
        _l("Why do you need to see this crisis plan?"),
        choices=REASON_CHOICES,
        validators=[InputRequired(_l("Choose why you need to see the crisis plan"))],
    )
    reason_text = StringField(
        _l("In your own words"),
        validators=[Length(max=200, message=_l("This must be 200 characters or fewer"))],
    )

    def validate_reason_text(self, field):
        if self.reason.data == EmergencyReason.OTHER and not field.data:
            raise ValidationError(_l("Say why you need to see the crisis plan"))
