from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField


class ImportForm(FlaskForm):
    bundle = FileField(
        _l("FHIR Bundle file (JSON)"),
        validators=[FileRequired(_l("Choose a FHIR Bundle file to import"))],
    )


class ConfirmImportForm(FlaskForm):
    """The previewed file and a fingerprint of what the preview showed."""

    payload = HiddenField()
    digest = HiddenField()
