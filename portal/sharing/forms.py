"""Forms for inviting carers, changing their access, consent and carer sign-up."""

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from portal import labels
from portal.auth.forms import new_password_fields
from portal.fields import DateInputField, PortalForm
from portal.models import Scope


class NotInPast:
    """Refuse a date before today: an end date in the past would end access at once."""

    def __call__(self, form, field):
        if field.data is not None and field.data < date.today():
            raise ValidationError(_l("End date must be today or in the future"))


SCOPE_CHOICES = [SelectChoice(scope.value, labels.SCOPES[scope]) for scope in Scope]


def _scope_field():
    return RadioField(
        _l("What can they see?"),
        choices=SCOPE_CHOICES,
        validators=[InputRequired(_l("Choose what this person can see"))],
    )


def _end_date_field():
    return DateInputField(_l("End date"), validators=[NotInPast()])


class InviteForm(PortalForm):
    email = EmailField(
        _l("Their email address"),
        filters=[lambda value: value.strip() if value else value],
        validators=[
            DataRequired(_l("Enter their email address")),
            Length(max=254, message=_l("The email address must be 254 characters or fewer")),
            Email(
                message=_l("Enter an email address in the correct format, like name@example.com"),
                check_deliverability=False,
            ),
        ],
    )
    relationship = StringField(
        _l("How are they related to you?"),
        validators=[
            DataRequired(_l("Enter how this person is related to you, like son or friend")),
            Length(max=100, message=_l("This must be 100 characters or fewer")),
        ],
    )
    scope = _scope_field()
    end_date = _end_date_field()
    # Choices are the portal's languages (set in the view); an unknown value falls back to
    # the patient's own language in the service rather than failing the form.
    invitation_language = SelectField(
        _l("Which language should the invitation email be in?"),
        validators=[Optional()],
        validate_choice=False,
    )


class GrantForm(PortalForm):
    scope = _scope_field()
    end_date = _end_date_field()


class ConsentForm(PortalForm):
    share = RadioField(
        _l("Do you agree to share your care plan with your care team?"),
        choices=[
            SelectChoice("yes", _l("Yes, share my plan with my care team")),
            SelectChoice("no", _l("No")),
        ],
        validators=[InputRequired(_l("Choose yes or no"))],
    )


class CarerAccountForm(PortalForm):
    display_name = StringField(
        _l("Your full name"),
        validators=[
            DataRequired(_l("Enter your full name")),
            Length(max=200, message=_l("Your name must be 200 characters or fewer")),
        ],
    )
    password, confirm = new_password_fields(
        lambda form: (form.invited_email, form.display_name.data),
        label=_l("Create a password"),
        required=_l("Enter a password"),
        again=_l("Type the password again"),
        again_required=_l("Type your password again"),
    )

    invited_email = ""  # set by the view: the password must not contain it


class ConfirmForm(PortalForm):
    """A button and its CSRF token: accept an invitation, stop sharing, give up access."""
