from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import ValidationError

from portal.fields import DateInputField, PortalForm
from portal.section_forms import asks_section


@asks_section("goals")
class GoalForm(PortalForm):
    """A goal in the person's own words; its fields are built from ``portal.sections``."""

    version = HiddenField()

    # The date already saved: an overdue target date may stay as it is, a new one may not.
    saved_target_date: date | None = None

    def validate_target_date(self, field):
        if field.data and field.data != self.saved_target_date and field.data < date.today():
            raise ValidationError(_l("Target date must be today or in the future"))

    def changes(self) -> dict:
        """What the form proposes: text empty as "", a date as given (or None)."""
        changes = {name: self[name].data for name in self.ASKED}
        for name, value in changes.items():
            if not isinstance(self[name], DateInputField):
                changes[name] = value or ""
        return changes


class ConfirmForm(PortalForm):
    """Withdrawing or keeping a goal: only the version the person saw."""

    version = HiddenField()
