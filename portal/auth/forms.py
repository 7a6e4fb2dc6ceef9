from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from portal.auth.passwords import MAX_LENGTH, StrongPassword


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter your email address")),
            Length(max=254, message=_l("Email address must be 254 characters or fewer")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Enter your password")),
            Length(max=MAX_LENGTH, message=_l("Password must be 128 characters or fewer")),
        ],
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Security code"),
        validators=[
            DataRequired(_l("Enter the 6-digit code from your authenticator app")),
            Length(max=20, message=_l("Enter the 6-digit code from your authenticator app")),
        ],
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Enter your password")),
            Length(max=MAX_LENGTH, message=_l("Password must be 128 characters or fewer")),
        ],
    )


EMAIL_FORMAT = _l("Enter an email address in the correct format, like name@example.com")


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter your email address")),
            Length(max=254, message=_l("Email address must be 254 characters or fewer")),
            Email(EMAIL_FORMAT),
        ],
    )


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
            Length(max=MAX_LENGTH, message=_l("Password must be 128 characters or fewer")),
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
