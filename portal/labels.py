"""Translated display names for stored codes, so templates never show a raw code."""

from flask_babel import lazy_gettext as _l

from portal import audit_actions
from portal.models import (
    ContactKind,
    CrisisLevel,
    Domain,
    EmergencyReason,
    GoalStatus,
    ImportStatus,
    MembershipStatus,
    OfferMethod,
    OfferOutcome,
    OrganisationKind,
    PrintSize,
    Role,
    Scope,
    WishKind,
)

PRINT_SIZES = {
    PrintSize.STANDARD: _l("Standard print"),
    PrintSize.LARGE: _l("Large print: bigger letters, more space between lines, one column"),
    PrintSize.EASY_READ: _l("Easy read: large print with plain headings"),
}

DOMAINS = {
    Domain.HEALTH: _l("My health"),
    Domain.PERSONAL: _l("About me"),
    Domain.FAMILY: _l("My family"),
    Domain.SOCIAL: _l("Friends, community and social life"),
    Domain.HOME: _l("My home"),
    Domain.ECONOMIC: _l("Money, work and benefits"),
    Domain.EDUCATIONAL: _l("Learning and education"),
    Domain.MENTAL_HEALTH: _l("My mental health and wellbeing"),
    Domain.CULTURAL: _l("My ethnic and cultural background"),
}

DOMAIN_HINTS = {
    Domain.HEALTH: _l("Your conditions, symptoms and how they affect your day."),
    Domain.PERSONAL: _l("What matters to you and what you enjoy."),
    Domain.FAMILY: _l("The people close to you and anyone you look after."),
    Domain.SOCIAL: _l("Getting out, friends, groups and loneliness."),
    Domain.HOME: _l("Your home, stairs, heating and getting about indoors."),
    Domain.ECONOMIC: _l("Work, money worries and benefits."),
    Domain.EDUCATIONAL: _l("Reading, learning about your condition, courses."),
    Domain.MENTAL_HEALTH: _l("Your mood, worries, memory and sleep."),
    Domain.CULTURAL: _l("Your faith, culture, language and food."),
}

GOAL_STATUSES = {
    GoalStatus.PROPOSED: _l("Proposed"),
    GoalStatus.AGREED: _l("Agreed"),
    GoalStatus.ACHIEVED: _l("Achieved"),
    GoalStatus.NOT_ACHIEVED: _l("Not achieved"),
    GoalStatus.WITHDRAWN: _l("Withdrawn"),
}

WISHES = {
    WishKind.PLACE_OF_CARE: _l("Where I would like to be cared for"),
    WishKind.HOW_CARED_FOR: _l("How I like to be cared for"),
    WishKind.RELIGIOUS_CULTURAL: _l("My religious and cultural needs"),
    WishKind.THINGS_TO_AVOID: _l("Things I would like to avoid"),
    WishKind.END_OF_LIFE: _l("My wishes for the end of my life"),
}

CRISIS_LEVELS = {
    CrisisLevel.GREEN: _l("Non-urgent"),
    CrisisLevel.AMBER: _l("Urgent"),
    CrisisLevel.RED: _l("Emergency"),
}

CONTACT_KINDS = {
    ContactKind.NEXT_OF_KIN: _l("Next of kin"),
    ContactKind.CARER: _l("Carer"),
    ContactKind.PRACTICE: _l("GP practice"),
    ContactKind.OUT_OF_HOURS: _l("Out of hours"),
    ContactKind.SPECIALIST: _l("Specialist nurse or team"),
    ContactKind.OTHER: _l("Other"),
}

SCOPES = {
    Scope.CRISIS: _l("Crisis page only"),
    Scope.VIEW: _l("See the whole plan"),
    Scope.CONTRIBUTE: _l("See the plan and suggest changes"),
}

ROLES = {
    Role.PATIENT: _l("Patient"),
    Role.CARER: _l("Carer"),
    Role.PROFESSIONAL: _l("Health or care professional"),
    Role.COMMISSIONER: _l("Commissioner"),
    Role.ADMIN: _l("Administrator"),
    Role.PRACTICE_ADMIN: _l("Practice administrator"),
}


IMPORT_STATUSES = {
    ImportStatus.CHECKING: _l("Being checked"),
    ImportStatus.PREVIEWED: _l("Checked, waiting to be confirmed"),
    ImportStatus.IMPORTING: _l("Being imported"),
    ImportStatus.COMPLETED: _l("Imported"),
    ImportStatus.FAILED: _l("Not imported"),
}


OFFER_METHODS = {
    OfferMethod.LETTER: _l("Letter"),
    OfferMethod.PHONE: _l("Phone"),
    OfferMethod.FACE_TO_FACE: _l("Face to face"),
    OfferMethod.PORTAL: _l("Through the portal"),
}

OFFER_OUTCOMES = {
    OfferOutcome.ACCEPTED: _l("Accepted"),
    OfferOutcome.DECLINED: _l("Declined"),
    OfferOutcome.NO_RESPONSE: _l("No response"),
}

