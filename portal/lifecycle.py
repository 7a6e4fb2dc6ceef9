"""One vocabulary for where a plan item stands between meetings.

Every page, the PDF and the review's comparison ask ``item_label`` what to call a goal, a wish,
an about-me section or a crisis item, so the same state never has two names. The words follow
the NHS content style guide: plain, sentence case, the person's own name or "your".
"""

from dataclasses import dataclass
from datetime import date

from flask import has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import escape

from portal import labels
from portal.bidi import ltr_date
from portal.i18n import format_date
from portal.models import GoalStatus

# A reader who wrote nothing: for documents that are the same for everyone (the PDF).
ANY_READER = 0

# The colour of the NHS.UK tag for each kind of state.
AGREED, WAITING, WITHDRAWING, CLOSED, DONE = "green", "yellow", "orange", "grey", "blue"


@dataclass(frozen=True)
class Label:
    text: str
    colour: str

    @property
    def waiting(self) -> bool:
        """Not yet agreed: a change waiting for the review meeting."""
        return self.colour in (WAITING, WITHDRAWING)


def _author(item):
    """Who made the change waiting for review (the proposer of a new goal)."""
    return getattr(item, "updated_by", None) or getattr(item, "proposed_by", None)


def _is_new(item) -> bool:
    return getattr(item, "status", None) == GoalStatus.PROPOSED


def _reader_id() -> int | None:
    """The signed-in person's id, through the ``current_user`` proxy once (a page asks for
    every item it labels)."""
    user = current_user._get_current_object() if has_request_context() else None
    return user.id if user is not None and user.is_authenticated else None


def _held_apart(change, short: bool) -> Label:
    """A crisis change nobody in the care team has checked, as the crisis page and sheet show
    it apart from the agreed plan: who made it (with their relationship), when, and that the
    care team has not checked it (hazard H02). ``short``: the crisis sheet's compact line.
    A change with no author (imported, or its account gone) says when only, never "by" an
    empty name."""
    who, kind = (change.by_name or "").strip(), change.change
    colour = WITHDRAWING if kind == "removal" else WAITING
    if short:
        when = ltr_date(format_date(change.on, "short"))
        if not who:
            text = _unattributed(kind, short=True)
        elif kind == "added":
            text = _("Added by %(who)s, %(date)s")
        elif kind == "changed":
            text = _("Changed by %(who)s, %(date)s")
        else:
            text = _("Removal asked by %(who)s, %(date)s")
    else:
        when = ltr_date(format_date(change.on))
        if not who:
            text = _unattributed(kind, short=False)
        else:
            if change.by_relationship:
                who = f"{who} ({change.by_relationship})"
            if kind == "added":
                text = _("Added by %(who)s on %(date)s, not yet checked by the care team")
            elif kind == "changed":
                text = _("Changed by %(who)s on %(date)s, not yet checked by the care team")
            else:
                text = _(
                    "%(who)s asked on %(date)s for this to be removed, "
                    "not yet checked by the care team"
                )
    # The translation is the template; the name is escaped, the date may carry its direction.
    return Label(escape(text) % {"who": who, "date": when}, colour)


def _unattributed(kind: str, short: bool) -> str:
    """The words for a change with no author: when, never "by" anyone."""
    if kind == "added":
        if short:
            return _("Added on %(date)s")
        return _("Added on %(date)s, not yet checked by the care team")
    if kind == "changed":
        if short:
            return _("Changed on %(date)s")
        return _("Changed on %(date)s, not yet checked by the care team")
    if short:
        return _("Removal asked on %(date)s")
    return _("Asked on %(date)s to be removed, not yet checked by the care team")


def _removal(author, mine: bool) -> Label:
    """A crisis step or contact someone asked to remove, waiting for the care team."""
    if mine:
        return Label(_("You asked to remove this – not yet agreed"), WITHDRAWING)
    if author is not None:
        text = _("%(name)s asked to remove this – not yet agreed", name=author.display_name)
        return Label(text, WITHDRAWING)
    return Label(_("Asked to remove – not yet agreed"), WITHDRAWING)


def item_label(
    item,
    agreed_on: date | None = None,
    viewer_id: int | None = None,
    change=None,
    words: str = "tag",
) -> Label:
    """What to call ``item`` for the person reading (``viewer_id``, by default the signed-in
    person: their own change is "Your suggestion").

    ``agreed_on`` (the last review's date) makes an agreed item read "Agreed on 7 December
    2026", as the PDF and the agreed versions write it; without it, "Agreed". ``change`` (a
    ``held_apart.UnreviewedChange`` of this crisis item) says whether it was added, changed or
    asked to be removed; with ``words`` "full" (the crisis page and sheet) or "short" (the
    sheet's compact line) it gives the fuller words for a change held apart, saying when and
    that the care team has not checked it.
    """
    if change is not None and words != "tag":
        return _held_apart(change, words == "short")
    viewer_id = _reader_id() if viewer_id is None else viewer_id
    status = getattr(item, "status", None)
    if getattr(item, "pending_review", False):
        author = _author(item)
        mine = author is not None and author.id == viewer_id
        if getattr(item, "removal_proposed", False):
            return _removal(author, mine)
        if status == GoalStatus.WITHDRAWN:
            if mine:
                return Label(_("You asked to stop this goal – not yet agreed"), WITHDRAWING)
            if author is not None:
                name = author.display_name
                text = _("%(name)s asked to stop this goal – not yet agreed", name=name)
                return Label(text, WITHDRAWING)
            return Label(_("Asked to stop – not yet agreed"), WITHDRAWING)
        if mine:
            return Label(_("Your suggestion – not yet agreed"), WAITING)
        if author is None:
            return Label(_("Suggestion – not yet agreed"), WAITING)
        if _is_new(item) or getattr(change, "change", None) == "added":
            text = _("Added by %(name)s – not yet agreed", name=author.display_name)
            return Label(text, WAITING)
        return Label(_("Changed by %(name)s – not yet agreed", name=author.display_name), WAITING)
    if status in (GoalStatus.ACHIEVED, GoalStatus.NOT_ACHIEVED, GoalStatus.WITHDRAWN):
        colour = DONE if status == GoalStatus.ACHIEVED else CLOSED
        return Label(str(labels.GOAL_STATUSES[status]), colour)
    if agreed_on is not None:
        return Label(_("Agreed on %(date)s", date=format_date(agreed_on)), AGREED)
    return Label(_("Agreed"), AGREED)


def waiting_items(plan) -> list[tuple[str, object]]:
    """(section, item) for every change waiting for the review, from the plan already loaded."""
    found = []
    for section in ("goals", "wishes", "needs", "crisis_steps", "contacts"):
        found += [(section, item) for item in getattr(plan, section) if item.pending_review]
    if plan.usual_state is not None and plan.usual_state.pending_review:
        found.append(("usual_state", plan.usual_state))
    return found


def waiting_count(plan) -> int:
    """How many changes wait for the review meeting."""
    return len(waiting_items(plan))
