from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from portal.auth.passwords import MAX_LENGTH, StrongPassword
from portal.fields import PortalForm

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


class LoginForm(PortalForm):
    email = email_field(_l("Email address"), _l("Enter your email address"))
    password = password_field(_l("Password"), _l("Enter your password"))


class CodeForm(PortalForm):
    code = code_field(_l("Security code"))


class ConfirmPasswordForm(PortalForm):
    password = password_field(_l("Password"), _l("Enter your password"))


class ForgotPasswordForm(PortalForm):
    email = email_field(_l("Email address"), _l("Enter your email address"), Email(EMAIL_FORMAT))


NEW_PASSWORD_WORDS = {
    "label": _l("New password"),
    "required": _l("Enter a new password"),
    "again": _l("Type your new password again"),
    "again_required": _l("Type your new password again"),
}


def new_password_fields(who, **words):
    """The password someone chooses and its confirmation, under the password policy.

    Every form where a password is chosen uses these, so none can forget the policy;
    ``who(form)`` gives the (email, name) the password must not contain.
    """
    words = {**NEW_PASSWORD_WORDS, **words}
    password = PasswordField(
        words["label"], validators=[DataRequired(words["required"]), StrongPassword(who)]
    )
    confirm = PasswordField(
        words["again"],
        validators=[
            DataRequired(words["again_required"]),
            Length(max=MAX_LENGTH, message=PASSWORD_TOO_LONG),
            EqualTo("password", _l("The passwords do not match")),
        ],
    )
    return password, confirm


class ResetPasswordForm(PortalForm):
    """``account`` is the user the reset link belongs to (set by the view)."""

    account = None
    password, confirm = new_password_fields(
        lambda form: (form.account.email, form.account.display_name)
    )
