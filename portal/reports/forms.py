import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from portal.fields import PortalForm

MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
EARLIEST_YEAR = 2000


def parse_month(value: str | None) -> date | None:
    """``YYYY-MM`` to the first day of that month; ``None`` if it is not a real month."""
    match = MONTH_PATTERN.fullmatch((value or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < EARLIEST_YEAR:
        return None
    return date(year, month, 1)


class ReportFilterForm(PortalForm):
    """The month and organisation a report is for.

    Sent with GET so a report has a link of its own; it changes nothing, so it carries no CSRF
    token (a token in a web address would leak into history and logs).
    """

    class Meta:
        csrf = False

    month = StringField(
        _l("Month"),
        validators=[
            InputRequired(_l("Enter the month the report is for")),
            Length(max=7, message=_l("Enter the month as a year and month, like 2011-03")),
        ],
    )
    organisation = SelectField(_l("Organisation"), choices=[], validate_choice=False)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation.choices = [SelectChoice("", _l("All organisations"))] + [
            SelectChoice(str(org_id), name) for org_id, name in organisations
        ]

    def validate_month(self, field) -> None:
        month = parse_month(field.data)
        if month is None:
            raise ValidationError(_l("Enter the month as a year and month, like 2011-03"))
        if month > date.today().replace(day=1):
            raise ValidationError(_l("Enter a month that is not in the future"))

    def validate_organisation(self, field) -> None:
        field.data = field.data or ""
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choose an organisation from the list"))

    @property
    def month_start(self) -> date:
        return parse_month(self.month.data)

    @property
    def organisation_id(self) -> int | None:
        return int(self.organisation.data) if self.organisation.data else None


class TrajectoryTargetForm(PortalForm):
    """A commissioner's target for a month (it holds until the next month that has one)."""

    month = StringField(
        _l("From the month"),
        validators=[
            InputRequired(_l("Enter the month the target starts")),
            Length(max=7, message=_l("Enter the month as a year and month, like 2011-03")),
        ],
    )
    percent = DecimalField(
        _l("Target share of people with a plan (%)"),
        places=2,
        validators=[
            InputRequired(_l("Enter the target as a percentage from 0 to 100")),
            NumberRange(0, 100, message=_l("Enter the target as a percentage from 0 to 100")),
        ],
    )

    def validate_month(self, field) -> None:
        if parse_month(field.data) is None:
            raise ValidationError(_l("Enter the month as a year and month, like 2011-03"))


class RemoveTargetForm(PortalForm):
    month = HiddenField()
