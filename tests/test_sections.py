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
