"""The rules every form shares: clean text, one phone field, the three-box date input.

The NHS.UK date input uses separate day, month and year boxes: easier to fill in than a date
picker and usable with every keyboard, but they let people type dates that cannot exist
(31 February), so each problem gets its own clear message and what was typed is shown again.
"""

import functools
import unicodedata
from datetime import date

from babel import support
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.utils import unset_value
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal import nhs_number
from portal.phone import MAX_LENGTH as PHONE_LIMIT
from portal.phone import PhoneNumber
from portal.security import CONTROL_CHARS


def clean_text(value: str | None) -> str | None:
    """Trim, use one newline convention, drop control characters and compose accents (NFC).

    Browsers send newlines as CRLF while the character count counts one character per
    newline, so both sides count alike; PostgreSQL refuses NUL in text, so it never gets there;
    an accent typed as a separate mark counts, compares and sorts as the one letter it shows.
    """
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", CONTROL_CHARS.sub("", value)).strip()


@functools.lru_cache(maxsize=64)
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class PortalForm(FlaskForm):
    """The base of every form: each text field (not passwords) is cleaned by ``clean_text``
    before its validators run, so limits count what the person sees on the page."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            """WTForms' own messages in the reader's language, from a catalogue read once a
            language: Flask-WTF reads and parses the file again for every request."""
            if not has_request_context() or not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalogue(str(get_locale() or "en"))

        def bind_field(self, form, unbound_field, options):
            kind = unbound_field.field_class
            if issubclass(kind, StringField) and not issubclass(kind, PasswordField):
                filters = [f for f in unbound_field.kwargs.get("filters", ()) if f != clean_text]
                return unbound_field.bind(form=form, filters=[clean_text, *filters], **options)
            return super().bind_field(form, unbound_field, options)


class CheckboxesField(SelectMultipleField):
    """Several choices, as NHS.UK checkboxes (``macros/forms.html`` ``checkboxes``)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def phone_field(label, required=None):
    """A phone number: the same limit and format check wherever one is asked for."""
    validators = [DataRequired(message=required)] if required else []
    too_long = _l("Phone number must be %(max)d characters or fewer")
    validators += [Length(max=PHONE_LIMIT, message=too_long), PhoneNumber()]
    return StringField(label, validators=validators)  # cleaned by PortalForm


def _valid_nhs_number(form, field):
    if not nhs_number.is_valid(field.data or ""):
        raise ValidationError(_l("Enter a valid 10-digit NHS number"))


def nhs_number_field(required, check: bool = True):
    """An NHS number, spaces and dashes allowed: ``required`` is the message when it is left
    out; ``check`` refuses a wrong check digit (activation only matches it against its letter)."""
    too_long = Length(max=20, message=_l("Enter a valid 10-digit NHS number"))
    validators = [DataRequired(required), too_long, *([_valid_nhs_number] if check else [])]
    return StringField(_l("NHS number"), validators=validators)  # cleaned by PortalForm


def print_size_field(label, required: bool = True):
    """The print of a patient's copies of the plan (``PrintSize``): asked of the patient in
    their account and of a professional recording what the patient told them (where leaving
    it out keeps what is recorded)."""
    from portal.labels import PRINT_SIZES  # labels import the models, which import this module

    message = _l("Choose standard print, large print or easy read")
    allowed = AnyOf(list(PRINT_SIZES), message=message)
    return RadioField(
        label,
        choices=[SelectChoice(size.value, text) for size, text in PRINT_SIZES.items()],
        validators=[allowed] if required else [Optional(), allowed],
        validate_choice=False,
    )


def whole_number(raw, digits: int = 9) -> int | None:
    """A whole number written in ASCII digits (at most ``digits`` of them), else None.

    ``str.isdigit()`` alone is not enough: it accepts superscripts such as "²", which ``int()``
    refuses, and a number thousands of digits long would overflow any database column.
    """
    text = str(raw).strip() if raw is not None else ""
    if not text or len(text) > digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def seen_version(raw: str | None) -> int | None:
    """The version a form was read at, from its hidden field; anything unreadable is stale."""
    return whole_number(raw)


PARTS = ("day", "month", "year")


def field_of(name: str) -> str:
    """The field a submitted name belongs to: ``held_on-day`` is a box of ``held_on``."""
    base, dash, part = name.rpartition("-")
    return base if dash and part in PARTS else name

_TYPED_LIMIT = 10  # longer input is certainly wrong; keep only this much to show it again

_MISSING = {
    ("day",): _l("%(label)s must include a day"),
    ("month",): _l("%(label)s must include a month"),
    ("year",): _l("%(label)s must include a year"),
    ("day", "month"): _l("%(label)s must include a day and month"),
    ("day", "year"): _l("%(label)s must include a day and year"),
    ("month", "year"): _l("%(label)s must include a month and year"),
}


class DateInputField(Field):
    """A date typed into ``<name>-day``, ``<name>-month`` and ``<name>-year``.

    ``data`` is a ``date`` or ``None`` (all three boxes empty, when the date is optional).
    ``parts`` keeps what was typed for re-display and ``error_parts`` names the boxes to
    highlight. With ``required_message`` an empty date is an error with that message.
    """

    def __init__(self, label=None, validators=None, required_message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required_message = required_message
        self.parts = dict.fromkeys(PARTS, "")
        self.error_parts: tuple[str, ...] = ()

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        self.data = data
        if data:
            self.parts = {"day": str(data.day), "month": str(data.month), "year": str(data.year)}
        if formdata is not None:
            typed = {p: formdata.get(f"{self.name}-{p}", "") for p in PARTS}
            self.parts = {p: clean_text(v)[:_TYPED_LIMIT] for p, v in typed.items()}
            self.raw_data = list(self.parts.values())
            self.data = None
            self._parse()

    def _fail(self, message, parts) -> None:
        self.error_parts = tuple(parts)
        self.process_errors.append(message)

    def _parse(self) -> None:
        label = self.label.text
        missing = [p for p in PARTS if not self.parts[p]]
        if len(missing) == 3:
            if self.required_message:
                self._fail(self.required_message, PARTS)
            return
        if missing:
            self._fail(_MISSING[tuple(missing)] % {"label": label}, missing)
            return
        # isdecimal() also accepts digits of other scripts (Arabic-Indic, Bengali...), which int()
        # reads correctly, so people can type dates with their own keyboard.
        wrong = [p for p in PARTS if not self.parts[p].isdecimal()]
        if wrong:
            self._fail(_l("%(label)s must be a real date", label=label), wrong)
            return
        if len(self.parts["year"]) != 4:
            self._fail(_l("Year must include 4 numbers"), ("year",))
            return
        too_long = [p for p in ("day", "month") if len(self.parts[p]) > 2]
        if too_long:  # a day of ten digits would overflow ``date`` itself
            self._fail(_l("%(label)s must be a real date", label=label), too_long)
            return
        try:
            self.data = date(
                int(self.parts["year"]), int(self.parts["month"]), int(self.parts["day"])
            )
        except (ValueError, OverflowError):
            self._fail(_l("%(label)s must be a real date", label=label), PARTS)

    def error_anchor(self) -> str:
        """The box the error summary should take people to."""
        first = self.error_parts[0] if self.error_parts else "day"
        return f"{self.id}-{first}"

    def _value(self):
        return self.parts
