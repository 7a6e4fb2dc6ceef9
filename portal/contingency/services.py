"""Ordering and grouping of crisis steps for the crisis page."""

from portal.models import CrisisLevel, CrisisStep

# Emergencies first: a carer reading in a hurry must meet the 999 step before anything else.
LEVEL_ORDER = (CrisisLevel.RED, CrisisLevel.AMBER, CrisisLevel.GREEN)


def steps_by_level(steps: list[CrisisStep]) -> list[tuple[CrisisLevel, list[CrisisStep]]]:
    return [(level, [s for s in steps if s.level == level]) for level in LEVEL_ORDER]
