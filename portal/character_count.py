"""The NHS.UK character count's messages in the reader's language.

The script writes "You have N characters remaining" itself, in English unless it is given
other wording through ``data-i18n.*`` attributes. It picks a plural form with
``Intl.PluralRules`` for the page's language, so every CLDR form of the language gets the
catalogue's wording for a number in that form, with ``%{count}`` where the script puts the
number.
"""

from functools import cache

from babel import Locale
from flask_babel import get_locale, ngettext

# Numbers to find one of each plural form among: 1 first, as some languages' "one" takes 0 too
# where their catalogue's rule does not. A form no whole number takes (Portuguese and Spanish
# "many", for numbers written with an exponent) is never asked for.
_SAMPLES = (1, *range(200))


def _under(num: int, count: str) -> str:
    return ngettext(
        "You have %(count)s character remaining",
        "You have %(count)s characters remaining",
        num,
        count=count,
    )


def _over(num: int, count: str) -> str:
    return ngettext(
        "You have %(count)s character too many",
        "You have %(count)s characters too many",
        num,
        count=count,
    )


@cache
def _form_samples(locale: str) -> tuple[tuple[str, int], ...]:
    """A number in each plural form of the language, found once per process and language."""
    rule = Locale.parse(locale).plural_form
    samples = []
    for form in sorted({*rule.tags, "other"}):
        sample = next((n for n in _SAMPLES if rule(n) == form), None)
        if sample is None and form == "other":  # only fractions (Polish): the script needs it
            sample = 5
        if sample is not None:
            samples.append((form, sample))
    return tuple(samples)


def character_count_i18n() -> dict[str, str]:
    """``data-i18n.*`` attribute names (without ``data-i18n.``) and their text."""
    attributes = {"characters-at-limit": _under(0, "0")}
    for form, sample in _form_samples(str(get_locale())):
        attributes[f"characters-under-limit.{form}"] = _under(sample, "%{count}")
        attributes[f"characters-over-limit.{form}"] = _over(sample, "%{count}")
    return attributes
