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
from portal.models.draft import KeptForm
from portal.models.indexes import REVIEWABLE
from portal.models.meeting import MeetingMode, MeetingStatus, PlanVersion, ReviewMeeting
from portal.models.notification import (
    Channel,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
)
from portal.models.organisation import Organisation
from portal.models.patient import (
    Condition,
    EthnicCategory,
    Patient,
    PrintSize,
    Sex,
    patient_conditions,
)
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
from portal.models.register import (
    ActivationCode,
    CodeChannel,
    ImportStatus,
    OfferMethod,
    OfferOutcome,
    PlanOffer,
    RegisterEntry,
    RegisterImport,
    RegisterRejection,
    TrajectoryTarget,
)
from portal.models.report import MonthlySummary, MonthlySummaryCell
from portal.models.sharing import AccessGrant, ConsentMethod, ConsentRecord, Scope
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
    "ActivationCode",
    "AuditEvent",
    "Base",
    "CarePlan",
    "CareTeamMember",
    "Channel",
    "CodeChannel",
    "Condition",
    "ConsentMethod",
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
    "ImportStatus",
    "KeptForm",
    "MeetingMode",
    "MonthlySummary",
    "MonthlySummaryCell",
    "NeedsSection",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "NotificationStatus",
    "Organisation",
    "OfferMethod",
    "OfferOutcome",
    "Patient",
    "PasswordResetToken",
    "PlanAudit",
    "PlanOffer",
    "PlanAuditItem",
    "PlanFormat",
    "PlanVersion",
    "REVIEWABLE",
    "Preparation",
    "RegisterEntry",
    "RegisterImport",
    "RegisterRejection",
    "ReviewMeeting",
    "Role",
    "Scope",
    "Sex",
    "PrintSize",
    "SharedResult",
    "Cis2RoleMapping",
    "IdentityProvider",
    "SignInIdentity",
    "SurveyResponse",
    "TrajectoryTarget",
    "User",
    "UsualState",
    "Wish",
    "WishKind",
    "patient_conditions",
]
