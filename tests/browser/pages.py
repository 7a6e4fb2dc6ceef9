"""Every page each role can reach, for the accessibility sweep and the phone-layout checks.

To add a page: append a ``Page(role, path)``. ``path`` may name demo records by the fields of
``DemoFacts`` in conftest.py (``{margaret}``, ``{goal}``, ``{step}``...); add more there if you
need other demo records. ``submit=True`` checks the page after its form is sent with nothing
changed, so its error summary shows. If an axe rule truly cannot apply to a page, pass
``disable=("rule-id",)`` with a comment saying why.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    role: str  # a key of harness.ACCOUNTS, or "anonymous"
    path: str
    status: int = 200
    disable: tuple[str, ...] = ()
    submit: bool = False  # send the form as it is and check the page showing its errors

    @property
    def id(self) -> str:
        return f"{self.role}:{self.path}" + (":errors" if self.submit else "")


M = "/patients/{margaret}"
A = "/patients/{arif}"

SWEEP = [
    # Signed out
    Page("anonymous", "/sign-in"),
    Page("anonymous", "/sign-in", submit=True),
    Page("anonymous", "/no-such-page", status=404),
    Page("anonymous", "/forgot-password"),
    Page("anonymous", "/forgot-password", submit=True),
    Page("anonymous", "/reset-password/{reset_token}"),  # choosing a new password
    Page("anonymous", "/reset-password/{reset_token}", submit=True),
    Page("anonymous", "/reset-password/not-a-real-link"),  # the link has expired
    Page("anonymous", "/invitations/{invitation_token}"),
    Page("anonymous", "/invitations/{invitation_token}/create-account"),
    Page("anonymous", "/create-account"),  # a patient with an activation code
    Page("anonymous", "/create-account", submit=True),
    # A patient: her plan and everything she edits
    Page("patient", M + "/plan"),
    Page("patient", M + "/crisis"),
    Page("patient", M + "/crisis/easy-read"),
    Page("patient", M + "/goals/new"),
    Page("patient", M + "/goals/new", submit=True),
    Page("patient", M + "/goals/{goal}/edit"),
    Page("patient", M + "/goals/{proposed_goal}/edit"),
    Page("patient", M + "/goals/{goal}/withdraw"),
    Page("patient", M + "/preparation"),
    Page("patient", M + "/preparation/sheet"),  # for the review meeting, to print
    Page("patient", M + "/about-me/health"),
    Page("patient", M + "/wishes/place_of_care"),
    Page("patient", M + "/contingency"),
    Page("patient", M + "/contingency/steps/new"),
    Page("patient", M + "/contingency/steps/new", submit=True),
    Page("patient", M + "/contingency/steps/{step}"),
    Page("patient", M + "/contingency/usual-state"),
    Page("patient", M + "/contingency/contacts/new"),
    Page("patient", M + "/contingency/contacts/new", submit=True),
    Page("patient", M + "/contingency/contacts/{contact}"),
    Page("patient", M + "/care-team"),
    Page("patient", M + "/sharing"),
    Page("patient", M + "/sharing/invite"),
    Page("patient", M + "/sharing/invite", submit=True),
    Page("patient", M + "/sharing/{carer_grant}"),
    Page("patient", M + "/sharing/{pending_grant}"),
    Page("patient", M + "/sharing/{carer_grant}/stop"),
    Page("patient", M + "/consent"),
    Page("patient", M + "/activity"),  # who has looked at my plan
    Page("patient", M + "/activity?others=1"),  # only other people
    Page("patient", M + "/my-data"),  # everything held about me, to read
    Page("patient", M + "/versions"),
    Page("patient", M + "/versions/1"),
    Page("patient", M + "/versions/compare"),
    Page("patient", M + "/versions/compare?from=1&to=1"),  # the same version twice
    Page("patient", M + "/results"),
    Page("patient", M + "/named-contact/request"),
    Page("patient", M + "/conversations"),
    Page("patient", M + "/conversations/new"),
    Page("patient", M + "/conversations/new", submit=True),
    Page("patient", M + "/conversations/{conversation}"),
    Page("patient", M + "/conversations/{conversation}", submit=True),
    Page("patient", M + "/survey/{held_meeting}"),
    Page("patient", "/account/"),
    Page("patient", "/account/name"),
    Page("patient", "/account/print"),
    Page("patient", "/account/email"),
    Page("patient", "/account/password"),
    Page("patient", "/account/password", submit=True),
    Page("patient", "/account/mfa"),
    Page("patient", "/account/mfa/set-up"),
    Page("patient", "/account/messages/"),
    Page("patient", "/confirm-password"),
    # Other people's records do not exist for her
    Page("patient", A + "/plan", status=404),
    Page("patient", A + "/goals/{arif_goal}/edit", status=404),
    Page("patient", M + "/goals/{arif_goal}/edit", status=404),
    Page("patient", "/admin/", status=404),
    # A patient who reads Urdu
    Page("patient_urdu", A + "/plan"),
    Page("patient_urdu", A + "/crisis"),
    Page("patient_urdu", A + "/goals/{arif_goal}/edit"),
    # A carer
    Page("carer", "/"),
    Page("carer", "/shared-with-me"),
    Page("carer", "/shared-with-me/{carer_grant}/give-up"),
    Page("carer", M + "/crisis"),
    Page("carer", M + "/plan"),
    Page("carer", M + "/goals/new"),
    Page("carer", M + "/versions"),
    Page("carer", M + "/conversations"),
    Page("carer", M + "/conversations/{conversation}"),
    Page("carer", M + "/sharing", status=404),  # only Margaret decides who sees her plan
    Page("carer", A + "/plan", status=404),
    Page("carer", "/account/"),
    Page("carer", "/account/messages/"),
    # A professional
    Page("professional", "/"),
    Page("professional", "/worklist?whose=mine&filter=proposals&q=Hughes"),
    Page("professional", M + "/plan/arrangements"),
    Page("professional", "/account/contact-details"),
    Page("professional", M + "/plan"),
    Page("professional", M + "/contingency"),  # written with the patient, marked reviewed
    Page("professional", M + "/contingency/steps/new"),  # with "agreed now" or "my proposal"
    Page("professional", A + "/plan"),
    Page("professional", M + "/crisis"),
    Page("professional", A + "/crisis/changes"),
    Page("professional", A + "/crisis/changes", submit=True),
    Page("professional", M + "/review"),
    Page("professional", A + "/review"),
    Page("professional", M + "/review/record"),
    Page("professional", M + "/review/record", submit=True),
    Page("professional", M + "/meetings/schedule"),
    Page("professional", M + "/results"),
    Page("professional", M + "/results/new"),
    Page("professional", M + "/results/new", submit=True),
    Page("professional", M + "/named-contact"),
    Page("professional", M + "/care-team"),
    Page("professional", M + "/care-team/new"),
    Page("professional", M + "/care-team/{member}"),
    Page("professional", M + "/fhir-import"),
    Page("professional", M + "/versions"),
    Page("professional", M + "/versions/1"),
    Page("professional", "/audits"),
    Page("professional", "/audits/new"),
    Page("professional", "/audits/{audit}"),
    Page("professional", "/audits/{audit}/items/{audit_item}"),
    Page("professional", "/surveys"),
    Page("professional", "/conversations"),
    Page("professional", M + "/conversations/{conversation}"),
    Page("professional", "/account/"),
    Page("professional", "/account/messages/"),
    Page("professional", "/reports", status=404),
    # The practice's register (a practice administrator sees these too, and the import)
    Page("professional", "/register/"),
    Page("professional", "/register/patients/new"),
    Page("professional", "/register/patients/new", submit=True),
    Page("professional", "/register/patients/{margaret}"),
    Page("professional", "/register/patients/{margaret}/details"),
    Page("professional", "/register/import", status=404),
    # A commissioner
    Page("commissioner", "/"),
    Page("commissioner", "/reports"),
    Page("commissioner", "/reports?organisation={practice}"),
    Page("commissioner", "/reports/trajectory"),
    Page("commissioner", "/reports/trajectory", submit=True),
    Page("commissioner", "/account/"),
    Page("commissioner", M + "/plan", status=404),
    # An administrator (every page here needs a recently typed password)
    Page("admin", "/"),
    Page("admin", "/admin/"),
    Page("admin", "/admin/?q=nurse"),
    Page("admin", "/admin/organisations"),
    Page("admin", "/admin/organisations/new"),
    Page("admin", "/admin/organisations/new", submit=True),
    Page("admin", "/admin/organisations/{practice}/edit"),
    Page("admin", "/admin/accounts/new"),
    Page("admin", "/admin/accounts/new", submit=True),
    Page("admin", "/admin/accounts/{nurse_account}"),
    Page("admin", "/admin/accounts/{nurse_account}/edit"),
    Page("admin", "/admin/accounts/{nurse_account}/deactivate"),
    Page("admin", "/admin/accounts/{nurse_account}/reactivate"),
    Page("admin", "/admin/accounts/{nurse_account}/reset-two-step-verification"),
    Page("admin", "/admin/accounts/{nurse_account}/send-password-link"),
    Page("admin", "/admin/accounts/{margaret_account}", status=404),  # not a staff account
    Page("admin", "/account/"),
]

# Pages checked at 360 CSS pixels wide: no sideways scrolling, tap targets of 24 x 24 or more.
PHONE = [
    Page("anonymous", "/sign-in"),
    Page("patient", M + "/plan"),
    Page("carer", "/"),
    Page("carer", M + "/crisis"),
    Page("patient_urdu", A + "/plan"),
    Page("professional", "/"),
    Page("patient", M + "/goals/{goal}/edit"),
    Page("patient", M + "/preparation"),
    Page("patient", M + "/contingency/steps/{step}"),
    Page("patient", M + "/contingency/contacts/{contact}"),
    Page("patient", M + "/contingency/usual-state"),
    Page("patient", M + "/sharing/invite"),
    Page("patient", M + "/conversations/{conversation}"),
    Page("professional", M + "/conversations/{conversation}"),
    Page("professional", M + "/review/record"),
    Page("patient", "/account/"),
    Page("patient", "/account/password"),
    Page("admin", "/admin/accounts/{nurse_account}/edit"),
]
