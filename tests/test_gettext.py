"""Templates and Python code translate with the catalogue of the locale in force, even when it
changes mid-request.

The portal remembers the request's catalogue (``portal.i18n.RequestDomain``, and
``request_translations`` for the templates); a PDF or email rendered with ``force_locale`` in
the middle of an English page must still come out in its own language, and the page after it
in English.
"""

import pytest
from flask import render_template_string
from flask_babel import force_locale, gettext, lazy_gettext, refresh

TEMPLATE = "{{ _('Next review') }}"


def test_forced_locale_gets_its_own_catalogue_and_the_page_gets_its_own_back(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(TEMPLATE) == "Next review"
        with force_locale("cy"):
            assert render_template_string(TEMPLATE) == "Adolygiad nesaf"
            with force_locale("pl"):
                assert render_template_string(TEMPLATE) == "Następny przegląd"
            assert render_template_string(TEMPLATE) == "Adolygiad nesaf"
        assert render_template_string(TEMPLATE) == "Next review"


def test_a_language_changed_during_the_request_is_used_after_refresh(app):
    with app.test_request_context("/", headers={"Accept-Language": "pl"}):
        assert render_template_string(TEMPLATE) == "Następny przegląd"
        with app.test_request_context("/", headers={"Accept-Language": "cy"}):
            refresh()
            assert render_template_string(TEMPLATE) == "Adolygiad nesaf"

def test_python_gettext_and_lazy_strings_follow_the_forced_locale_and_come_back(app):
    lazy = lazy_gettext("Next review")
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert gettext("Next review") == "Next review"
        with force_locale("cy"):
            assert gettext("Next review") == "Adolygiad nesaf"
            assert str(lazy) == "Adolygiad nesaf"
            assert render_template_string(TEMPLATE) == "Adolygiad nesaf"
        assert gettext("Next review") == str(lazy) == "Next review"
        assert render_template_string(TEMPLATE) == "Next review"


# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
