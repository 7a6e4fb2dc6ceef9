"""Every page each role can reach, for the accessibility sweep and the phone-layout checks.

To add a page: append a ``Page(role, path)``. ``path`` may name demo patients as
``{margaret}`` (patient@example.org) or ``{arif}`` (arif@example.org); add more ids to
``DemoFacts`` in conftest.py if you need other demo records. If an axe rule truly cannot
apply to a page, pass ``disable=("rule-id",)`` with a comment saying why.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    role: str  # a key of harness.ACCOUNTS, or "anonymous"
    path: str
    status: int = 200
    disable: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.role}:{self.path}"


SWEEP = [
    Page("anonymous", "/sign-in"),
    Page("anonymous", "/no-such-page", status=404),
    Page("patient", "/patients/{margaret}/plan"),
    Page("patient", "/patients/{margaret}/crisis"),
    Page("patient", "/account/"),
    Page("patient", "/patients/{arif}/plan", status=404),  # someone else's plan
    Page("patient_urdu", "/patients/{arif}/plan"),
    Page("patient_urdu", "/patients/{arif}/crisis"),
    Page("carer", "/"),
    Page("carer", "/patients/{margaret}/crisis"),
    Page("carer", "/patients/{margaret}/plan"),
    Page("carer", "/account/"),
    Page("professional", "/"),
    Page("professional", "/patients/{margaret}/plan"),
    Page("professional", "/patients/{arif}/plan"),
    Page("professional", "/patients/{margaret}/crisis"),
    Page("professional", "/account/"),
    Page("commissioner", "/"),
    Page("commissioner", "/account/"),
    Page("admin", "/"),
    Page("admin", "/account/"),
]

# Pages checked at 360 CSS pixels wide: no sideways scrolling, tap targets of 24 x 24 or more.
PHONE = [
    Page("anonymous", "/sign-in"),
    Page("patient", "/patients/{margaret}/plan"),
    Page("carer", "/"),
    Page("carer", "/patients/{margaret}/crisis"),
    Page("patient_urdu", "/patients/{arif}/plan"),
    Page("professional", "/"),
]
