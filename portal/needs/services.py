"""Saving a needs section or a wish: one text per domain or kind, created on first save."""

from dataclasses import dataclass

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import labels
from portal.editing import save_proposal
from portal.extensions import db
from portal.models import Domain, NeedsSection, User, Wish, WishKind


@dataclass(frozen=True)
class Part:
    """What differs between a whole-person section and a wish."""

    model: type
    key_column: str  # "domain" or "kind"
    kind: str  # audit name
    codes: frozenset[str]
    titles: dict
    hints: dict
    anchor: str  # where it sits on the plan page


NEEDS = Part(
    NeedsSection,
    "domain",
    "needs",
    frozenset(Domain),
    labels.DOMAINS,
    labels.DOMAIN_HINTS,
    "whole-person",
)
WISHES = Part(
    Wish,
    "kind",
    "wish",
    frozenset(WishKind),
    labels.WISHES,
    {
        WishKind.PLACE_OF_CARE: _l("At home, in a hospice, in hospital, or somewhere else."),
        WishKind.HOW_CARED_FOR: _l("How you like people to talk to you and help you."),
        WishKind.RELIGIOUS_CULTURAL: _l("Prayer, food, who you would like called, customs."),
        WishKind.THINGS_TO_AVOID: _l("Treatments, places or situations you would rather avoid."),
        WishKind.END_OF_LIFE: _l(
            "What matters to you towards the end of your life, if you want to say."
        ),
    },
    "wishes",
)


def item_for(part: Part, plan_id: int, code: str):
    """The saved text for this domain or kind, a new unsaved one, or 404 for an unknown code."""
    if code not in part.codes:
        abort(404)
    column = getattr(part.model, part.key_column)
    item = db.session.scalar(
        select(part.model).where(part.model.plan_id == plan_id, column == code)
    )
    return item or part.model(plan_id=plan_id, **{part.key_column: code})


def save_text(
    part: Part, item, text: str, seen_version: int | None, user: User, patient_id: int
) -> None:
    def saved_first():
        """Two people wrote the first text for this section at once: the other save won."""
        saved = item_for(part, item.plan_id, getattr(item, part.key_column))
        return saved if saved.id is not None else None

    save_proposal(
        item, {"text": text}, seen_version, user, patient_id, part.kind, find=saved_first
    )
