from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.fields import DateInputField, PortalForm
from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT


class GoalForm(PortalForm):
    title = StringField(
        _l("What I want to achieve"),
        validators=[
            DataRequired(_l("Enter what you want to achieve")),
            Length(
                max=SHORT_LIMIT,
                message=_l("What you want to achieve must be %(max)d characters or fewer"),
            ),
        ],
    )
    why_it_matters = TextAreaField(
        _l("Why it matters to me"),
        validators=[
            Length(max=TEXT_LIMIT, message=_l("Why it matters must be %(max)d characters or fewer"))
        ],
    )
    steps = TextAreaField(
        _l("The steps, and who will help"),
        validators=[
            Length(max=TEXT_LIMIT, message=_l("The steps must be %(max)d characters or fewer"))
        ],
    )
    target_date = DateInputField(_l("Target date"))
    version = HiddenField()

    # The date already saved: an overdue target date may stay as it is, a new one may not.
    saved_target_date: date | None = None

    def validate_target_date(self, field):
        if field.data and field.data != self.saved_target_date and field.data < date.today():
            raise ValidationError(_l("Target date must be today or in the future"))

    def changes(self) -> dict:
        return {
            "title": self.title.data,
            "why_it_matters": self.why_it_matters.data or "",
            "steps": self.steps.data or "",
            "target_date": self.target_date.data,
        }


class ConfirmForm(PortalForm):
    """Withdrawing or keeping a goal: only the version the person saw."""

    version = HiddenField()
