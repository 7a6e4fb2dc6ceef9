"""Translated display names for stored codes, so templates never show a raw code."""

from flask_babel import lazy_gettext as _l

from portal.models import ContactKind, CrisisLevel, Domain, GoalStatus, Role, Scope, WishKind

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

# Audit action codes in plain words for "Who has looked at my plan". Areas that record new
# actions add their phrase here; an unknown code still reads sensibly (``audit_action``).
AUDIT_ACTIONS = {
    "plan.view": _l("Looked at the care plan"),
    "crisis.view": _l("Looked at the crisis plan"),
    "pdf.plan": _l("Downloaded the care plan"),
    "pdf.crisis": _l("Downloaded the crisis sheet"),
    "goal.create": _l("Added a goal"),
    "goal.edit": _l("Changed a goal"),
    "goal.agree": _l("Agreed a goal"),
    "goal.achieved": _l("Recorded a goal as achieved"),
    "goal.not_achieved": _l("Recorded a goal as not achieved"),
    "needs.create": _l("Wrote about what matters"),
    "needs.edit": _l("Changed what matters"),
    "wish.create": _l("Wrote down a wish"),
    "wish.edit": _l("Changed a wish"),
    "preparation.edit": _l("Changed the preparation for the review"),
    "crisis_step.create": _l("Added a step to the crisis plan"),
    "crisis_step.edit": _l("Changed a step in the crisis plan"),
    "usual_state.edit": _l("Changed the usual state of health"),
    "contact.create": _l("Added a contact"),
    "contact.edit": _l("Changed a contact"),
    "meeting.record": _l("Recorded a review meeting"),
    "result.share": _l("Shared a test result"),
    "sharing.invite": _l("Invited someone to see the plan"),
    "sharing.resend": _l("Sent an invitation again"),
    "sharing.accept": _l("Accepted an invitation to see the plan"),
    "sharing.change": _l("Changed what someone can see"),
    "sharing.revoke": _l("Stopped someone seeing the plan"),
    "sharing.give_up": _l("Gave up access to the plan"),
    "consent.given": _l("Agreed to share the plan with the care team"),
    "consent.withdrawn": _l("Stopped sharing the plan with the care team"),
    "fhir.export": _l("Downloaded your plan for another health system"),
    "fhir.import": _l("Added goals and crisis steps from another health system"),
    "data.download": _l("Downloaded a copy of everything the portal holds about you"),
    "versions.view": _l("Looked at the earlier versions of your plan"),
    "version.view": _l("Looked at an earlier version of your plan"),
    "versions.compare": _l("Compared two versions of your plan"),
    "meeting.calendar_download": _l("Saved your review meeting to a calendar"),
    "review.view": _l("Looked at your plan to prepare or record your review"),
    "results.view": _l("Looked at your shared test results"),
    "care_team.view": _l("Looked at your care team"),
    "care_team_member.create": _l("Added someone to your care team"),
    "care_team_member.edit": _l("Changed the details of someone in your care team"),
    "care_team_member.delete": _l("Removed someone from your care team"),
    "plan_audit.view_item": _l("Checked your plan as part of a quality audit"),
}

_GENERIC_VIEW = _l("Looked at part of the plan")
_GENERIC_CHANGE = _l("Changed part of the plan")
_GENERIC = _l("Did something else with the plan")


def audit_action(code: str):
    """The plain-words phrase for an audit action code, with a generic one for new codes."""
    if code in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[code]
    verb = code.rpartition(".")[2]
    if verb in ("view", "download"):
        return _GENERIC_VIEW
    if verb in ("create", "edit", "update", "delete", "agree", "withdraw"):
        return _GENERIC_CHANGE
    return _GENERIC

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
