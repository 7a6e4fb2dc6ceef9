"""All models, imported here so metadata is complete for Alembic and relationships resolve."""

from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.contingency import (
    CallService,
    CareTeamMember,
    Contact,
    ContactKind,
    CrisisLevel,
    CrisisStep,
    UsualState,
)
from portal.models.conversation import (
    AboutKind,
    Conversation,
    ConversationStatus,
    Message,
    WrittenAs,
)
from portal.models.meeting import MeetingStatus, PlanVersion, ReviewMeeting
from portal.models.organisation import Organisation
from portal.models.patient import Condition, EthnicCategory, Patient, Sex, patient_conditions
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
from portal.models.sharing import AccessGrant, ConsentRecord, Scope
from portal.models.sign_in import Cis2RoleMapping, IdentityProvider, SignInIdentity
from portal.models.survey import PlanAudit, PlanAuditItem, SurveyResponse
from portal.models.user import PasswordResetToken, Role, User

__all__ = [
    "AboutKind",
    "Conversation",
    "ConversationStatus",
    "Message",
    "WrittenAs",
    "AccessGrant",
    "AuditEvent",
    "Base",
    "CarePlan",
    "CareTeamMember",
    "Condition",
    "ConsentRecord",
    "Contact",
    "CallService",
    "ContactKind",
    "CrisisLevel",
    "CrisisStep",
    "Domain",
    "EthnicCategory",
    "Goal",
    "GoalStatus",
    "MeetingStatus",
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
    "Preparation",
    "ReviewMeeting",
    "Role",
    "Scope",
    "Sex",
    "SharedResult",
    "Cis2RoleMapping",
    "IdentityProvider",
    "SignInIdentity",
    "SurveyResponse",
    "User",
    "UsualState",
    "Wish",
    "WishKind",
    "patient_conditions",
]
