"""Checking one register row: every value read, or the first reason it cannot be taken.

Names and free text are kept as given (shown escaped wherever they appear); only characters a
database cannot store or a screen cannot show (control characters) are removed.
"""

import hashlib
import re
from dataclasses import astuple, dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from portal import nhs_number
from portal.conditions import appendix_code
from portal.labels import ETHNICITIES
from portal.models.patient import NhsNumberStatus
from portal.phone import PhoneError, dial_string

NAME_LIMIT = 100
NEEDS_LIMIT = 1000
OLDEST = 120  # years: an older date of birth is a typing error

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_UK = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_MON = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})", re.ASCII)
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_CODE = re.compile(r"\d{6,18}", re.ASCII)

SEXES = {
    "female": "female",
    "f": "female",
    "male": "male",
    "m": "male",
    "other": "other",
    "indeterminate": "other",
    "i": "other",
    "unknown": "unknown",
    "u": "unknown",
    "not known": "unknown",
    "": "unknown",
}
# NHS Data Dictionary ethnic category letters, as GP systems export them.
ETHNIC_LETTERS = dict(zip("ABCDEFGHJKLMNPRSZ", ETHNICITIES, strict=True))
# The NHS number status a GP system reports from its trace against PDS: the code, with or
# without its leading zero, or the words.
NHS_NUMBER_STATUSES = {
    **{
        key: status
        for code, words, status in (
            ("01", "verified", NhsNumberStatus.VERIFIED),
            ("02", "not traced", NhsNumberStatus.NOT_TRACED),
            ("03", "trace required", NhsNumberStatus.TRACE_REQUIRED),
            ("04", "no match", NhsNumberStatus.NO_MATCH),
            ("05", "needs resolving", NhsNumberStatus.NEEDS_RESOLVING),
            ("06", "trace in progress", NhsNumberStatus.IN_PROGRESS),
            ("08", "trace postponed", NhsNumberStatus.POSTPONED),
        )
        for key in (code, code[1], words)
    }
}
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


