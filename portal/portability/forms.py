from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField

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
