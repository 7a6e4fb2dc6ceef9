"""Form fields built from the description of the plan's sections (``portal.sections``).

The person's own forms (``asks_section``) and the review meeting's amend fields
(``portal.meetings.forms``) take each field's widget, limit and messages from there, so a field
added to a section appears on its form without being declared again.
"""

from wtforms import StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, Length

from portal.fields import DateInputField, phone_field
from portal.sections import BY_KEY, FIELD_RULES, Widget

_TEXT_WIDGETS = {Widget.LINE: StringField, Widget.TEXT: TextAreaField}


def text_field(widget: Widget, label, limit: int, too_long, required=None) -> UnboundField:
    """A line or a paragraph of text with its limit, and a message when it is required."""
    validators = [DataRequired(message=required)] if required else []
    validators.append(Length(max=limit, message=too_long))
    return _TEXT_WIDGETS[widget](label, validators=validators)


def asked_fields(key: str) -> tuple[str, ...]:
    """The fields of a section that the person's own form asks for, in the section's order."""
    return tuple(name for name in BY_KEY[key].fields if FIELD_RULES[name].asked is not None)


def own_field(name: str) -> UnboundField:
    """The field the person's own form asks ``name`` in, as ``portal.sections`` describes it.

    A choice is declared on its form, with the words each choice is offered in there.
    """
    rule = FIELD_RULES[name]
    asked = rule.asked
    if rule.widget is Widget.DATE:
        return DateInputField(asked.label)
    if rule.widget is Widget.PHONE:
        return phone_field(asked.label, required=asked.required)
    if rule.widget is Widget.CHOICE:
        raise TypeError(f"{name} is a choice: declare it on the form with its choices")
    return text_field(rule.widget, asked.label, rule.limit, asked.too_long, asked.required)


def _renumber(field: UnboundField) -> None:
    """Put ``field`` after every field made so far (WTForms orders fields as they are made)."""
    UnboundField.creation_counter += 1
    field.creation_counter = UnboundField.creation_counter


def asks_section(key: str):
    """Add the section's asked fields that the form does not declare itself (its choices).

    The fields keep the section's order, then come the form's own others (a version, "who to
    call", opening hours), so the error summary lists problems as the page shows them.
    """

    def decorate(form_class):
        declared = {
            name: value
            for name, value in vars(form_class).items()
            if isinstance(value, UnboundField)
        }
        for name in asked_fields(key):
            field = declared.pop(name, None) or own_field(name)
            _renumber(field)
            setattr(form_class, name, field)
        for name, field in sorted(declared.items(), key=lambda item: item[1].creation_counter):
            _renumber(field)
            setattr(form_class, name, field)
        form_class.ASKED = asked_fields(key)
        return form_class

    return decorate