OFFER_STATES = {
    "not_offered": _l("Not yet offered"),
    "offered": _l("Offered, waiting for an answer"),
    **OFFER_OUTCOMES,
}


def condition(code: str):
    from portal.conditions import label_for

    return label_for(code)

# What each scope lets a carer do, in plain words (invitation form and email).
SCOPE_HINTS = {
    Scope.CRISIS: _l(
        "They can see what to do if you become unwell: warning signs, who to call, your usual "
        "health, medicines and allergies. They cannot see the rest of your plan."
    ),
    Scope.VIEW: _l(
        "They can read your whole care plan, including your goals, wishes and crisis plan. "
        "They cannot change anything."
    ),
    Scope.CONTRIBUTE: _l(
        "They can read your whole care plan and suggest changes to it. Their changes are "
        "marked as drafts until they are agreed with you at your review."
    ),
}

# The same, told to the person invited.
SCOPE_HINTS_FOR_CARER = {
    Scope.CRISIS: _l(
        "You will see what to do if they become unwell: warning signs, who to call, their "
        "usual health, medicines and allergies."
    ),
    Scope.VIEW: _l("You will be able to read their whole care plan, but not change it."),
    Scope.CONTRIBUTE: _l(
        "You will be able to read their whole care plan and suggest changes to it."
    ),
}

# Where a grant to a carer stands (see ``portal.sharing.services.grant_status``).
GRANT_STATUSES = {
    "pending": _l("Invitation sent"),
    "invitation_expired": _l("Invitation expired"),
    "active": _l("Active"),
    "ended": _l("End date passed"),
    "revoked": _l("Access stopped"),
}

# The activity page's words for audit action names live with the names themselves.
audit_action = audit_actions.label

SEXES = {
    "female": _l("Female"),
    "male": _l("Male"),
    "other": _l("Other"),
    "unknown": _l("Not known"),
}

# NHS Data Dictionary ethnic categories (2001 census groups), stored as readable codes.
ETHNICITIES = {
    "white_british": _l("White: British"),
    "white_irish": _l("White: Irish"),
    "white_other": _l("White: any other White background"),
    "mixed_white_black_caribbean": _l("Mixed: White and Black Caribbean"),
    "mixed_white_black_african": _l("Mixed: White and Black African"),
    "mixed_white_asian": _l("Mixed: White and Asian"),
    "mixed_other": _l("Mixed: any other mixed background"),
    "asian_indian": _l("Asian or Asian British: Indian"),
    "asian_pakistani": _l("Asian or Asian British: Pakistani"),
    "asian_bangladeshi": _l("Asian or Asian British: Bangladeshi"),
    "asian_other": _l("Asian or Asian British: any other Asian background"),
    "black_caribbean": _l("Black or Black British: Caribbean"),
    "black_african": _l("Black or Black British: African"),
    "black_other": _l("Black or Black British: any other Black background"),
    "chinese": _l("Chinese"),
    "other": _l("Any other ethnic group"),
    "not_stated": _l("Not stated"),
}


def ethnicity(code: str):
    return ETHNICITIES.get(code, code)


def language(code: str) -> str:
    """A language's name in the reader's language (``ur`` -> "Urdu" for an English reader)."""
    from babel import Locale, UnknownLocaleError
    from flask_babel import get_locale

    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(get_locale()) or code
    except (ValueError, UnknownLocaleError):
        return code

# The satisfaction survey after a review meeting: each statement is scored 1 to 5.
SURVEY_STATEMENTS = {
    "involved": _l("I was involved as much as I wanted to be in decisions about my care"),
    "agreed_plan": _l("We agreed a plan together"),
    "confidence": _l("I feel confident managing my health"),
}

ORGANISATION_KINDS = {
    OrganisationKind.GP_PRACTICE: _l("GP practice"),
    OrganisationKind.COMMUNITY_HEALTH: _l("Community health services"),
    OrganisationKind.HOSPITAL: _l("Hospital"),
    OrganisationKind.MENTAL_HEALTH: _l("Mental health services"),
    OrganisationKind.SOCIAL_CARE: _l("Social care"),
    OrganisationKind.HOSPICE: _l("Hospice"),
    OrganisationKind.VOLUNTARY: _l("Voluntary sector"),
    OrganisationKind.URGENT_CARE: _l("Urgent care (ambulance, NHS 111, out of hours)"),
}

MEMBERSHIP_STATUSES = {
    MembershipStatus.PROPOSED: _l("Waiting for your agreement"),
    MembershipStatus.ACTIVE: _l("Active"),
    MembershipStatus.ENDED: _l("Access stopped"),
}

EMERGENCY_REASONS = {
    EmergencyReason.CALLED_TO_ATTEND: _l("I am attending this person now"),
    EmergencyReason.CALL_ABOUT_PATIENT: _l("I am taking a call about this person"),
    EmergencyReason.CANNOT_COMMUNICATE: _l("This person cannot tell me what they need"),
    EmergencyReason.OTHER: _l("Another reason"),
}
