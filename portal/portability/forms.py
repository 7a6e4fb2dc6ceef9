from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class ImportForm(FlaskForm):
    bundle = FileField(
        _l("FHIR Bundle file (JSON)"),
        validators=[FileRequired(_l("Choose a FHIR Bundle file to import"))],
    )
