from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, Length

from portal.fields import PortalForm
from portal.models.plan import TEXT_LIMIT

FIELDS = ("questions", "what_changed", "how_i_feel")
MARKABLE = ("plan", "goals", "wishes", "needs", "crisis")


def _limit(what):
    return Length(max=TEXT_LIMIT, message=what)


class PreparationForm(PortalForm):
    questions = TextAreaField(
        _l("Questions I want to ask"),
        validators=[_limit(_l("Your questions must be %(max)d characters or fewer"))],
    )
    what_changed = TextAreaField(
        _l("What has changed since my last review"),
        validators=[_limit(_l("What has changed must be %(max)d characters or fewer"))],
    )
    how_i_feel = TextAreaField(
        _l("How I feel about my health"),
        validators=[_limit(_l("How you feel must be %(max)d characters or fewer"))],
    )
    version = HiddenField()
    preparation_id = HiddenField()

    def changes(self) -> dict:
        return {name: self[name].data or "" for name in FIELDS}


class TaskDoneForm(PortalForm):
    """"I have checked my goals": one step of getting ready, marked done by the person."""

    task = HiddenField(
        validators=[AnyOf(MARKABLE, message=_l("Choose a step of getting ready from the list"))]
    )
