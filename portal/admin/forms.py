"""Forms for staff accounts and organisations."""

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from portal import labels
from portal.auth.forms import EMAIL_FORMAT
from portal.fields import PortalForm
from portal.models.organisation import OrganisationKind
from portal.models.user import STAFF_ROLES, Role

# Organisation Data Service codes: GP practices are a letter and five digits (A81001), other
# organisations 3 to 5 letters and digits.
ODS_CODE = re.compile(r"\A[A-Z0-9]{3,6}\Z")
ODS_FORMAT = _l("Enter an ODS code of 3 to 6 capital letters and numbers, like A81001")


def _ods(value):
    """Forgiving: spaces around and lower case are fixed rather than refused."""
    return value.strip().upper() if isinstance(value, str) else value


ROLE_CHOICES = [SelectChoice(r.value, labels.ROLES[r]) for r in Role if r in STAFF_ROLES]


class AccountForm(PortalForm):
    """A staff account; ``version`` is the saved details the form was opened with."""

    display_name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(_l("Enter their full name")),
            Length(max=200, message=_l("Name must be 200 characters or fewer")),
        ],
    )
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter their email address")),
            Length(max=254, message=_l("Email address must be 254 characters or fewer")),
            Email(EMAIL_FORMAT, check_deliverability=False),
        ],
    )
    role = RadioField(
        _l("Role"), choices=ROLE_CHOICES, validators=[InputRequired(_l("Select a role"))]
    )
    organisation = StringField(
        _l("Organisation ODS code"),
        filters=[_ods],
        validators=[Optional(), Regexp(ODS_CODE, message=ODS_FORMAT)],
    )
    job_title = StringField(
        _l("Job title (optional)"),
        validators=[Length(max=120, message=_l("Job title must be 120 characters or fewer"))],
    )
    can_audit = BooleanField(_l("Can run sample audits of their organisation's plans"))
    version = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        one_organisation = (Role.PROFESSIONAL, Role.PRACTICE_ADMIN)
        if self.role.data in one_organisation and not self.organisation.data:
            # Professionals and practice administrators work for one organisation's patients.
            self.organisation.errors.append(_l("Enter the ODS code of their organisation"))
            return False
        return valid


class EditAccountForm(AccountForm):
    email = None  # the person changes their own address, with a confirmation link


class OrganisationForm(PortalForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Enter the organisation's name")),
            Length(max=200, message=_l("Name must be 200 characters or fewer")),
        ],
    )
    ods_code = StringField(
        _l("ODS code"),
        filters=[_ods],
        validators=[
            DataRequired(_l("Enter the ODS code")),
            Regexp(ODS_CODE, message=ODS_FORMAT),
        ],
    )
    # Absent from a post (an older form), the organisation is a GP practice as before.
    kind = RadioField(
        _l("Kind of organisation"),
        choices=[SelectChoice(k.value, labels.ORGANISATION_KINDS[k]) for k in OrganisationKind],
        default=OrganisationKind.GP_PRACTICE.value,
    )
    reply_working_days = StringField(
        _l("Working days to answer a patient's message"),
        validators=[
            DataRequired(_l("Enter the number of working days to answer a patient's message")),
            Regexp(
                re.compile(r"\A(?:[1-9]|10)\Z"),
                message=_l("Enter a whole number of working days from 1 to 10"),
            ),
        ],
    )
    version = HiddenField()


class JoinOrganisationForm(PortalForm):
    """A professional works for a further organisation, named by its ODS code."""

    ods_code = StringField(
        _l("Works for another organisation too (ODS code)"),
        filters=[_ods],
        validators=[DataRequired(_l("Enter the ODS code")), Regexp(ODS_CODE, message=ODS_FORMAT)],
    )


# National RBAC role codes, as CIS2 sends them: R and four or five digits (R8000).
RBAC_ROLE_CODE = re.compile(r"\AR[0-9]{4,5}\Z")


class Cis2RoleForm(PortalForm):
    """One mapping: a national role at an organisation becomes a role in the portal."""

    organisation = StringField(
        _l("Organisation ODS code"),
        filters=[_ods],
        validators=[DataRequired(_l("Enter the ODS code")), Regexp(ODS_CODE, message=ODS_FORMAT)],
    )
    role_code = StringField(
        _l("National role code"),
        filters=[_ods],
        validators=[
            DataRequired(_l("Enter the national role code")),
            Regexp(
                RBAC_ROLE_CODE, message=_l("Enter a role code of R and 4 or 5 numbers, like R8000")
            ),
        ],
    )
    role = RadioField(
        _l("Role in this service"),
        choices=ROLE_CHOICES,
        validators=[InputRequired(_l("Select a role"))],
    )
