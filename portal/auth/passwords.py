"""The password policy: long enough, not common, not guessable, not the person's own details.

No composition rules (they make passwords harder to remember, not harder to guess): length and
a guessability check instead, as NCSC and NIST advise.
"""

import re
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn: 3 is "safely unguessable", 0-2 fall to online or offline guessing

TOO_SHORT = _l("Your password must be at least 8 characters")
TOO_LONG = _l("Your password must be 128 characters or fewer")
TOO_COMMON = _l(
    "This password is too common or easy to guess. Try three or four random words instead."
)
PERSONAL = _l("Your password must not contain your name or email address")


@cache
def common_passwords() -> frozenset[str]:
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def personal_words(email: str = "", name: str = "") -> list[str]:
    """Parts of the email's local part and of the name long enough to matter."""
    local = email.partition("@")[0]
    words = {local, *re.split(r"[^\w]+", local), *re.split(r"[^\w]+", name)}
    return sorted(w.lower() for w in words if len(w) >= 4)


def problem(password: str, email: str = "", name: str = ""):
    """The reason a password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    lowered = password.lower()
    personal = personal_words(email, name)
    if any(word in lowered for word in personal):
        return PERSONAL
    if lowered in common_passwords():
        return TOO_COMMON
    if zxcvbn(password, user_inputs=personal, max_length=MAX_LENGTH)["score"] < MIN_SCORE:
        return TOO_COMMON
    return None


class StrongPassword:
    """WTForms validator; ``who`` gives the email and name the password must not contain.

    ``who(form)`` returns ``(email, name)``: the signed-in account, the account being reset, or
    fields of the form itself.
    """

    field_flags = {"maxlength": MAX_LENGTH, "minlength": MIN_LENGTH}

    def __init__(self, who=None):
        self.who = who

    def __call__(self, form, field):
        email, name = self.who(form) if self.who else ("", "")
        reason = problem(field.data or "", email or "", name or "")
        if reason:
            raise ValidationError(reason)
