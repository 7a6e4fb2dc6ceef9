"""The one description of the plan's sections, and the places that read it."""

from datetime import date, timedelta

import pytest
from flask import current_app

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


# --- adding a field is one change in one place --------------------------------------------------
# Each field of each section, filled with a value of its own, must reach the person's form, the
# agreed version, the PDF and the FHIR document: a field added to ``portal.sections`` (and its
# column) fails here until every one of them shows it.

TARGET = date.today() + timedelta(days=90)
CODED = {"level": "red", "kind": "next_of_kin", "status": "agreed", "target_date": TARGET}
PHONE = "01632 960001"


def _value(field: str):
    """A value only this field holds: a code, a date, a phone number, or its own word."""
    if field in CODED:
        return CODED[field]
    return PHONE if field == "phone" else f"Q{field.replace('_', '')}Q"


def _form_of(key: str):
    from portal.contingency.forms import ContactForm, CrisisStepForm, UsualStateForm
    from portal.goals.forms import GoalForm
    from portal.needs.forms import OwnWordsForm

    return {
        "needs": OwnWordsForm,
        "wishes": OwnWordsForm,
        "goals": GoalForm,
        "crisis_steps": CrisisStepForm,
        "usual_state": UsualStateForm,
        "contacts": ContactForm,
    }[key]


@pytest.fixture
def every_field(db, cast):
    """Patient A's plan with every described field of every section filled, then agreed."""
    plan = cast.plan_a
    items = {
        "needs": plan.needs[0],
        "wishes": plan.wishes[0],
        "goals": plan.goals[0],
        "crisis_steps": plan.crisis_steps[0],
        "usual_state": plan.usual_state,
        "contacts": plan.contacts[0],
    }
    assert set(items) == set(sections.BY_KEY)
    for key, item in items.items():
        for field in sections.BY_KEY[key].fields:
            setattr(item, field, _value(field))
        item.pending_review = False
    db.session.flush()
    versions.create_version(plan, cast.users["professional"])
    db.session.commit()
    return plan


def _shown(field: str, text: str) -> bool:
    """Whether ``text`` (a PDF page or a FHIR document) shows this field's value."""
    from portal import labels
    from portal.portability import terminology

    value = _value(field)
    if field == "target_date":
        return TARGET.isoformat() in text or current_app.jinja_env.filters["date"](TARGET) in text
    if field == "level":
        return str(labels.CRISIS_LEVELS[value]) in text or f'"code": "{value}"' in text
    if field == "kind":
        return str(labels.CONTACT_KINDS[value]) in text or terminology.CONTACT_KINDS[value] in text
    if field == "status":  # the PDF marks the agreed goal, FHIR calls it active
        return f"pdf-tag--{value}" in text or '"lifecycleStatus": "active"' in text
    return value in text


@pytest.mark.parametrize("key", [s.key for s in sections.SECTIONS])
def test_every_field_the_person_is_asked_is_built_from_its_description(app, key):
    form_class = _form_of(key)
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
    asked = [f for f in sections.BY_KEY[key].fields if sections.FIELD_RULES[f].asked]
    assert asked and set(asked) <= {field.name for field in form}
    for name in asked:
        rule = sections.FIELD_RULES[name]
        assert str(form[name].label.text) == str(rule.asked.label)
        limits = [v.max for v in form[name].validators if hasattr(v, "max") and v.max > 0]
        if rule.limit is not None:
            assert limits == [rule.limit], name
    # In the section's order, as the page lists them and the error summary names them.
    order = [field.name for field in form if field.name in asked]
    assert order == asked


@pytest.mark.parametrize("key", [s.key for s in sections.SECTIONS])
def test_every_described_field_reaches_the_snapshot_the_pdf_and_fhir(app, every_field, key):
    from flask_babel import force_locale

    from portal.pdf import services as pdf
    from portal.portability.fhir_export import bundle_json

    kept = versions.latest_version(every_field.id).snapshot[key]
    entries = [kept] if key == "usual_state" else list(kept.values())
    with app.test_request_context(), force_locale("en_GB"):
        printed = pdf.plan_html(every_field)
        document = bundle_json(every_field)
        for field in sections.BY_KEY[key].fields:
            assert any(field in entry for entry in entries), f"{key}.{field} not in the snapshot"
            assert _shown(field, printed), f"{key}.{field} not in the PDF"
            assert _shown(field, document), f"{key}.{field} not in the FHIR document"


def test_the_meeting_amends_a_field_within_the_limit_the_persons_form_has(app):
    """One limit a field: text amended at the review cannot outgrow the crisis sheet's limits,
    which the patient's own form keeps to."""
    from portal.meetings.forms import _amend_field

    with app.test_request_context():
        for section in sections.SECTIONS:
            own = _form_of(section.key)(meta={"csrf": False})
            for name in section.amendable:
                if name not in own or sections.FIELD_RULES[name].limit is None:
                    continue
                amend = _amend_field(name).bind(own, f"amend_{name}")
                limits = {v.max for v in amend.validators if getattr(v, "max", -1) > 0}
                assert limits == {v.max for v in own[name].validators if getattr(v, "max", -1) > 0}
                assert limits == {sections.FIELD_RULES[name].limit}, name
