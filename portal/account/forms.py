from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from portal.auth.forms import EMAIL_FORMAT, new_password_fields
from portal.auth.passwords import MAX_LENGTH


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ActionForm(FlaskForm):
    """A button on its own: only the CSRF token."""


class NameForm(FlaskForm):
    display_name = StringField(
        _l("Your name"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your name")),
            Length(max=200, message=_l("Your name must be 200 characters or fewer")),
        ],
    )


class EmailForm(FlaskForm):
    email = EmailField(
        _l("New email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your new email address")),
            Length(max=254, message=_l("Email address must be 254 characters or fewer")),
            Email(EMAIL_FORMAT),
        ],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(_l("Enter your current password")),
            Length(max=MAX_LENGTH, message=_l("Password must be 128 characters or fewer")),
        ],
    )
    password, confirm = new_password_fields(
        lambda form: (current_user.email, current_user.display_name)
    )


class MfaCodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[
            DataRequired(_l("Enter the 6-digit code from your authenticator app")),
            Length(max=20, message=_l("Enter the 6-digit code from your authenticator app")),
        ],
    )
