"""The hazard log is complete, and every control it says is verified names a real test.

``docs/clinical-safety/hazard-log.md`` is the portal's clinical risk file. A hazard without a
field or a control fails here; so does a control that names a test that does not exist, and a
control that names no test without saying plainly "control not yet built".
"""

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
FIELDS = ("cause", "effect", "harm", "initial risk", "controls", "residual risk")
NOT_BUILT = "control not yet built"
NODE = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)(?:\[[^\]]*\])?`")
RATING = re.compile(r"likelihood [a-z ]+\((\d)\), severity [a-z ]+\((\d)\), risk (\d)")
# DCB0129's matrix: MATRIX[likelihood][severity] -> risk, both counted from 1.
MATRIX = {
    5: {1: 3, 2: 4, 3: 4, 4: 5, 5: 5},
    4: {1: 2, 2: 3, 3: 3, 4: 4, 5: 5},
    3: {1: 2, 2: 2, 3: 3, 4: 3, 5: 4},
    2: {1: 1, 2: 2, 3: 2, 4: 3, 5: 4},
    1: {1: 1, 2: 1, 3: 2, 4: 2, 5: 3},
}


def hazards(text: str) -> dict[str, dict]:
    """Each ``### Hnn`` section: its fields (``- field: text``) and its controls."""
    found = {}
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        fields = dict(re.findall(r"^- ([a-z ]+):[ \t]*(.*)$", body, flags=re.M))
        controls = re.findall(r"^  - control: (.+)$", body, flags=re.M)
        found[title.strip()] = {"fields": fields, "controls": controls}
    return found


@cache
def defined_tests(path: str) -> set[str]:
    """Test functions of a module, as ``name`` and ``Class::name``."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{f.name}" for f in node.body if isinstance(f, ast.FunctionDef)}
    return names


def problems(text: str) -> list[str]:
    found = []
    for title, hazard in hazards(text).items():
        missing = [f for f in FIELDS if f not in hazard["fields"]]
        if missing:
            found.append(f"{title}: no {', '.join(missing)}")
        if not hazard["controls"]:
            found.append(f"{title}: no control")
        for control in hazard["controls"]:
            nodes = NODE.findall(control)
            if not nodes and NOT_BUILT not in control:
                found.append(f"{title}: a control names no test and is not marked {NOT_BUILT!r}")
            if nodes and NOT_BUILT in control:
                found.append(f"{title}: a control both names tests and says {NOT_BUILT!r}")
            for path, name in nodes:
                if not (ROOT / path).is_file() or name not in defined_tests(path):
                    found.append(f"{title}: {path}::{name} does not exist")
        for field in ("initial risk", "residual risk"):
            ratings = RATING.findall(hazard["fields"].get(field, ""))
            if not ratings:
                found.append(f"{title}: {field} has no likelihood, severity and risk")
            for likelihood, severity, risk in ratings:
                if MATRIX[int(likelihood)][int(severity)] != int(risk):
                    found.append(f"{title}: {field} rated {risk}, the matrix gives another")
    return found


def test_the_hazard_log_is_complete_and_every_named_test_exists():
    text = LOG.read_text(encoding="utf-8")
    assert len(hazards(text)) >= 10
    assert problems(text) == []


def test_unbuilt_controls_are_listed_openly_with_their_residual_risk():
    for title, hazard in hazards(LOG.read_text(encoding="utf-8")).items():
        if any(NOT_BUILT in c for c in hazard["controls"]):
            assert RATING.search(hazard["fields"]["residual risk"]), title


@pytest.mark.parametrize(
    ("control", "complaint"),
    [
        ("Numbers isolated — verified by: `tests/test_bidi.py::test_no_such_test`", "not exist"),
        ("Numbers isolated — verified by: `tests/test_nowhere.py::test_x`", "not exist"),
        ("Numbers isolated, trust me", "names no test"),
        (
            "Told — control not yet built, `tests/test_bidi.py::test_ltr_escapes_and_wraps_in_bdi`",
            "both",
        ),
    ],
)
def test_the_check_catches_a_control_without_a_real_test(control, complaint):
    log = (
        "### H99 Example\n\n- cause: c\n- effect: e\n- harm: h\n"
        "- initial risk: likelihood high (4), severity major (4), risk 4\n"
        f"- controls:\n  - control: {control}\n"
        "- residual risk: likelihood low (2), severity major (4), risk 3\n"
    )
    assert any(complaint in p for p in problems(log))


def test_the_check_catches_a_missing_field_and_a_wrong_rating():
    log = (
        "### H99 Example\n\n- cause: c\n- harm: h\n"
        "- initial risk: likelihood high (4), severity major (4), risk 2\n"
        "- controls:\n  - control: Told — control not yet built\n"
        "- residual risk: likelihood low (2), severity major (4), risk 3\n"
    )
    found = problems(log)
    assert any("no effect" in p for p in found)
    assert any("initial risk rated 2" in p for p in found)


def test_the_readme_links_the_hazard_log():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/clinical-safety/hazard-log.md" in readme

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
