from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Email, Length

from portal.auth.forms import (
    EMAIL_FORMAT,
    code_field,
    email_field,
    new_password_fields,
    password_field,
)
from portal.fields import PortalForm, print_size_field
from portal.phone import MAX_LENGTH as PHONE_LIMIT
from portal.phone import PhoneNumber


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ActionForm(PortalForm):
    """A button on its own: only the CSRF token."""


class NameForm(PortalForm):
    display_name = StringField(
        _l("Your name"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your name")),
            Length(max=200, message=_l("Your name must be 200 characters or fewer")),
        ],
    )


class EmailForm(PortalForm):
    email = email_field(
        _l("New email address"),
        _l("Enter your new email address"),
        Email(EMAIL_FORMAT),
        filters=[_strip],
    )


class PasswordForm(PortalForm):
    current_password = password_field(_l("Current password"), _l("Enter your current password"))
    password, confirm = new_password_fields(
        lambda form: (current_user.email, current_user.display_name)
    )


class MfaCodeForm(PortalForm):
    code = code_field(_l("Code from your authenticator app"))


class ContactDetailsForm(PortalForm):
    """How patients reach a professional who is their named contact; each part optional."""

    phone = StringField(
        _l("Work phone number (optional)"),
        filters=[_strip],
        validators=[
            Length(
                max=PHONE_LIMIT,
                message=_l("Phone number must be %(max)d characters or fewer"),
            ),
            PhoneNumber(),
        ],
    )
    availability = StringField(
        _l("When patients can reach you (optional)"),
        filters=[_strip],
        validators=[
            Length(
                max=200, message=_l("When patients can reach you must be 200 characters or fewer")
            )
        ],
    )
    team_contact = StringField(
        _l("Who to contact when you are away (optional)"),
        filters=[_strip],
        validators=[Length(max=200, message=_l("Who to contact must be 200 characters or fewer"))],
    )


class PrintSizeForm(PortalForm):
    print_size = print_size_field(_l("How would you like your printed plan and crisis sheet?"))
