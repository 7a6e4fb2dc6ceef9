"""Create your account: the code with the patient's details, then email and password."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Email, Length

from portal.auth.forms import EMAIL_FORMAT, email_field, new_password_fields
from portal.fields import DateInputField, PortalForm, clean_text, nhs_number_field


class CodeForm(PortalForm):
    code = StringField(
        _l("Activation code"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Enter the activation code from your letter or email")),
            Length(max=40, message=_l("Enter the activation code from your letter or email")),
        ],
    )
    nhs_number = nhs_number_field(_l("Enter your NHS number"), check=False)
    date_of_birth = DateInputField(
        _l("Date of birth"), required_message=_l("Enter your date of birth")
    )


class AccountForm(PortalForm):
    """``name`` is the patient's name, which the password must not contain (set by the view)."""

    name = ""
    email = email_field(_l("Email address"), _l("Enter your email address"), Email(EMAIL_FORMAT))
    password, confirm = new_password_fields(lambda form: (form.email.data, form.name))
