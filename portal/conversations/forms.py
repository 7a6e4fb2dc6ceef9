from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.fields import PortalForm, clean_text
from portal.models.conversation import MESSAGE_LIMIT, OUTCOME_LIMIT, SUBJECT_LIMIT

_TOO_LONG = _l("This must be %(max)d characters or fewer")


def _message_field(label):
    return TextAreaField(
        label,
        filters=[clean_text],
        validators=[
            DataRequired(_l("Write your message")),
            Length(max=MESSAGE_LIMIT, message=_TOO_LONG),
        ],
    )


class StartForm(PortalForm):
    """A new conversation; ``about`` choices are the plan's items, set by the view."""

    about = SelectField(_l("What is it about?"), choices=[], validate_choice=False)
    subject = StringField(
        _l("Subject"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Enter a subject, in a few words")),
            Length(max=SUBJECT_LIMIT, message=_TOO_LONG),
        ],
    )
    message = _message_field(_l("Your message"))

    def __init__(self, *args, about_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.about.choices = [("", _l("The care plan in general")), *about_choices]

    def validate_about(self, field):
        """A forged or stale choice (an item since removed) is refused with a message."""
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choose a part of the plan from the list"))


class ReplyForm(PortalForm):
    message = _message_field(_l("Your reply"))


class CloseForm(PortalForm):
    outcome = TextAreaField(
        _l("Outcome"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Write the outcome, so it is kept with the plan")),
            Length(max=OUTCOME_LIMIT, message=_TOO_LONG),
        ],
    )


class ActionForm(PortalForm):
    """A button with nothing to fill in (mark urgent, take on): CSRF only."""
