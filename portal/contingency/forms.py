"""Forms for the crisis plan, the usual state of health, contacts and the care team.

Every field has a length limit that matches its column and a message saying what to fix.
Text is trimmed and Windows line endings are folded, so the limit counts what the person sees.
"""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
)

from portal import labels
from portal.contingency.services import MEMBER_FIELDS
from portal.fields import PortalForm, phone_field, seen_version
from portal.models import CallService, ContactKind, CrisisLevel
from portal.models.contingency import CONTACT_CHOICE
from portal.models.plan import SHORT_LIMIT
from portal.section_forms import asks_section
from portal.sections import FIELD_RULES
from portal.versions.services import FIELDS as SNAPSHOT_FIELDS

TEXT_FIELDS = (StringField, TextAreaField, RadioField, SelectField)


def _text(field_class, label, limit: int, too_long, required=None, more=()):
    """A trimmed text field with its length limit, and a message when it is required."""
    validators = [DataRequired(message=required)] if required else []
    validators.append(Length(max=limit, message=too_long))
    return field_class(label, validators=[*validators, *more])


def _choice(field_class, label, choices, allowed, message):
    """A choice that must be made: nothing chosen and a value not offered get one message."""
    return field_class(
        label,
        choices=choices,
        validate_choice=False,
        validators=[InputRequired(message=message), AnyOf(allowed, message=message)],
    )


class _Time(TimeField):
    """A time of day (an ``<input type="time">``), with the portal's own message."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter a time like 08:00 or 18:30"))) from None


class VersionedForm(PortalForm):
    """Carries the version the form was read at, so a stale save is caught, not lost.

    ``FIELDS``, what a form proposes, are the fields an agreed version keeps of that part.
    """

    version = HiddenField()

    def prepare(self, plan) -> None:
        """Choices that depend on the plan (none for most forms)."""

    def changes(self) -> dict:
        """What the form proposes: text fields trimmed to "" when empty, others as typed."""
        return {
            name: (self[name].data or "")
            if isinstance(self[name], TEXT_FIELDS)
            else self[name].data
            for name in self.FIELDS
        }

    def seen_version(self) -> int | None:
        return seen_version(self.version.data)


@asks_section("crisis_steps")
class CrisisStepForm(VersionedForm):
    """A step of the crisis plan: its fields (but the choice of urgency) are built from
    ``portal.sections``; "call" chooses whom the step rings."""

    level = _choice(
        RadioField,
        FIELD_RULES["level"].asked.label,
        [
            SelectChoice(CrisisLevel.RED.value, _l("Emergency: call 999")),
            SelectChoice(CrisisLevel.AMBER.value, _l("Urgent: get help the same day")),
            SelectChoice(CrisisLevel.GREEN.value, _l("Non-urgent: keep an eye on it")),
        ],
        [c.value for c in CrisisLevel],
        FIELD_RULES["level"].asked.required,
    )

    call = SelectField(
        _l("Who to call"),
        # The plan's own contacts are added per plan by ``prepare``; a value not
        # offered (a forged or removed contact) is refused.
        choices=[],
        default="",
        invalid_choice_message=_l("Choose who to call from the list"),
    )

    FIELDS = (*SNAPSHOT_FIELDS["crisis_steps"], "call")

    def prepare(self, plan) -> None:
        """Who can be chosen: nobody, 999, NHS 111, or one of the plan's contacts."""
        contacts = plan.contacts
        self.call.choices = [
            SelectChoice("", _l("Nobody chosen: use the words below")),
            SelectChoice(CallService.EMERGENCY.value, _l("999 (emergency)")),
            SelectChoice(CallService.NHS_111.value, _l("NHS 111 (day and night)")),
            *(
                SelectChoice(f"{CONTACT_CHOICE}{c.id}", f"{c.name} ({c.phone})")
                for c in contacts
                if not c.removal_proposed
            ),
        ]


@asks_section("usual_state")
class UsualStateForm(VersionedForm):
    """The usual state of health and where documents are kept, as ``portal.sections`` asks."""

    FIELDS = SNAPSHOT_FIELDS["usual_state"]


@asks_section("contacts")
class ContactForm(VersionedForm):
    """A contact: its fields (but the choice of kind) from ``portal.sections``, then its hours."""

    kind = _choice(
        SelectField,
        FIELD_RULES["kind"].asked.label,
        [SelectChoice("", _l("Choose one"))]
        + [SelectChoice(k.value, v) for k, v in labels.CONTACT_KINDS.items()],
        [k.value for k in ContactKind],
        FIELD_RULES["kind"].asked.required,
    )
    opens_at = _Time(
        _l("Opens at (optional)"),
        validators=[Optional()],
        render_kw={"step": 60},
    )
    closes_at = _Time(
        _l("Closes at (optional)"),
        validators=[Optional()],
        render_kw={"step": 60},
    )
    weekdays_only = BooleanField(_l("Open on weekdays only (Monday to Friday)"))

    FIELDS = (*SNAPSHOT_FIELDS["contacts"], "opens_at", "closes_at", "weekdays_only")

    def validate(self, extra_validators=None) -> bool:
        """The two times go together (an empty one skips its own field's checks)."""
        valid = super().validate(extra_validators)
        if self.opens_at.errors or self.closes_at.errors:
            return False
        opens, closes = self.opens_at.data, self.closes_at.data
        if (opens is None) != (closes is None):
            message = _l("Enter both the opening and the closing time, or neither")
        elif opens is not None and closes <= opens:
            message = _l("The closing time must be later than the opening time")
        else:
            return valid
        self.closes_at.errors = [*self.closes_at.errors, str(message)]
        return False


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
    phone = phone_field(_l("Phone number (optional)"))
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
