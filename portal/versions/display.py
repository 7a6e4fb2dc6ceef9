"""Turning stored snapshot values into what a reader sees, in their language."""

from dataclasses import dataclass
from datetime import date, time

from flask_babel import gettext, ngettext

from portal import labels
from portal.extensions import db
from portal.i18n import format_date
from portal.models import Contact
from portal.models.contingency import CONTACT_CHOICE, CallService
from portal.versions.services import DATE_FIELDS

# Written by professionals or the portal, not in the patient's own words.
_PLAIN_SECTIONS = frozenset({"named_contact", "review"})


@dataclass(frozen=True)
class Shown:
    text: str
    own_words: bool  # patient-written: shown with its language, never translated


def snapshot_value(section: str, field: str, value) -> Shown | None:
    """How to show one stored value; ``None`` when there is nothing to show."""
    if value is None or value == "":
        return None
    if field == "status":
        return Shown(str(labels.GOAL_STATUSES.get(value, value)), False)
    if field == "level":
        return Shown(str(labels.CRISIS_LEVELS.get(value, value)), False)
    if section == "contacts" and field == "kind":
        return Shown(str(labels.CONTACT_KINDS.get(value, value)), False)
    if field in DATE_FIELDS:
        try:
            return Shown(format_date(date.fromisoformat(str(value)), "long"), False)
        except ValueError:
            return Shown(str(value), False)
    if field == "review_interval_months":
        return Shown(ngettext("%(num)d month", "%(num)d months", int(value)), False)
    if field == "call":
        return Shown(_chosen_call(str(value)), False)
    if field == "hours":
        return Shown(_opening_hours(value), False)
    if field == "complex_needs":
        return Shown(gettext("Yes") if value else gettext("No"), False)
    return Shown(str(value), section not in _PLAIN_SECTIONS)


def _chosen_call(value: str) -> str:
    """999, NHS 111, or the chosen contact's name and number (``CrisisStep.call``)."""
    if value == CallService.NHS_111:
        return gettext("NHS 111")
    number = value.removeprefix(CONTACT_CHOICE)
    if value.startswith(CONTACT_CHOICE) and number.isdigit():
        contact = db.session.get(Contact, int(number))
        if contact is None:
            return gettext("A contact no longer in the plan")
        return f"{contact.name} ({contact.phone})"
    return value


def _opening_hours(hours) -> str:
    opens, closes, weekdays_only = hours
    times = {"opens": _clock(opens), "closes": _clock(closes)}
    if weekdays_only:
        return gettext("Open Monday to Friday, %(opens)s to %(closes)s", **times)
    return gettext("Open every day, %(opens)s to %(closes)s", **times)


def _clock(value: str | None) -> str:
    return time.fromisoformat(value).strftime("%H:%M") if value else ""
