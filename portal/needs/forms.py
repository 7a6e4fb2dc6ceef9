from wtforms import HiddenField

from portal.fields import PortalForm
from portal.section_forms import asks_section


@asks_section("needs")
class OwnWordsForm(PortalForm):
    """One text in the patient's own words (a need or a wish, which are asked alike). The view
    labels it with the section's name."""

    version = HiddenField()
