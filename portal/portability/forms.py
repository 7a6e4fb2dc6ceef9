from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from portal.fields import PortalForm


class ImportForm(PortalForm):
    bundle = FileField(
        _l("FHIR Bundle file (JSON)"),
        validators=[FileRequired(_l("Choose a FHIR Bundle file to import"))],
    )
