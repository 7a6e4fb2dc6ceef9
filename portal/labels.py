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
