"""Forms for the register: the file upload, its confirmation, one person added by hand."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from portal import labels
from portal.conditions import CONDITIONS
from portal.fields import CheckboxesField, DateInputField, PortalForm, clean_text, nhs_number_field
from portal.register.rows import NAME_LIMIT, OLDEST


class UploadForm(PortalForm):
    file = FileField(
        _l("Register file (CSV)"), validators=[FileRequired(_l("Choose the register file"))]
    )


class ConfirmForm(PortalForm):
    """Nothing to fill in: the form carries the CSRF token."""


def conditions_field() -> CheckboxesField:
    """The Appendix 1 conditions as checkboxes, at least one."""
    return CheckboxesField(
        _l("Long-term conditions"),
        choices=[SelectChoice(c.code, c.label) for c in CONDITIONS],
        validators=[DataRequired(_l("Select at least one long-term condition"))],
        invalid_choice_message=_l("Select long-term conditions from the list"),
    )


def choice_field(label, names: dict, message) -> RadioField:
    """Radios for a coded value, from its translated names; ``message`` when none is chosen."""
    return RadioField(
        label,
        choices=[SelectChoice(code.value, name) for code, name in names.items()],
        validators=[InputRequired(message)],
        invalid_choice_message=message,
    )


def _plausible_birth(form, field):
    born = field.data
    if born and (born > date.today() or born.year < date.today().year - OLDEST):
        raise ValidationError(_l("Date of birth must be a real date in the past"))


def _not_future(form, field):
    if field.data and field.data > date.today():
        raise ValidationError(_l("The date must be today or in the past"))


def _past_date_field(label, required=None) -> DateInputField:
    """A date that has happened (registered, offered, answered, assessed); ``required`` is
    the message when it is left out, none when it may be."""
    return DateInputField(label, required_message=required, validators=[_not_future])


def _name_field(label, required):
    return StringField(
        label,
        filters=[clean_text],
        validators=[
            DataRequired(required),
            Length(max=NAME_LIMIT, message=_l("Names must be 100 characters or fewer")),
        ],
    )


class PatientForm(PortalForm):
    nhs_number = nhs_number_field(_l("Enter their NHS number"))
    given_name = _name_field(_l("Given name"), _l("Enter their given name"))
    family_name = _name_field(_l("Family name"), _l("Enter their family name"))
    date_of_birth = DateInputField(
        _l("Date of birth"),
        required_message=_l("Enter their date of birth"),
        validators=[_plausible_birth],
    )
    sex = RadioField(
        _l("Sex"),
        choices=[SelectChoice(code, label) for code, label in labels.SEXES.items()],
        validators=[InputRequired(_l("Select their sex"))],
        invalid_choice_message=_l("Select their sex"),
    )
    conditions = conditions_field()
    registered_on = _past_date_field(
        _l("Registered with the practice on"),
        _l("Enter the date they registered with the practice"),
    )


class OfferForm(PortalForm):
    method = choice_field(
        _l("How was the care plan offered?"),
        labels.OFFER_METHODS,
        _l("Select how the care plan was offered"),
    )
    offered_on = _past_date_field(
        _l("Date offered"), _l("Enter the date the care plan was offered")
    )


class OutcomeForm(PortalForm):
    outcome = choice_field(
        _l("What did the patient say?"),
        labels.OFFER_OUTCOMES,
        _l("Select the patient's answer"),
    )
    outcome_on = _past_date_field(_l("Date of the answer"), _l("Enter the date of the answer"))
    reason = TextAreaField(
        _l("Reason for declining (optional)"),
        filters=[clean_text],
        validators=[Length(max=500, message=_l("The reason must be 500 characters or fewer"))],
    )


class DetailsForm(PortalForm):
    """What staff may correct; ``preferred_language`` choices are the portal's languages."""

    initial_assessment_date = _past_date_field(_l("Date of the initial assessment (optional)"))
    conditions = conditions_field()
    preferred_language = SelectField(
        _l("Preferred language"),
        invalid_choice_message=_l("Select a language from the list"),
    )
    interpreter_needed = BooleanField(_l("Needs an interpreter"))
    communication_needs = TextAreaField(
        _l("Communication needs (optional)"),
        filters=[clean_text],
        validators=[
            Length(max=1000, message=_l("Communication needs must be 1,000 characters or fewer"))
        ],
    )
    ethnicity_category = SelectField(
        _l("Ethnic group"),
        choices=[SelectChoice(code, label) for code, label in labels.ETHNICITIES.items()],
        invalid_choice_message=_l("Select an ethnic group from the list"),
    )
