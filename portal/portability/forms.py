from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectChoice
from wtforms.validators import InputRequired

from portal.fields import PortalForm


class ImportForm(PortalForm):
    bundle = FileField(
        _l("FHIR Bundle file (JSON)"),
        validators=[FileRequired(_l("Choose a FHIR Bundle file to import"))],
    )


class ConfirmImportForm(PortalForm):
    """The previewed file and a fingerprint of what the preview showed."""

    payload = HiddenField()
    digest = HiddenField()


class AppLaunchForm(PortalForm):
    """Whose plan an app may read (a person who may see more than one chooses)."""

    patient = RadioField(
        _l("Whose care plan may the app read?"),
        coerce=int,
        validators=[InputRequired(_l("Choose whose care plan the app may read"))],
    )


class ConditionDecisionForm(PortalForm):
    """A professional adds an imported condition to the patient's list or turns it down."""

    decision = RadioField(
        _l("Add this condition to the list?"),
        choices=[
            SelectChoice("accept", _l("Add to the list")),
            SelectChoice("decline", _l("Do not add")),
        ],
        validators=[InputRequired(_l("Choose whether to add the condition"))],
    )
