from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, ValidationError

from portal.compliance import CRITERIA
from portal.fields import PortalForm, whole_number

MAX_SAMPLE = 50
NOTES_LIMIT = 2000


class NewAuditForm(PortalForm):
    size = StringField(
        _l("How many plans to sample"),
        default="10",
        validators=[
            InputRequired(_l("Enter how many plans to sample")),
            Length(max=3, message=_l("Enter a number from 1 to %(max)s", max=MAX_SAMPLE)),
        ],
    )

    def validate_size(self, field) -> None:
        number = whole_number(field.data, digits=3)  # thousands of digits would not even parse
        if number is None or not 1 <= number <= MAX_SAMPLE:
            raise ValidationError(_l("Enter a number from 1 to %(max)s", max=MAX_SAMPLE))

    @property
    def sample_size(self) -> int:
        return int(self.size.data.strip())


class CheckForm(PortalForm):
    """One radio group per criterion, pre-filled from what the data shows, then notes."""

    def criteria_fields(self):
        return [self[key] for key in CRITERIA]


for _key, _label in CRITERIA.items():
    setattr(
        CheckForm,
        _key,
        RadioField(
            _label,
            choices=[SelectChoice("yes", _l("Met")), SelectChoice("no", _l("Not met"))],
            validate_choice=False,
            validators=[
                InputRequired(_l("Choose whether the plan meets this requirement")),
                AnyOf(["yes", "no"], message=_l("Choose whether the plan meets this requirement")),
            ],
        ),
    )
CheckForm.notes = TextAreaField(
    _l("Notes (optional)"),
    validators=[
        Length(max=NOTES_LIMIT, message=_l("Notes must be %(max)d characters or fewer")),
    ],
)
