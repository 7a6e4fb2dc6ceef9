"""How much one plan may hold, so that no plan can make its pages or PDFs unbounded work.

Without a limit a plan of a few hundred goals takes longer to print than a worker may run, and
a crisis sheet of eighty steps runs to forty pages. The numbers leave room for any real plan
(`docs/security.md`); `bench/worst_plan_bench.py` renders the largest plan they allow.
The services check them before adding anything (``check_room``); the pages check them before
showing an empty form, so nobody types out an item that cannot be saved.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CarePlan, CareTeamMember, Contact, CrisisStep, Goal, GoalStatus

MAX_GOALS = 20
MAX_CRISIS_STEPS = 5
MAX_CONTACTS = 5
MAX_CARE_TEAM = 20

# Crisis text is printed on one sheet of A4: these keep the largest crisis plan on it.
CRISIS_SIGNS_LIMIT = 140
CRISIS_ACTIONS_LIMIT = 180
CRISIS_WHO_LIMIT = 60
USUAL_STATE_LIMIT = 100  # each description of the usual state of health
MEDICINES_LIMIT = 300  # medicines and allergies are what a paramedic needs most
LOCATION_LIMIT = 60  # where a document or medicine is kept
CONTACT_NAME_LIMIT = 50
CONTACT_DETAIL_LIMIT = 50  # relationship, and when to call

LIMITS = {
    Goal: (
        MAX_GOALS,
        _l(
            "This plan already has %(max)d goals, the most it can hold. "
            "Change or withdraw a goal instead of adding another."
        ),
    ),
    CrisisStep: (
        MAX_CRISIS_STEPS,
        _l(
            "This crisis plan already has %(max)d steps, the most it can hold. "
            "Change or remove a step instead of adding another."
        ),
    ),
    Contact: (
        MAX_CONTACTS,
        _l(
            "This plan already has %(max)d contacts, the most it can hold. "
            "Change or remove a contact instead of adding another."
        ),
    ),
    CareTeamMember: (
        MAX_CARE_TEAM,
        _l(
            "This care team already has %(max)d members, the most it can hold. "
            "Change or remove a member instead of adding another."
        ),
    ),
}


class PlanFull(Exception):
    """The plan already holds the most items of this kind it may."""

    def __init__(self, model):
        super().__init__(model.__name__)
        self.model = model

    @property
    def message(self) -> str:
        limit, message = LIMITS[self.model]
        return str(message) % {"max": limit}


def has_room(model, plan_id: int, adding: int = 1) -> bool:
    """Whether ``adding`` more items of ``model`` fit in the plan (items awaiting review count)."""
    limit, _message = LIMITS[model]
    query = select(func.count()).select_from(model).where(model.plan_id == plan_id)
    if model is Goal:  # a withdrawal agreed at a review is history: it is no longer printed
        query = query.where((Goal.status != GoalStatus.WITHDRAWN) | Goal.pending_review)
    return db.session.scalar(query) + adding <= limit


def check_room(model, plan_id: int) -> None:
    """Raise ``PlanFull`` unless one more fits. The plan's row is locked first (PostgreSQL;
    SQLite has one writer at a time anyway) until the save commits, so two saves at the same
    instant cannot both count the last free place."""
    db.session.execute(select(CarePlan.id).where(CarePlan.id == plan_id).with_for_update())
    if not has_room(model, plan_id):
        raise PlanFull(model)
