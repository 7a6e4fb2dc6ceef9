"""Every audit action name the portal writes, each with its label in plain words.

``audit.record`` refuses a name that is not listed here, so a typo cannot start a new kind of
event that nobody reads, and the activity page ("who has looked at my plan") never shows a
code. A test checks that every label is translated into every language.
"""

from flask_babel import lazy_gettext as _l

LOOKED = _l("Looked at part of the plan")
CHANGED = _l("Changed part of the plan")
OTHER = _l("Did something else with the plan")
AGREED_CHANGE = _l("Agreed a change at the review meeting")
DECLINED_CHANGE = _l("Declined a change at the review meeting")
# Crisis changes are also decided between meetings (``meetings.crisis_changes``).
AGREED_CRISIS_CHANGE = _l("Agreed a change to the crisis plan")
DECLINED_CRISIS_CHANGE = _l("Declined a change to the crisis plan")

ACTIONS = {
    # Reading the plan
    "plan.view": _l("Looked at the care plan"),
    "crisis.view": _l("Looked at the crisis plan"),
    "contingency.view": LOOKED,
    "contingency.review": _l("Went through the crisis plan with you"),
    "contingency.changes_review": _l("Checked changes to the crisis plan and agreed a new version"),
    "care_team.view": _l("Looked at your care team"),
    "goal.view": LOOKED,
    "needs.view": LOOKED,
    "wish.view": LOOKED,
    "preparation.view": LOOKED,
    "preparation.sheet": LOOKED,
    "review.view": _l("Looked at your plan to prepare or record your review"),
    "results.view": _l("Looked at your shared test results"),
    "named_contact.view": LOOKED,
    "versions.view": _l("Looked at the earlier versions of your plan"),
    "versions.compare": _l("Compared two versions of your plan"),
    "version.view": _l("Looked at an earlier version of your plan"),
    "pdf.plan": _l("Downloaded the care plan"),
    "pdf.crisis": _l("Downloaded the crisis sheet"),
    "pdf.easy_read": _l("Downloaded the easy read crisis plan"),
    "data.download": _l("Downloaded a copy of everything the portal holds about you"),
    "data.view": _l("Looked at the copy of everything held about you"),
    "fhir.export": _l("Downloaded your plan for another health system"),
    "fhir.import_preview": _l("Checked a care plan file from another system"),
    "fhir.api_read": _l("Looked at the care plan through another system"),
    "fhir.api_search": _l("Looked at the care plan through another system"),
    "fhir.system_read": _l("The practice's computer system read the care plan"),
    "fhir.app_authorised": _l("Allowed an app to read the care plan"),
    "fhir.client_registered": _l("Registered an app or system to read care plans"),
    "condition.proposal_accepted": _l("Added a condition from an imported plan to your list"),
    "condition.proposal_declined": _l("Did not add a condition from an imported plan"),
    # Proposing changes (patients and carers), and the review meeting's decisions
    "goal.create": _l("Added a goal"),
    "goal.edit": _l("Changed a goal"),
    "goal.withdraw": _l("Asked to take a goal off the plan"),
    "goal.keep": _l("Kept a goal in the plan"),
    "goal.agree": _l("Agreed a goal"),
    "goal.amend": AGREED_CHANGE,
    "goal.decline": DECLINED_CHANGE,
    "goal.achieved": _l("Recorded a goal as achieved"),
    "goal.not_achieved": _l("Recorded a goal as not achieved"),
    "needs.create": _l("Wrote about what matters"),
    "needs.edit": _l("Changed what matters"),
    "needs_section.agree": AGREED_CHANGE,
    "needs_section.amend": AGREED_CHANGE,
    "needs_section.decline": DECLINED_CHANGE,
    "wish.create": _l("Wrote down a wish"),
    "wish.edit": _l("Changed a wish"),
    "wish.agree": AGREED_CHANGE,
    "wish.amend": AGREED_CHANGE,
    "wish.decline": DECLINED_CHANGE,
    "preparation.create": _l("Changed the preparation for the review"),
    "preparation.done": _l("Marked a step of getting ready for the review as done"),
    "preparation.undone": _l("Marked a step of getting ready for the review as not done"),
    "preparation.edit": _l("Changed the preparation for the review"),
    "preparation.attach": _l("Changed the preparation for the review"),
    "crisis_step.create": _l("Added a step to the crisis plan"),
    "crisis_step.edit": _l("Changed a step in the crisis plan"),
    "crisis_step.remove": _l("Asked to remove a step from the crisis plan"),
    "crisis_step.delete": _l("Removed a step from the crisis plan"),
    "crisis_step.agree": AGREED_CRISIS_CHANGE,
    "crisis_step.amend": AGREED_CRISIS_CHANGE,
    "crisis_step.decline": DECLINED_CRISIS_CHANGE,
    "usual_state.create": _l("Changed the usual state of health"),
    "usual_state.edit": _l("Changed the usual state of health"),
    "usual_state.agree": AGREED_CRISIS_CHANGE,
    "usual_state.amend": AGREED_CRISIS_CHANGE,
    "usual_state.decline": DECLINED_CRISIS_CHANGE,
    "contact.create": _l("Added a contact"),
    "contact.edit": _l("Changed a contact"),
    "contact.remove": _l("Asked to remove a contact"),
    "contact.delete": _l("Removed a contact"),
    "contact.agree": AGREED_CRISIS_CHANGE,
    "contact.amend": AGREED_CRISIS_CHANGE,
    "contact.decline": DECLINED_CRISIS_CHANGE,
    "fhir.import": _l("Imported a care plan from another system"),
    # The professional's side
    "care_team_member.create": _l("Added someone to your care team"),
    "care_team_member.edit": _l("Changed the details of someone in your care team"),
    "care_team_member.delete": _l("Removed someone from your care team"),
    "meeting.schedule": _l("Booked the review meeting"),
    "meeting.reschedule": _l("Moved the review meeting"),
    "meeting.record": _l("Recorded a review meeting"),
    "meeting.conversations": _l("Noted the conversations talked about at a review meeting"),
    "meeting.calendar_download": _l("Saved your review meeting to a calendar"),
    "plan_version.create": _l("Recorded a review meeting"),
    "plan_version.with_patient": _l("Wrote part of the plan with you and saved it as agreed"),
    "result.share": _l("Shared a test result"),
    "result.remove": _l("Removed a shared test result"),
    "named_contact.request": _l("Asked for a different named contact"),
    "named_contact.change": _l("Changed the named contact"),
    # Sharing and consent
    "sharing.invite": _l("Invited someone to see the plan"),
    "sharing.resend": _l("Sent an invitation again"),
    "sharing.accept": _l("Accepted an invitation to see the plan"),
    "sharing.change": _l("Changed what someone can see"),
    "sharing.revoke": _l("Stopped someone seeing the plan"),
    "sharing.give_up": _l("Gave up access to the plan"),
    "consent.given": _l("Agreed to share the plan with the care team"),
    "consent.withdrawn": _l("Stopped sharing the plan with the care team"),
    # Care across organisations
    "care_team.propose": _l("Proposed a team or professional for your care team"),
    "care_team.agree": _l("Agreed that a team or professional can see the plan"),
    "care_team.end": _l("Stopped a team or professional seeing the plan"),
    "staff.join": _l("Started working for an organisation"),
    "staff.leave": _l("Stopped working for an organisation"),
    "emergency.search": _l("Found your plan in an emergency search"),
    "emergency.open": _l("Opened your crisis plan in an emergency"),
    "emergency.allow": _l("Allowed urgent care to open the crisis plan in an emergency"),
    "emergency.refuse": _l("Stopped urgent care opening the crisis plan in an emergency"),
    # The practice's register, the offer of a plan and patient accounts
    "plan.create": _l("Started the care plan"),
    "register.added": _l("Added you to the practice's register"),
    "register.updated": _l("Updated your details from the practice's register"),
    "register.transferred_in": _l("Moved your record to your new practice"),
    "register.transferred_out": _l("Moved your record from your previous practice"),
    "register.left": _l("Recorded that you have left the practice's register"),
    "register.view": _l("Looked at your details on the register"),
    "register.details_corrected": _l("Corrected your details"),
    "offer.recorded": _l("Recorded that a care plan was offered to you"),
    "offer.outcome": _l("Recorded your answer to the offer of a care plan"),
    "activation.issued": _l("Sent you an activation code for your account"),
    "activation.used": _l("Created your account with an activation code"),
    "register.import": _l("Imported the practice's register"),
    "register.preview": _l("Checked a register file before importing it"),
    "register.rejections_downloaded": _l("Downloaded the rows a register import could not use"),
    "report.trajectory_set": _l("Set a monthly target for the report"),
    "report.trajectory_removed": _l("Removed a monthly target from the report"),
    "plan.start": _l("Started the care plan"),
    "plan.preferred_format": _l("Recorded how the plan is wanted: online or on paper"),
    "plan.paper_copy": _l("Recorded that a paper copy was handed over"),
    "meeting.did_not_attend": _l("Recorded that a review meeting was missed"),
    "patients.list": _l("Looked at a list of patients that included you"),
    "plan_audit.list": _l("Looked at the list of plans chosen for a quality audit"),
    # Conversations with the care team
    "conversation.list": _l("Looked at the list of conversations with the care team"),
    "conversation.view": _l("Read a conversation with the care team"),
    "conversation.start": _l("Started a conversation with the care team"),
    "conversation.reply": _l("Wrote in a conversation with the care team"),
    "conversation.close": _l("Closed a conversation with the care team"),
    "conversation.urgent": _l("Marked a conversation as needing urgent follow-up"),
    "conversation.not_urgent": _l("Marked a conversation as no longer urgent"),
    "conversation.take_on": _l("Took on answering a conversation"),
    # Surveys, sample audits and reports
    "survey.submit": _l("Answered the survey about the review"),
    "survey.summary_view": _l("Looked at the survey results"),
    "plan_audit.create": _l("Started a sample audit of plans"),
    "plan_audit.view": _l("Looked at a sample audit of plans"),
    "plan_audit.view_item": _l("Checked your plan as part of a quality audit"),
    "plan_audit.check": _l("Checked a plan for a sample audit"),
    "report.view": _l("Looked at the monthly report"),
    "report.download": _l("Downloaded the monthly report"),
    # Accounts and signing in
    "auth.account_created": _l("Created an account"),
    "auth.sign_in": _l("Signed in"),
    "auth.sign_in_failed": _l("Could not sign in"),
    "auth.nhs_login_refused": _l("Could not sign in with NHS login"),
    "auth.nhs_login_linked": _l("Linked their NHS login"),
    "auth.cis2_refused": _l("Could not sign in with their NHS smartcard or authenticator"),
    "auth.cis2_linked": _l("Linked their NHS smartcard or authenticator"),
    "auth.cis2_role_applied": _l("Was given the role they chose at NHS sign-in"),
    "auth.sign_out": _l("Signed out"),
    "auth.sign_out_everywhere": _l("Signed out on every device"),
    "auth.throttled": _l("Was stopped after too many tries"),
    "auth.reauth": _l("Confirmed their password"),
    "auth.reauth_failed": _l("Could not confirm their password"),
    "auth.mfa_passed": _l("Gave a two-step verification code"),
    "auth.mfa_failed": _l("Gave a wrong two-step verification code"),
    "auth.mfa_enabled": _l("Turned on two-step verification"),
    "auth.mfa_changed": _l("Changed two-step verification"),
    "auth.mfa_disabled": _l("Turned off two-step verification"),
    "auth.recovery_codes_replaced": _l("Made new recovery codes"),
    "auth.password_changed": _l("Changed their password"),
    "auth.reset_requested": _l("Asked to reset their password"),
    "auth.reset_completed": _l("Reset their password"),
    "auth.email_change_requested": _l("Asked to change their email address"),
    "auth.email_changed": _l("Changed their email address"),
    "account.name_changed": _l("Changed their name"),
    "patient.print_size": _l("Chose the print of the copies of the plan"),
    "account.messages_changed": _l("Changed which messages they get"),
    "account.contact_details_changed": _l("Changed their contact details for patients"),
    # Administration
    "admin.account_created": _l("Set up a staff account"),
    "admin.cis2_role_added": _l("Mapped an NHS smartcard role to a role here"),
    "admin.cis2_role_removed": _l("Removed the mapping of an NHS smartcard role"),
    "admin.account_changed": _l("Changed a staff account"),
    "admin.account_deactivated": _l("Deactivated a staff account"),
    "admin.account_reactivated": _l("Reactivated a staff account"),
    "admin.mfa_reset": _l("Reset two-step verification for a staff account"),
    "admin.password_link_sent": _l("Sent a link to choose a password"),
    "admin.organisation_created": _l("Added an organisation"),
    "admin.organisation_changed": _l("Changed an organisation"),
}


class UnknownAction(ValueError):
    """An audit event under a name this registry does not list."""


def check(name: str) -> str:
    """``name`` if it is registered; raises ``UnknownAction`` otherwise."""
    if name not in ACTIONS:
        raise UnknownAction(name)
    return name


def label(name: str):
    """The plain-words label for an action; events kept under a name no longer written still
    read sensibly, from the last part of their name."""
    if name in ACTIONS:
        return ACTIONS[name]
    verb = name.rpartition(".")[2]
    if verb in ("view", "download"):
        return LOOKED
    if verb in ("create", "edit", "update", "delete", "agree", "withdraw"):
        return CHANGED
    return OTHER
