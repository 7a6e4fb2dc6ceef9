"""All models, imported here so metadata is complete for Alembic and relationships resolve."""

from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.contingency import (
    CareTeamMember,
    Contact,
    ContactKind,
    CrisisLevel,
    CrisisStep,
    UsualState,
)
from portal.models.draft import KeptForm
from portal.models.indexes import REVIEWABLE
from portal.models.meeting import MeetingMode, PlanVersion, ReviewMeeting
from portal.models.organisation import Organisation
from portal.models.patient import Condition, Patient, patient_conditions
from portal.models.plan import (
    CarePlan,
    Domain,
    Goal,
    GoalStatus,
    NeedsSection,
    PlanFormat,
    Preparation,
    SharedResult,
    Wish,
    WishKind,
)
from portal.models.report import MonthlySummary, MonthlySummaryCell
from portal.models.sharing import AccessGrant, ConsentMethod, ConsentRecord, Scope
from portal.models.survey import PlanAudit, PlanAuditItem, SurveyResponse
from portal.models.user import PasswordResetToken, Role, User

__all__ = [
    "AccessGrant",
    "AuditEvent",
    "Base",
    "CarePlan",
    "CareTeamMember",
    "Condition",
    "ConsentMethod",
    "ConsentRecord",
    "Contact",
    "ContactKind",
    "CrisisLevel",
    "CrisisStep",
    "Domain",
    "Goal",
    "GoalStatus",
    "KeptForm",
    "MeetingMode",
    "MonthlySummary",
    "MonthlySummaryCell",
    "NeedsSection",
    "Organisation",
    "Patient",
    "PasswordResetToken",
    "PlanAudit",
    "PlanAuditItem",
    "PlanFormat",
    "PlanVersion",
    "REVIEWABLE",
    "Preparation",
    "ReviewMeeting",
    "Role",
    "Scope",
    "SharedResult",
    "SurveyResponse",
    "User",
    "UsualState",
    "Wish",
    "WishKind",
    "patient_conditions",
]
