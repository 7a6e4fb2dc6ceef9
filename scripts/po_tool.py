"""Translator's helper: list what a locale still lacks, and fill translations from JSON.

    python scripts/po_tool.py missing cy > cy-todo.json   # msgid -> "" (or [..] for plurals)
    python scripts/po_tool.py fill cy cy-done.json        # write them into the catalogue
    python scripts/po_tool.py plural-forms cy             # set CLDR's plural rule in the header

``fill`` creates the locale's catalogue from the POT if it does not exist, merges the POT
into it, sets every given translation (a list for plural messages, one entry per plural form
of the locale) and clears the fuzzy flag of what it sets. A new catalogue gets CLDR's plural
rule (``plural-forms`` sets it on an existing one; its plural messages then need their forms
in the new order). Run ``make i18n-check`` after.
"""

import json
import sys
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po, write_po
from check_translations import cldr_plural_forms

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"


def _catalog(locale: str):
    pot_path = TRANSLATIONS / "messages.pot"
    with pot_path.open("rb") as f:
        template = read_po(f)
    po_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    if po_path.exists():
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=locale)
    else:
        with pot_path.open("rb") as f:
            catalog = read_po(f, locale=locale)
        catalog.locale = Locale.parse(locale)
        _set_cldr_plural_forms(catalog, locale)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False  # the header of a new catalogue copies the template's fuzzy flag
    return catalog, po_path


def _set_cldr_plural_forms(catalog, locale: str) -> None:
    """Babel's own gettext plural table is not CLDR's for every language (Arabic, Welsh)."""
    catalog._num_plurals, catalog._plural_expr = cldr_plural_forms(locale)


def _write(catalog, po_path: Path) -> None:
    po_path.parent.mkdir(parents=True, exist_ok=True)
    with po_path.open("wb") as f:
        write_po(f, catalog, omit_header=False, sort_output=True, width=100)


def plural_forms(locale: str) -> None:
    catalog, po_path = _catalog(locale)
    _set_cldr_plural_forms(catalog, locale)
    _write(catalog, po_path)


def missing(locale: str) -> dict:
    catalog, _ = _catalog(locale)
    todo = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        if message.fuzzy or not all(strings):
            todo[key] = [""] * catalog.num_plurals if message.pluralizable else ""
    return todo


def fill(locale: str, source: Path) -> int:
    catalog, po_path = _catalog(locale)
    given = json.loads(source.read_text(encoding="utf-8"))
    count = 0
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if key in given and given[key]:
            value = given[key]
            message.string = tuple(value) if message.pluralizable else value
            message.flags.discard("fuzzy")
            count += 1
    _write(catalog, po_path)
    return count


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "missing":
        json.dump(missing(argv[1]), sys.stdout, ensure_ascii=False, indent=1)
        return 0
    if len(argv) == 2 and argv[0] == "plural-forms":
        plural_forms(argv[1])
        return 0
    if len(argv) == 3 and argv[0] == "fill":
        print(f"{fill(argv[1], Path(argv[2]))} messages set")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