class RowProblem(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class RegisterRow:
    """One person as the file gives them. ``None`` in an optional value: not given."""

    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    registered_on: date
    conditions: tuple[str, ...]
    initial_assessment_date: date | None = None
    existing_plan_reviewed_on: date | None = None
    ethnicity: str | None = None
    preferred_language: str | None = None
    interpreter_needed: bool | None = None
    communication_needs: str | None = None
    email: str | None = None
    mobile: str | None = None
    postcode: str | None = None
    nhs_number_status: str | None = None

    def fingerprint(self) -> str:
        return hashlib.sha256(repr(astuple(self)).encode()).hexdigest()


def clean(value: str | None) -> str:
    return _CONTROL.sub("", value or "").strip()


def parse_date(value: str) -> date | None:
    """``YYYY-MM-DD``, ``DD/MM/YYYY`` or ``DD-Mon-YYYY``; None if it is none of them or unreal."""
    value = value.strip()
    try:
        if m := _ISO.fullmatch(value):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _UK.fullmatch(value):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if (m := _MON.fullmatch(value)) and m[2].lower() in _MONTHS:
            return date(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    except ValueError:
        return None
    return None


def _date(values: dict, column: str, today: date, born: date | None, required: bool):
    raw = clean(values.get(column))
    if not raw:
        if required:
            raise RowProblem(_l("%(column)s is empty", column=column))
        return None
    found = parse_date(raw)
    if found is None:
        raise RowProblem(
            _l(
                "%(column)s is not a real date in the form 2024-03-31, 31/03/2024 or 31-Mar-2024",
                column=column,
            )
        )
    if found > today:
        raise RowProblem(_l("%(column)s is in the future", column=column))
    if born and found < born:
        raise RowProblem(_l("%(column)s is before the date of birth", column=column))
    return found


def _name(values: dict, column: str) -> str:
    name = clean(values.get(column))
    if not name:
        raise RowProblem(_l("%(column)s is empty", column=column))
    if len(name) > NAME_LIMIT:
        raise RowProblem(
            _l("%(column)s is longer than %(num)d characters", column=column, num=NAME_LIMIT)
        )
    return name


def conditions(text: str) -> tuple[str, ...]:
    """The Appendix 1 codes a ``;``-separated list of SNOMED CT codes stands for."""
    codes = [c.strip() for c in text.split(";") if c.strip()]
    if not codes:
        raise RowProblem(_l("conditions is empty: give at least one SNOMED CT code"))
    found = set()
    for code in codes:
        appendix = appendix_code(code) if _CODE.fullmatch(code) else None
        if appendix is None:
            raise RowProblem(
                _l("The condition code %(code)s is not a known long-term condition", code=code[:20])
            )
        found.add(appendix)
    return tuple(sorted(found))


def _optional(values: dict, columns: set[str], today: date, born: date) -> dict:
    """The optional values the file has columns for (a blank cell is "not given")."""
    found: dict = {}
    for column in ("initial_assessment_date", "existing_plan_reviewed_on"):
        if column in columns:
            found[column] = _date(values, column, today, born, required=False)
    if raw := clean(values.get("ethnicity")):
        code = ETHNIC_LETTERS.get(raw.upper())
        if code is None and raw.lower() in ETHNICITIES:
            code = raw.lower()
        if code is None:
            raise RowProblem(_l("ethnicity is not an NHS ethnic category"))
        found["ethnicity"] = code
    if raw := clean(values.get("preferred_language")):
        language = raw.replace("-", "_")
        if not _LANGUAGE.fullmatch(language):
            raise RowProblem(_l("preferred_language is not a language code such as en or ur"))
        found["preferred_language"] = language[:2].lower() + language[2:]
    if "interpreter_needed" in columns:
        raw = clean(values.get("interpreter_needed")).lower()
        if raw not in YES | NO:
            raise RowProblem(_l("interpreter_needed must be yes or no"))
        found["interpreter_needed"] = raw in YES
    if raw := clean(values.get("communication_needs")):
        if len(raw) > NEEDS_LIMIT:
            raise RowProblem(_l("communication_needs is longer than 1,000 characters"))
        found["communication_needs"] = raw
    if raw := clean(values.get("email")):
        try:
            found["email"] = validate_email(raw, check_deliverability=False).normalized
        except EmailNotValidError:
            raise RowProblem(_l("email is not an email address")) from None
        if len(found["email"]) > 254:
            raise RowProblem(_l("email is not an email address"))
    if raw := clean(values.get("mobile")):
        try:
            dial_string(raw)
        except PhoneError:
            raise RowProblem(_l("mobile is not a phone number")) from None
        found["mobile"] = raw
    if raw := clean(values.get("nhs_number_status")):
        status = NHS_NUMBER_STATUSES.get(" ".join(raw.lower().replace("_", " ").split()))
        if status is None:
            raise RowProblem(
                _l("nhs_number_status is not an NHS number status code (01 to 06, or 08)")
            )
        found["nhs_number_status"] = status
    if raw := clean(values.get("postcode")):
        postcode = raw.upper()
        if not _POSTCODE.fullmatch(postcode):
            raise RowProblem(_l("postcode is not a UK postcode"))
        found["postcode"] = postcode
    return found


def check(values: dict[str, str], columns: set[str], today: date) -> RegisterRow:
    """The row's values, or ``RowProblem`` naming the first thing wrong."""
    number = nhs_number.normalise(clean(values.get("nhs_number")))
    if not number:
        raise RowProblem(_l("nhs_number is empty"))
    if not nhs_number.is_valid(number):
        raise RowProblem(_l("nhs_number is not a valid NHS number (check digit)"))
    given, family = _name(values, "given_name"), _name(values, "family_name")
    born = _date(values, "date_of_birth", today, None, required=True)
    if born.year < today.year - OLDEST:
        raise RowProblem(_l("date_of_birth is more than 120 years ago"))
    sex = SEXES.get(clean(values.get("sex")).lower())
    if sex is None:
        raise RowProblem(_l("sex must be female, male, other or unknown"))
    registered = _date(values, "registered_on", today, born, required=True)
    codes = conditions(clean(values.get("conditions")))
    return RegisterRow(
        nhs_number=number,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        sex=sex,
        registered_on=registered,
        conditions=codes,
        **_optional(values, columns, today, born),
    )
