"""The one description of the plan's sections, and the places that read it."""

import pytest

from portal import audit_actions, sections
from portal.meetings import services as meetings
from portal.versions import labels as version_labels
from portal.versions import services as versions


@pytest.mark.parametrize("section", sections.SECTIONS, ids=lambda s: s.key)
def test_each_section_describes_real_columns_with_labels(section):
    columns = set(section.model.__table__.columns.keys())
    assert set(section.fields) <= columns
    assert set(section.amendable) <= set(section.fields)
    for field in section.fields:
        assert field in sections.FIELD_LABELS


@pytest.mark.parametrize("section", sections.SECTIONS, ids=lambda s: s.key)
def test_every_audit_name_a_section_writes_is_registered(section):
    for verb in ("agree", "amend", "decline"):
        assert f"{section.review_audit_name}.{verb}" in audit_actions.ACTIONS
    for verb in ("create", "edit"):
        assert f"{section.audit_name}.{verb}" in audit_actions.ACTIONS


def test_the_meeting_and_the_snapshot_read_their_lists_from_the_sections():
    for section in sections.SECTIONS:
        assert meetings.KINDS[section.key] is section.model
        assert meetings.AMENDABLE[section.key] == section.amendable
        assert meetings.AUDIT_NAMES[section.key] == section.review_audit_name
        assert versions.FIELDS[section.key] == section.fields
    assert list(meetings.KINDS) == [section.key for section in sections.SECTIONS]
    for field, label in sections.FIELD_LABELS.items():
        assert version_labels.FIELDS[field] is label


@pytest.mark.parametrize("section", sections.SECTIONS, ids=lambda s: s.key)
def test_each_field_has_a_rule_that_fits_its_column(section):
    for field in section.fields:
        rule = sections.FIELD_RULES[field]
        length = getattr(section.model.__table__.columns[field].type, "length", None)
        if rule.widget in (sections.Widget.LINE, sections.Widget.TEXT):
            assert rule.limit is not None
            assert length is None or rule.limit <= length, field
        if rule.widget is sections.Widget.CHOICE and field in section.amendable:
            assert field in sections.CHOICES


def test_the_meeting_amends_each_field_with_the_widget_its_rule_names(app):
    from portal.meetings.forms import _amend_field

    names = ("title", "steps", "phone", "level", "target_date")
    with app.test_request_context():
        kinds = {name: _amend_field(name).field_class.__name__ for name in names}
    assert kinds == {
        "title": "StringField",
        "steps": "TextAreaField",
        "phone": "StringField",
        "level": "SelectField",
        "target_date": "DateInputField",
    }
