"""Numbers and codes in right-to-left text: always shown in their own, left-to-right order.

In an Urdu or Arabic sentence the Unicode bidirectional algorithm lays the space-separated
groups of ``0113 496 0456`` out from right to left, so the number reads ``0456 496 0113``: a
carer who reads it aloud or dials it on another phone rings the wrong one. Phone numbers, NHS
numbers, dates written in digits, codes and email addresses are therefore isolated as
left-to-right: ``<bdi dir="ltr">`` in HTML (browsers and WeasyPrint both isolate it), and
LRI ... PDI in plain text (hints, error messages, flashed messages, emails).
"""

import re
import unicodedata

from markupsafe import Markup, escape

LRI = "\u2066"  # LEFT-TO-RIGHT ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE
_MARKS = str.maketrans("", "", "\u200e\u200f\u061c")  # LRM, RLM, ALM

# What keeps its own order: links (left whole), email addresses, and runs of digits joined by
# spaces, dots, dashes, slashes, colons or brackets, with an optional + in front.
_URL = r"https?://[^\s<>]+"
_EMAIL = r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
_NUMBER = r"(?<![^\W\d])\+?\(?\d(?:[\d \u00a0().\-/:]*\d)?\)?"
# Codes of capital letters and digits in groups joined by dashes (activation codes): whole.
_CODE = r"\b[A-Z0-9]{2,}(?:-[A-Z0-9]{2,})+\b"
_PATTERN = re.compile(f"({_URL})|({_EMAIL}|{_CODE}|{_NUMBER})")
_TAG = re.compile(r"(<[^>]*>)")


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def isolate(text: str) -> str:
    """``text`` as one left-to-right isolate, for plain text."""
    if not text:
        return text
    return f"{LRI}{text}{PDI}"


def _isolate_runs(text: str) -> str:
    def wrap(match: re.Match) -> str:
        if match.group(1):  # a link is left alone, so mail programs still find it
            return match.group(1)
        return isolate(match.group(2))

    return _PATTERN.sub(wrap, text)


def isolate_numbers(text, rtl: bool | None = None):
    """Every number, code and email address in ``text`` isolated as left-to-right.

    Only where it matters: when ``rtl`` is true, or (``rtl`` None) when the text itself holds
    right-to-left letters. Markup keeps its tags and attributes untouched.
    """
    if not text:
        return text
    plain = str(text)
    if rtl is None:
        rtl = has_rtl(plain)
    if not rtl:
        return text
    if isinstance(text, Markup):
        # Safe already: only invisible isolate characters go between its tags.
        parts = _TAG.split(plain)
        return Markup(  # noqa: S704
            "".join(p if p.startswith("<") else _isolate_runs(p) for p in parts)
        )
    return _isolate_runs(plain)


def ltr(value) -> Markup:
    """HTML: ``value`` (escaped) in a left-to-right ``bdi``; empty stays empty."""
    if value is None or value == "":
        return Markup("")
    return Markup('<bdi dir="ltr">') + escape(value) + Markup("</bdi>")


def digits_only(text: str) -> bool:
    """A date or time written only in digits and punctuation (no month names)."""
    return not any(ch.isalpha() for ch in text)


def ltr_date(text: str):
    """A date in digits reads day, month, year from the left in every language."""
    if text and digits_only(text):
        return ltr(text.translate(_MARKS))
    return text
