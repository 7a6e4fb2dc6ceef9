"""The forms the load test fills in, as a browser sends them: shared by ``bench.locustfile``
and ``bench.page_profile`` so the profile replays exactly what the load test posts."""

import html
import re
from datetime import date
from html.parser import HTMLParser

_INPUT = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')
_TEXT = re.compile(r'<textarea[^>]*name="(why_it_matters|steps)"[^>]*>(.*?)</textarea>', re.S)


class _FormReader(HTMLParser):
    """The fields a browser would send from the page's forms (a later field of the same name
    wins): text and hidden inputs, checked radios and boxes (a group with none checked: its
    first choice, as a person must choose one), each select's chosen (or first) option, and
    textareas."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select = self._textarea = None
        self._first_option = True

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind == "radio" and name not in self.fields:
                self.fields[name] = a.get("value", "on")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._first_option = name, True
        elif tag == "option" and self._select:
            if self._first_option or "selected" in a:
                self.fields[self._select] = a.get("value", "")
            self._first_option = False
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(page: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(page)
    return reader.fields


def goal_change(page: str) -> dict[str, str]:
    """The goal's form saved with its title changed, as a person would: a real change each
    time, the mark added, then taken away."""
    fields = _INPUT.findall(page) + _TEXT.findall(page)
    form = {name: html.unescape(value) for name, value in fields}
    title = form["title"]
    form["title"] = title.removesuffix(" !") if title.endswith(" !") else title + " !"
    return form


def meeting_record(page: str) -> dict[str, str]:
    """A review meeting held today: every proposal agreed (the form's defaults), the plan
    agreed as a new version."""
    form = form_fields(page)
    today = date.today()
    form.update({"held_on-day": str(today.day), "held_on-month": str(today.month),
                 "held_on-year": str(today.year), "attendees": "Patient, practice nurse",
                 "patient_feedback": "I am happy with the plan.", "crisis_reviewed": "y"})
    return form
