from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from portal.auth.passwords import MAX_LENGTH, StrongPassword

EMAIL_FORMAT = _l("Enter an email address in the correct format, like name@example.com")
PASSWORD_TOO_LONG = _l("Password must be 128 characters or fewer")


def email_field(label, required, *more, **options):
    """An email address: required, and no longer than an address can be."""
    return EmailField(
        label,
        validators=[
            DataRequired(required),
            Length(max=254, message=_l("Email address must be 254 characters or fewer")),
            *more,
        ],
        **options,
    )


def password_field(label, required):
    """A password typed to prove who someone is (never checked for strength here)."""
    return PasswordField(
        label,
        validators=[DataRequired(required), Length(max=MAX_LENGTH, message=PASSWORD_TOO_LONG)],
    )


def code_field(label):
    """A code from an authenticator app, or a recovery code."""
    message = _l("Enter the 6-digit code from your authenticator app")
    return StringField(label, validators=[DataRequired(message), Length(max=20, message=message)])


class LoginForm(FlaskForm):
    email = email_field(_l("Email address"), _l("Enter your email address"))
    password = password_field(_l("Password"), _l("Enter your password"))


class CodeForm(FlaskForm):
    code = code_field(_l("Security code"))


class ConfirmPasswordForm(FlaskForm):
    password = password_field(_l("Password"), _l("Enter your password"))


class ForgotPasswordForm(FlaskForm):
    email = email_field(_l("Email address"), _l("Enter your email address"), Email(EMAIL_FORMAT))


def new_password_fields(who):
    """The new password and its confirmation; ``who(form)`` gives (email, name) to refuse."""
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password")), StrongPassword(who)],
    )
    confirm = PasswordField(
        _l("Type your new password again"),
        validators=[
            DataRequired(_l("Type your new password again")),
            Length(max=MAX_LENGTH, message=PASSWORD_TOO_LONG),
            EqualTo("password", _l("The passwords do not match")),
        ],
    )
    return password, confirm


class ResetPasswordForm(FlaskForm):
    """``account`` is the user the reset link belongs to (set by the view)."""

    account = None
    password, confirm = new_password_fields(
        lambda form: (form.account.email, form.account.display_name)
    )
