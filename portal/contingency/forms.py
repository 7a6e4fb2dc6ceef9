"""Forms for the crisis plan, the usual state of health, contacts and the care team.

Every field has a length limit that matches its column and a message saying what to fix.
Text is trimmed and Windows line endings are folded, so the limit counts what the person sees.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, Optional

from portal import labels
from portal.contingency.services import MEMBER_FIELDS
from portal.fields import seen_version
from portal.limits import (
    CONTACT_DETAIL_LIMIT,
    CONTACT_NAME_LIMIT,
    CRISIS_ACTIONS_LIMIT,
    CRISIS_SIGNS_LIMIT,
    CRISIS_WHO_LIMIT,
    LOCATION_LIMIT,
    MEDICINES_LIMIT,
    USUAL_STATE_LIMIT,
)
from portal.models import ContactKind, CrisisLevel
from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT
from portal.phone import MAX_LENGTH as PHONE_LIMIT
from portal.phone import PhoneNumber
from portal.versions.services import FIELDS as SNAPSHOT_FIELDS


def clean(value):
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    return value


def _text(field_class, label, limit: int, too_long, required=None, more=()):
    """A trimmed text field with its length limit, and a message when it is required."""
    validators = [DataRequired(message=required)] if required else []
    validators.append(Length(max=limit, message=too_long))
    return field_class(label, filters=[clean], validators=[*validators, *more])


def _long_text(label, too_long, required=None, limit: int = TEXT_LIMIT):
    """Free text of a paragraph or more, up to the limit of a text column (or ``limit``)."""
    return _text(TextAreaField, label, limit, too_long, required=required)


def _choice(field_class, label, choices, allowed, message):
    """A choice that must be made: nothing chosen and a value not offered get one message."""
    return field_class(
        label,
        choices=choices,
        validate_choice=False,
        validators=[InputRequired(message=message), AnyOf(allowed, message=message)],
    )


def _phone(label, required=None):
    """A phone number: the same limit and format check wherever one is asked for."""
    return _text(
        StringField,
        label,
        PHONE_LIMIT,
        _l("Phone number must be %(max)d characters or fewer"),
        required=required,
        more=[PhoneNumber()],
    )


class VersionedForm(FlaskForm):
    """Carries the version the form was read at, so a stale save is caught, not lost.

    ``FIELDS``, what a form proposes, are the fields an agreed version keeps of that part.
    """

    version = HiddenField()

    def seen_version(self) -> int | None:
        return seen_version(self.version.data)


class CrisisStepForm(VersionedForm):
    level = _choice(
        RadioField,
        _l("How urgent is it?"),
        [
            SelectChoice(CrisisLevel.RED.value, _l("Emergency: call 999")),
            SelectChoice(CrisisLevel.AMBER.value, _l("Urgent: get help the same day")),
            SelectChoice(CrisisLevel.GREEN.value, _l("Non-urgent: keep an eye on it")),
        ],
        [c.value for c in CrisisLevel],
        _l("Choose how urgent it is"),
    )
    signs = _long_text(
        _l("Signs to look for"),
        _l("Signs to look for must be %(max)d characters or fewer"),
        required=_l("Enter the signs to look for"),
        limit=CRISIS_SIGNS_LIMIT,
    )
    actions = _long_text(
        _l("What to do"),
        _l("What to do must be %(max)d characters or fewer"),
        required=_l("Enter what to do"),
        limit=CRISIS_ACTIONS_LIMIT,
    )
    who_to_call = _text(
        StringField,
        _l("Who to contact (optional)"),
        CRISIS_WHO_LIMIT,
        _l("Who to contact must be %(max)d characters or fewer"),
    )

    FIELDS = SNAPSHOT_FIELDS["crisis_steps"]


class UsualStateForm(VersionedForm):
    mobility = _long_text(
        _l("Mobility"),
        _l("Mobility must be %(max)d characters or fewer"),
        limit=USUAL_STATE_LIMIT,
    )
    breathing = _long_text(
        _l("Breathing"),
        _l("Breathing must be %(max)d characters or fewer"),
        limit=USUAL_STATE_LIMIT,
    )
    memory_understanding = _long_text(
        _l("Memory and understanding"),
        _l("Memory and understanding must be %(max)d characters or fewer"),
        limit=USUAL_STATE_LIMIT,
    )
    usual_readings = _long_text(
        _l("Usual readings"),
        _l("Usual readings must be %(max)d characters or fewer"),
        limit=USUAL_STATE_LIMIT,
    )
    communication = _long_text(
        _l("Communication"),
        _l("Communication must be %(max)d characters or fewer"),
        limit=USUAL_STATE_LIMIT,
    )
    medicines = _long_text(
        _l("Medicines"),
        _l("Medicines must be %(max)d characters or fewer"),
        limit=MEDICINES_LIMIT,
    )
    allergies = _long_text(
        _l("Allergies"),
        _l("Allergies must be %(max)d characters or fewer"),
        limit=MEDICINES_LIMIT,
    )
    respect_form_location = _text(
        StringField,
        _l("Where the ReSPECT form is kept"),
        LOCATION_LIMIT,
        _l("Where the ReSPECT form is kept must be %(max)d characters or fewer"),
    )
    dnacpr_location = _text(
        StringField,
        _l("Where the DNACPR decision is kept"),
        LOCATION_LIMIT,
        _l("Where the DNACPR decision is kept must be %(max)d characters or fewer"),
    )
    lpa_location = _text(
        StringField,
        _l("Where the lasting power of attorney is kept"),
        LOCATION_LIMIT,
        _l("Where the lasting power of attorney is kept must be %(max)d characters or fewer"),
    )
    rescue_medication_location = _text(
        StringField,
        _l("Where the rescue medication is kept"),
        LOCATION_LIMIT,
        _l("Where the rescue medication is kept must be %(max)d characters or fewer"),
    )

    FIELDS = SNAPSHOT_FIELDS["usual_state"]


class ContactForm(VersionedForm):
    kind = _choice(
        SelectField,
        _l("Who is this?"),
        [SelectChoice("", _l("Choose one"))]
        + [SelectChoice(k.value, v) for k, v in labels.CONTACT_KINDS.items()],
        [k.value for k in ContactKind],
        _l("Choose who this contact is"),
    )
    name = _text(
        StringField,
        _l("Name"),
        CONTACT_NAME_LIMIT,
        _l("Name must be %(max)d characters or fewer"),
        required=_l("Enter the name of the person or service"),
    )
    relationship_to_patient = _text(
        StringField,
        _l("Relationship (optional)"),
        CONTACT_DETAIL_LIMIT,
        _l("Relationship must be %(max)d characters or fewer"),
    )
    phone = _phone(_l("Phone number"), required=_l("Enter a phone number"))
    when_to_call = _text(
        StringField,
        _l("When to call (optional)"),
        CONTACT_DETAIL_LIMIT,
        _l("When to call must be %(max)d characters or fewer"),
    )

    FIELDS = SNAPSHOT_FIELDS["contacts"]


class CareTeamMemberForm(VersionedForm):
    name = _text(
        StringField,
        _l("Name"),
        SHORT_LIMIT,
        _l("Name must be %(max)d characters or fewer"),
        required=_l("Enter their name"),
    )
    role = _text(
        StringField,
        _l("Role"),
        120,
        _l("Role must be %(max)d characters or fewer"),
        required=_l("Enter their role, for example community matron"),
    )
    organisation = _text(
        StringField,
        _l("Organisation (optional)"),
        SHORT_LIMIT,
        _l("Organisation must be %(max)d characters or fewer"),
    )
    phone = _phone(_l("Phone number (optional)"))
    email = _text(
        EmailField,
        _l("Email address (optional)"),
        254,
        _l("Email address must be %(max)d characters or fewer"),
        more=[
            Optional(),
            Email(
                message=_l("Enter an email address in the correct format, like name@example.org")
            ),
        ],
    )
    availability = _text(
        StringField,
        _l("When they can be reached (optional)"),
        SHORT_LIMIT,
        _l("When they can be reached must be %(max)d characters or fewer"),
    )

    FIELDS = MEMBER_FIELDS
