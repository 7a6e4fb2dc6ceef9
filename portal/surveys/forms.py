from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from portal.fields import PortalForm
from portal.labels import SURVEY_STATEMENTS

COMMENT_LIMIT = 1000

SCALE = [
    SelectChoice("1", _l("Strongly disagree")),
    SelectChoice("2", _l("Disagree")),
    SelectChoice("3", _l("Neither agree nor disagree")),
    SelectChoice("4", _l("Agree")),
    SelectChoice("5", _l("Strongly agree")),
]


def _score(label, missing):
    return RadioField(
        label,
        choices=SCALE,
        validate_choice=False,
        validators=[
            InputRequired(missing),
            AnyOf([choice.value for choice in SCALE], message=missing),
        ],
    )


class SurveyForm(PortalForm):
    involved = _score(
        SURVEY_STATEMENTS["involved"],
        _l("Choose how much you agree that you were involved as much as you wanted"),
    )
    agreed_plan = _score(
        SURVEY_STATEMENTS["agreed_plan"],
        _l("Choose how much you agree that you agreed a plan together"),
    )
    confidence = _score(
        SURVEY_STATEMENTS["confidence"],
        _l("Choose how much you agree that you feel confident managing your health"),
    )
    comment = TextAreaField(
        _l("Anything else you would like to tell us (optional)"),
        validators=[
            Optional(),
            Length(
                max=COMMENT_LIMIT,
                message=_l("Your comment must be %(max)d characters or fewer"),
            ),
        ],
    )
