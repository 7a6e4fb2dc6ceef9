"""The registry of audit action names: every name has a translated label, and no code writes
a name outside the registry."""

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal import audit, audit_actions
from portal.labels import audit_action

ROOT = Path(__file__).resolve().parent.parent
LOCALES = sorted(p.name for p in (ROOT / "translations").iterdir() if p.is_dir())


def _msgid(label) -> str:
    return label._args[0]


def test_there_are_twelve_translations_to_check():
    assert len(LOCALES) == 12  # English is the source


@pytest.mark.parametrize("locale", LOCALES)
def test_every_action_has_a_label_translated_into_every_language(locale):
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    untranslated = set()
    for name, label in audit_actions.ACTIONS.items():
        message = catalog.get(_msgid(label))
        if message is None or not message.string or message.fuzzy:
            untranslated.add(f"{name}: {_msgid(label)}")
    assert not untranslated


def test_names_are_area_dot_action_in_lower_case():
    for name in audit_actions.ACTIONS:
        assert re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", name), name


def test_recording_an_unknown_name_is_refused(db):
    with pytest.raises(audit_actions.UnknownAction):
        audit.record("goal.edti", 1, "goal 1")
    with pytest.raises(audit_actions.UnknownAction):
        audit.record_view("plan.veiw", 1)


def test_old_names_still_read_sensibly_on_the_activity_page():
    assert str(audit_action("plan.view")) == "Looked at the care plan"
    assert str(audit_action("outline.view")) == "Looked at part of the plan"
    assert str(audit_action("outline.edit")) == "Changed part of the plan"
    assert str(audit_action("something")) == "Did something else with the plan"


# --- the source scan -------------------------------------------------------------------------


def _names(node) -> list[str]:
    """The audit names an expression can give: a regular expression for each possibility."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.escape(node.value)]
    if isinstance(node, ast.IfExp):
        return _names(node.body) + _names(node.orelse)
    if isinstance(node, ast.JoinedStr):
        pattern = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                pattern += re.escape(part.value)
            else:
                pattern += "[a-z_]+"
        return [pattern]
    return []  # a variable: checked when written, by audit.record


def _written_names() -> list[tuple[str, str]]:
    """(where, pattern) for every audit name the portal's code passes on."""
    found = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("record", "record_view") and node.args:
                    found += [(where, n) for n in _names(node.args[0])]
                for keyword in node.keywords:
                    if keyword.arg == "audit_as" or (
                        called == "AuditEvent" and keyword.arg == "action"
                    ):
                        found += [(where, n) for n in _names(keyword.value)]
            if isinstance(node, ast.FunctionDef):
                arguments = node.args.args[-len(node.args.defaults) :] if node.args.defaults else []
                for argument, default in zip(arguments, node.args.defaults, strict=True):
                    if argument.arg in ("action", "event"):
                        found += [(where, n) for n in _names(default)]
    return found


def test_the_scan_finds_the_names_written():
    patterns = {pattern for _where, pattern in _written_names()}
    assert re.escape("plan.view") in patterns  # record_view
    assert re.escape("sharing.revoke") in patterns  # a default argument
    assert re.escape("care_team.view") in patterns  # a page decorator's audit name
    assert any("\\." in p and "[a-z_]+" in p for p in patterns)  # f-strings


def test_no_code_writes_a_name_outside_the_registry():
    outside = [
        f"{where}: {pattern}"
        for where, pattern in _written_names()
        if not any(re.fullmatch(pattern, name) for name in audit_actions.ACTIONS)
    ]
    assert outside == []
