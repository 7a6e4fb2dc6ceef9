"""Check that the translation catalogues are complete and up to date.

Run as ``python scripts/check_translations.py`` (``make i18n-check``); it exits
non-zero when there is a problem. Checks:

* ``translations/messages.pot`` holds exactly the messages (msgid, plural id
  and context) that ``pybabel extract`` finds in ``portal/`` and
  ``templates/`` today (see ``babel.cfg``);
* every ``translations/<locale>/LC_MESSAGES/messages.po`` has the plural rule
  of CLDR for its language (Babel's ``Locale.plural_form``; Babel's own
  gettext table differs from CLDR for some languages, Arabic among them) and
  translates every message of the POT, with every plural form filled, nothing fuzzy, nothing
  that is no longer in the POT, and the same placeholders (``%(name)s``,
  ``%s``, ``{name}``) as the English text.

``python scripts/check_translations.py --extract`` (``make i18n-extract``)
rewrites ``translations/messages.pot`` from the code and templates; the file is
left untouched when only its creation date would change.

The module is importable too: ``check(root)`` returns the list of problems
for the project rooted at ``root`` (empty when all is well).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from babel.plural import to_gettext

ROOT = Path(__file__).resolve().parent.parent
POT_RELPATH = Path("translations") / "messages.pot"

# Keywords on top of Babel's defaults (_, gettext, ngettext, pgettext,
# npgettext, ...): Flask-Babel's lazy variants and the usual ``_l`` alias.
EXTRA_KEYWORDS = (
    "_l",
    "lazy_gettext",
    "lazy_ngettext:1,2",
    "lazy_pgettext:1c,2",
    "lazy_npgettext:1c,2,3",
)
# Directories never scanned for messages (babel.cfg limits extraction to
# portal/ and templates/; this only saves walking large trees).
IGNORE_DIRS = (".*", "_*", "node_modules", "static", "instance", "translations")
HEADER_COMMENT = "# Translations template for PROJECT.\n#"
# The count of a plural message is always passed (Flask-Babel's ngettext()
# as ``num``; Jinja's {% trans count=... %} under its own name), so a single
# plural form may leave it out ("un atgoffa" rather than "%(num)d atgoffa"),
# as long as some form of the message uses it.
IMPLICIT_PLURAL_NAMES = frozenset({"num", "count", "n"})

_PERCENT_RE = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"
    r"(?P<conv>[diouxXeEfFgGcrsa%])"
)
_BRACE_RE = re.compile(r"\{\{|\}\}|\{(?P<field>[^{}!:]*)(?:![rsa])?(?::[^{}]*)?\}")

MessageKey = tuple[str | None, str, str | None]  # (context, msgid, msgid_plural)


def cldr_plural_forms(locale: str) -> tuple[int, str]:
    """The number of plural forms and the gettext rule CLDR gives ``locale``.

    Forms come in CLDR's order (zero, one, two, few, many, other, those the
    language uses). Counts in the portal are whole numbers written without an
    exponent, so CLDR's exponent operand ``e`` is 0; gettext knows only ``n``.
    """
    rule = to_gettext(Locale.parse(locale).plural_form)
    rule = re.sub(r"\be\b", "0", rule)
    match = re.fullmatch(r"nplurals=(\d+); plural=(.*);", rule)
    if not match:
        raise ValueError(f"unexpected plural rule for {locale}: {rule}")
    return int(match.group(1)), match.group(2)


# --------------------------------------------------------------------------- #
# Extraction
# --------------------------------------------------------------------------- #


def _project_version(root: Path) -> str:
    try:
        with (root / "pyproject.toml").open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0"


def extract(root: Path, output: Path) -> None:
    """Extract the messages of the project at ``root`` into the POT ``output``."""
    args = [
        "pybabel",
        "-q",
        "extract",
        "-F",
        str(root / "babel.cfg"),
        "--no-location",
        "--sort-output",
        "--add-comments=Translators:",
        "--strip-comments",
        "--project=careplan-portal",
        f"--version={_project_version(root)}",
        f"--header-comment={HEADER_COMMENT}",
        f"--ignore-dirs={' '.join(IGNORE_DIRS)}",
        "-o",
        str(output),
    ]
    for keyword in EXTRA_KEYWORDS:
        args += ["-k", keyword]
    args.append(str(root))
    try:
        status = CommandLineInterface().run(args)
    except SystemExit as exc:  # optparse errors exit
        status = exc.code
    if status not in (0, None):
        raise RuntimeError(f"pybabel extract failed with status {status}")


def _read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _message_key(message: Message) -> MessageKey:
    if isinstance(message.id, (tuple, list)):
        return (message.context, message.id[0], message.id[1])
    return (message.context, message.id, None)


def _messages(catalog: Catalog) -> dict[MessageKey, Message]:
    return {_message_key(m): m for m in catalog if m.id}


def _describe(key: MessageKey) -> str:
    context, msgid, plural = key
    text = repr(msgid)
    if plural is not None:
        text += f" / {plural!r}"
    if context is not None:
        text = f"[{context}] {text}"
    return text


def _without_creation_date(text: str) -> str:
    return re.sub(r'^"POT-Creation-Date: .*"$', "", text, flags=re.MULTILINE)


def write_pot(root: Path) -> bool:
    """Regenerate ``translations/messages.pot``; return True if it changed."""
    pot = root / POT_RELPATH
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        extract(root, fresh)
        new_text = fresh.read_text(encoding="utf-8")
    if pot.exists():
        old_text = pot.read_text(encoding="utf-8")
        if _without_creation_date(old_text) == _without_creation_date(new_text):
            return False
    pot.parent.mkdir(parents=True, exist_ok=True)
    pot.write_text(new_text, encoding="utf-8")
    return True


# --------------------------------------------------------------------------- #
# Placeholders
# --------------------------------------------------------------------------- #


def placeholders(text: str) -> tuple[frozenset[str], Counter[str]]:
    """Return (named placeholders, counts of positional ones) in ``text``.

    Named: ``%(name)s`` -> ``%(name)``, ``{name}`` -> ``{name}``.
    Positional: ``%s``/``%d``/... counted as ``%``, ``{}``/``{0}`` as ``{}``
    and ``{0}`` respectively. ``%%``, ``{{`` and ``}}`` are literal text.
    """
    named: set[str] = set()
    positional: Counter[str] = Counter()
    for match in _PERCENT_RE.finditer(text):
        name, conv = match.group("name"), match.group("conv")
        if name is not None:
            named.add(f"%({name})")
        elif conv != "%":
            positional["%"] += 1
    for match in _BRACE_RE.finditer(text):
        field = match.group("field")
        if field is None:  # {{ or }}
            continue
        field = re.split(r"[.\[]", field, maxsplit=1)[0]
        if field == "":
            positional["{}"] += 1
        elif field.isdigit():
            positional[f"{{{field}}}"] += 1
        else:
            named.add(f"{{{field}}}")
    return frozenset(named), positional


def _fmt(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def has_stray_percent(text: str) -> bool:
    """True if ``text`` has a ``%`` that is neither a placeholder nor ``%%``.

    Formatting such a string raises ValueError ("unsupported format character").
    """
    return "%" in _PERCENT_RE.sub("", text)


def _check_placeholders(key: MessageKey, message: Message) -> list[str]:
    problems: list[str] = []
    _context, msgid, plural = key
    forms = [message.string] if plural is None else list(message.string)
    # Strings may be %-formatted (templates always format them), so a lone '%'
    # is only tolerated where the English text has one as well.
    if not any(has_stray_percent(text) for text in (msgid, plural or "")):
        for form in forms:
            if form and has_stray_percent(form):
                problems.append(
                    f"{_describe(key)}: translation {form!r} has a '%' that is not a "
                    "placeholder: templates %-format every message, so write '%%' (or reword) "
                    "where the English has no bare '%'"
                )
    english_named, english_positional = placeholders(msgid)
    if plural is None:
        named, positional = placeholders(str(message.string))
        if named != english_named or positional != english_positional:
            problems.append(
                f"{_describe(key)}: placeholders differ from the English "
                f"(English: {_fmt(english_named | set(english_positional))}; "
                f"translation: {_fmt(named | set(positional))})"
            )
        return problems

    plural_named, plural_positional = placeholders(plural)
    allowed = english_named | plural_named
    # A form may leave out what only the English plural mentions (the count).
    optional = (plural_named - english_named) | {f"%({n})" for n in IMPLICIT_PLURAL_NAMES}
    required = allowed - optional
    positional_ok = (english_positional, plural_positional)
    used: set[str] = set()
    for index, form in enumerate(message.string):
        named, positional = placeholders(form or "")
        used |= named
        unknown = named - allowed
        missing = required - named
        if unknown:
            problems.append(
                f"{_describe(key)}: plural form {index} uses placeholders the English "
                f"does not: {_fmt(unknown)}"
            )
        if missing:
            problems.append(
                f"{_describe(key)}: plural form {index} is missing placeholders {_fmt(missing)}"
            )
        if positional not in positional_ok:
            problems.append(
                f"{_describe(key)}: plural form {index} has positional placeholders "
                f"{dict(positional) or 'none'}, the English has "
                f"{dict(plural_positional) or 'none'}"
            )
    if unused := (allowed - required) - used:
        problems.append(f"{_describe(key)}: no plural form uses the placeholders {_fmt(unused)}")
    return problems


# --------------------------------------------------------------------------- #
# Checks
# --------------------------------------------------------------------------- #


def check_pot(root: Path) -> list[str]:
    """Problems with ``translations/messages.pot`` being out of date."""
    pot = root / POT_RELPATH
    with tempfile.TemporaryDirectory() as tmp:
        fresh_path = Path(tmp) / "messages.pot"
        try:
            extract(root, fresh_path)
        except Exception as exc:
            return [f"{POT_RELPATH}: extracting messages failed: {exc}"]
        fresh = set(_messages(_read_catalog(fresh_path)))

    if not pot.exists():
        if not fresh:
            return []
        return [
            f"{POT_RELPATH} is missing but the code has {len(fresh)} translatable "
            "messages: run `make i18n-extract`"
        ]
    current = set(_messages(_read_catalog(pot)))
    problems = []
    for key in sorted(fresh - current, key=_sort_key):
        problems.append(f"{POT_RELPATH}: missing {_describe(key)} (run `make i18n-extract`)")
    for key in sorted(current - fresh, key=_sort_key):
        problems.append(
            f"{POT_RELPATH}: {_describe(key)} is no longer in the code (run `make i18n-extract`)"
        )
    return problems


def _sort_key(key: MessageKey) -> tuple[str, str, str]:
    context, msgid, plural = key
    return (msgid, plural or "", context or "")


def _check_plural_header(prefix, locale, catalog, cldr_num, cldr_expr) -> list[str]:
    if (catalog.num_plurals, catalog.plural_expr) == (cldr_num, cldr_expr):
        return []
    return [
        f"{prefix}the Plural-Forms header is not CLDR's rule for {locale}: "
        f"want nplurals={cldr_num}; plural={cldr_expr}; "
        f"(python scripts/po_tool.py plural-forms {locale} sets it)"
    ]


def check_locale(po_path: Path, template: dict[MessageKey, Message] | None) -> list[str]:
    """Problems with one locale's ``messages.po``.

    ``template`` holds the POT's messages, or None when there is no POT.
    """
    locale = po_path.parent.parent.name
    prefix = f"{locale}: "
    try:
        catalog = _read_catalog(po_path, locale=locale)
    except Exception as exc:
        return [f"{prefix}cannot read {po_path}: {exc}"]

    problems: list[str] = []
    if catalog.fuzzy:
        problems.append(
            f"{prefix}the catalogue header is marked fuzzy (pybabel compile would skip it)"
        )
    messages = _messages(catalog)
    num_plurals = catalog.num_plurals
    try:
        cldr_num, cldr_expr = cldr_plural_forms(locale)
    except (ValueError, UnknownLocaleError):
        problems.append(f"{prefix}CLDR has no plural rule for {locale!r}")
    else:
        problems.extend(_check_plural_header(prefix, locale, catalog, cldr_num, cldr_expr))

    for key, message in sorted(messages.items(), key=lambda kv: _sort_key(kv[0])):
        if template is not None and key not in template:
            problems.append(
                f"{prefix}{_describe(key)} is not in {POT_RELPATH} (run `make i18n-update`)"
            )
            continue
        if message.fuzzy:
            problems.append(f"{prefix}{_describe(key)} is marked fuzzy")
            continue
        if key[2] is None:
            if isinstance(message.string, (tuple, list)) or not message.string:
                problems.append(f"{prefix}{_describe(key)} is not translated")
                continue
        else:
            forms = message.string if isinstance(message.string, (tuple, list)) else ()
            if len(forms) != num_plurals or not all(forms):
                filled = sum(1 for form in forms if form)
                problems.append(
                    f"{prefix}{_describe(key)} has {filled} of {num_plurals} plural forms "
                    "translated"
                )
                continue
        problems.extend(prefix + p for p in _check_placeholders(key, message))

    if template is not None:
        for key in sorted(set(template) - set(messages), key=_sort_key):
            problems.append(
                f"{prefix}{_describe(key)} is missing from the catalogue (run `make i18n-update`)"
            )
    return problems


def locale_catalogues(root: Path) -> list[Path]:
    return sorted((root / "translations").glob("*/LC_MESSAGES/messages.po"))


def check(root: Path = ROOT, *, verbose: bool = False) -> list[str]:
    """Return every translation problem of the project at ``root``."""
    root = Path(root)
    problems = check_pot(root)
    if verbose:
        print(f"messages.pot: {'OK' if not problems else f'{len(problems)} problem(s)'}")

    pot = root / POT_RELPATH
    template = _messages(_read_catalog(pot)) if pot.exists() else None
    for po_path in locale_catalogues(root):
        locale_problems = check_locale(po_path, template)
        problems.extend(locale_problems)
        if verbose:
            total = len(template) if template is not None else "?"
            status = "OK" if not locale_problems else f"{len(locale_problems)} problem(s)"
            print(f"{po_path.parent.parent.name}: {total} messages, {status}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="project root (default: this checkout)"
    )
    parser.add_argument(
        "--extract",
        action="store_true",
        help="regenerate translations/messages.pot instead of checking",
    )
    args = parser.parse_args(argv)

    if args.extract:
        changed = write_pot(args.root)
        print(f"{POT_RELPATH}: {'updated' if changed else 'already up to date'}")
        return 0

    problems = check(args.root, verbose=True)
    if problems:
        print(f"\n{len(problems)} translation problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("translations: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
