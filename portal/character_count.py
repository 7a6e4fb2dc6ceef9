"""The NHS.UK character count's messages in the reader's language.

The script writes "You have N characters remaining" itself, in English unless it is given
other wording through ``data-i18n.*`` attributes. It picks a plural form with
``Intl.PluralRules`` for the page's language, so every CLDR form of the language gets the
catalogue's wording for a number in that form, with ``%{count}`` where the script puts the
number.
"""

from flask_babel import get_locale, ngettext

# Numbers to find one of each plural form among (Portuguese and Spanish "many" is a million).
_SAMPLES = (*range(200), 1_000_000)


def _under(num: int, shown: str) -> str:
    return ngettext(
        "You have %(num)s character remaining",
        "You have %(num)s characters remaining",
        num,
        num=shown,
    )


def _over(num: int, shown: str) -> str:
    return ngettext(
        "You have %(num)s character too many",
        "You have %(num)s characters too many",
        num,
        num=shown,
    )


def character_count_i18n() -> dict[str, str]:
    """``data-i18n.*`` attribute names (without ``data-i18n.``) and their text."""
    rule = get_locale().plural_form
    attributes = {"characters-at-limit": _under(0, "0")}
    for form in sorted({*rule.tags, "other"}):
        sample = next(n for n in _SAMPLES if rule(n) == form)
        attributes[f"characters-under-limit.{form}"] = _under(sample, "%{count}")
        attributes[f"characters-over-limit.{form}"] = _over(sample, "%{count}")
    return attributes
