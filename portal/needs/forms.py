from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.fields import PortalForm
from portal.models.plan import TEXT_LIMIT


class OwnWordsForm(PortalForm):
    """One text in the patient's own words. The view labels it with the section's name."""

    text = TextAreaField(
        _l("In your own words"),
        validators=[
            DataRequired(_l("Write something before saving, or go back to the plan")),
            Length(max=TEXT_LIMIT, message=_l("This must be %(max)d characters or fewer")),
        ],
    )
    version = HiddenField()
