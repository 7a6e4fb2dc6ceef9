"""Phone numbers: checking what people type, and the number a phone dials from a ``tel:`` link.

Numbers are stored as the person typed them (trimmed), because that is how they will read them
out; the ``tel:`` link uses the parsed international (E.164) form, so a tap dials correctly
from any phone. UK short codes for emergency and NHS services (999, 112, 111, 119, 101,
116 123) are accepted as they are.
"""

import re
from functools import lru_cache

import phonenumbers
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException, PhoneNumberFormat, shortnumberinfo
from wtforms.validators import ValidationError

REGION = "GB"
MAX_DIGITS = 15  # the longest number E.164 allows
MAX_LENGTH = 40  # as typed, with spaces and brackets; the database column is 40 wide

# Digits, spaces, brackets, dots and dashes, with an optional + at the start.
_TYPED = re.compile(r"\+?[0-9 ().\-]+")
# Ofcom keeps these ranges for drama and training: they never ring anyone, so demo data and
# tests use them, but libphonenumber reports them as unallocated.
_FICTIONAL = re.compile(r"\+44(7700900|1632960)\d{3}")

NOT_A_NUMBER = _l("Enter a phone number using numbers only, like 07700 900123 or +44 113 496 0000")
TOO_LONG = _l("The phone number is too long: a phone number has no more than 15 digits")
NOT_VALID = _l(
    "Enter a UK phone number, like 07700 900123 or 0113 496 0000, a service number such as "
    "999 or 111, or an international number starting with +, like +33 1 42 68 53 00"
)


class PhoneError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def dial_string(text: str) -> str:
    """The number to dial for ``text``: E.164 for full numbers, the digits for short codes.

    Raises ``PhoneError`` with a message for the person when ``text`` is not a number a phone
    in the UK can ring.
    """
    text = text.strip()
    if not _TYPED.fullmatch(text):
        raise PhoneError(NOT_A_NUMBER)
    digits = re.sub(r"\D", "", text)
    if not digits:
        raise PhoneError(NOT_A_NUMBER)
    if len(digits) > MAX_DIGITS + 2:  # room for a 00 international prefix
        raise PhoneError(TOO_LONG)
    if not text.startswith("+") and len(digits) <= 6:
        try:
            short = phonenumbers.parse(digits, REGION)
        except NumberParseException:  # one digit alone is not even a short code
            raise PhoneError(NOT_VALID) from None
        if shortnumberinfo.is_valid_short_number_for_region(short, REGION):
            return digits
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException as e:
        too_long = e.error_type == NumberParseException.TOO_LONG
        raise PhoneError(TOO_LONG if too_long else NOT_VALID) from None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if len(e164) - 1 > MAX_DIGITS:
        raise PhoneError(TOO_LONG)
    if phonenumbers.is_valid_number(number) or _FICTIONAL.fullmatch(e164):
        return e164
    raise PhoneError(NOT_VALID)


@lru_cache(maxsize=4096)
def tel_href(text: str | None) -> str:
    """What goes after ``tel:``. Numbers saved before validation keep their digits and +."""
    if not text:
        return ""
    try:
        return dial_string(text)
    except PhoneError:
        return re.sub(r"[^0-9+]", "", text)


def is_phone_number(text: str | None) -> bool:
    """Whether free text (such as "who to call") is just a number, so it can be a call button."""
    if not text:
        return False
    try:
        dial_string(text)
    except PhoneError:
        return False
    return True


class PhoneNumber:
    """WTForms validator: a UK or international number, or a UK service short code."""

    def __call__(self, form, field):
        if field.data:
            try:
                dial_string(field.data)
            except PhoneError as e:
                raise ValidationError(e.message) from None
