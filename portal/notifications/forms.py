from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice

from portal.fields import PortalForm
from portal.models import Channel

CHANNEL_LABELS = {
    Channel.EMAIL: _l("Email"),
    Channel.SMS: _l("Text message"),
    Channel.NONE: _l("No messages"),
}


def preferences_form(kinds, channels, labels, data=None) -> PortalForm:
    """One set of radios per kind of message, offering only the channels this person has."""

    class PreferencesForm(PortalForm):
        pass

    choices = [SelectChoice(channel.value, CHANNEL_LABELS[channel]) for channel in channels]
    for kind in kinds:
        field = RadioField(labels[kind], choices=choices, default=Channel.EMAIL.value)
        setattr(PreferencesForm, kind.value, field)
    return PreferencesForm(data=data)
