"""The rules every form shares: text is cleaned before it is checked, passwords are not."""

import unicodedata

from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import Length

from portal import fields
from portal.fields import PortalForm, phone_field


class _Form(PortalForm):
    name = StringField()
    story = TextAreaField(validators=[Length(max=5)])
    hidden = HiddenField()
    password = PasswordField()
    phone = phone_field("Phone")


def _form(app, **data):
    with app.test_request_context(method="POST"):
        form = _Form(formdata=MultiDict(data), meta={"csrf": False})
        form.validate()
        return form


def test_text_is_trimmed_folded_and_composed(app):
    decomposed = unicodedata.normalize("NFD", "Siân Öztürk")
    form = _form(app, name=f"  {decomposed}\x07 ", story="ab\r\ncd", hidden=" 3 ")
    assert form.name.data == "Siân Öztürk"
    assert form.name.data == unicodedata.normalize("NFC", form.name.data)
    assert form.story.data == "ab\ncd"
    assert form.story.errors == []  # 5 characters as the page counts them, 6 as sent
    assert form.hidden.data == "3"


def test_passwords_are_left_exactly_as_typed(app):
    assert _form(app, password="  spaced out  ").password.data == "  spaced out  "


def test_one_phone_field_checks_the_number(app):
    assert _form(app, phone="07700 900123").phone.errors == []
    assert _form(app, phone=" not a phone number at all ").phone.errors
    assert _form(app, phone="0" * 41).phone.errors


def test_every_form_in_the_portal_is_a_portal_form():
    from flask_wtf import FlaskForm

    import portal.account.forms
    import portal.admin.forms
    import portal.audits.forms
    import portal.auth.forms
    import portal.contingency.forms
    import portal.goals.forms
    import portal.meetings.forms
    import portal.needs.forms
    import portal.portability.forms
    import portal.preparation.forms
    import portal.reports.forms
    import portal.sharing.forms
    import portal.surveys.forms  # noqa: F401

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    plain = [
        f"{c.__module__}.{c.__name__}"
        for c in subclasses(FlaskForm)
        if c.__module__.startswith("portal.") and not issubclass(c, PortalForm)
    ]
    assert plain == []
    assert fields.clean_text("\x00 x\r\ny \r") == "x\ny"
