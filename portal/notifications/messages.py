"""What each kind of notification says, built at delivery in the recipient's language.

Plain words and never health detail: an email or a text message can be read by anyone who
sees the screen, so each says only that something happened, with a link to sign in and see it.
Every email ends with a link to choose which messages to get, or to stop them.
"""

from contextlib import nullcontext
from dataclasses import dataclass

from flask import current_app, has_request_context
from flask_babel import gettext as _
from flask_babel import ngettext

from portal import mail
from portal.accounts import email_link as external_url
from portal.models import Channel, Notification, NotificationKind
from portal.notifications.preferences import stop_token

K = NotificationKind


@dataclass(frozen=True)
class Message:
    subject: str
    body: str  # email and letter
    short: str  # SMS: one or two sentences and the link
    stop: str | None = None  # the one-click unsubscribe address (RFC 8058), if it may be stopped


def subject_of(kind: NotificationKind) -> str:
    subjects = {
        K.CRISIS_CHANGED: lambda: _("A crisis plan has been changed"),
        K.NAMED_CONTACT_REQUEST: lambda: _("A patient has asked about their named contact"),
        K.REVIEW_REMINDER: lambda: _("Your care plan review is coming up"),
        K.MEETING_BOOKED: lambda: _("Your care plan review meeting has been booked"),
        K.MEETING_MOVED: lambda: _("Your care plan review meeting has been moved"),
        K.PLAN_AGREED: lambda: _("Your care plan has been agreed"),
        K.RESULTS_SHARED: lambda: _("Your care team has shared results with you"),
        K.INVITATION_ACCEPTED: lambda: _("Someone can now see your care plan"),
        K.CONVERSATION_MESSAGE: lambda: _("You have a new message about a care plan"),
        K.ACCESS_CHANGED: lambda: _("What you can see of a care plan has changed"),
        K.ACCESS_ENDED: lambda: _("You can no longer see a care plan"),
        K.EMERGENCY_ACCESS: lambda: _("Urgent care has opened a crisis plan"),
        K.PROPOSALS_WAITING: lambda: _("Changes to care plans are waiting for your review"),
        K.NEW_PATIENT_DUE: lambda: _("A new patient's care plan is due soon"),
    }
    return subjects[kind]()


def _what_happened(kind: NotificationKind, params: dict) -> str:
    if kind == K.CRISIS_CHANGED and params.get("audience") == "carer":
        return _("The crisis plan of someone you care for has been changed.")
    if kind == K.PLAN_AGREED and params.get("crisis"):
        return _(
            "Your care team has checked the changes made to your crisis plan, and a new "
            "version of your care plan is agreed."
        )
    lines = {
        K.CRISIS_CHANGED: lambda: _(
            "A patient or their carer has changed a step or a contact in a crisis plan you "
            "look after. The change has not been reviewed yet."
        ),
        K.NAMED_CONTACT_REQUEST: lambda: _(
            "A patient has asked for a named contact, or to change their named contact."
        ),
        K.CONVERSATION_MESSAGE: lambda: _(
            "Someone has written in a conversation about a care plan. Messages are not read "
            "straight away: in an emergency call 999, or 111 for urgent help."
        ),
        K.REVIEW_REMINDER: lambda: ngettext(
            "Your care plan review is due in %(num)d week. You can get ready for it now by "
            "writing down what has changed and what you want to talk about.",
            "Your care plan review is due in %(num)d weeks. You can get ready for it now by "
            "writing down what has changed and what you want to talk about.",
            params.get("weeks", 0),
        ),
        K.MEETING_BOOKED: lambda: _("Sign in to see the date, time and place."),
        K.MEETING_MOVED: lambda: _("Sign in to see the new date, time and place."),
        K.PLAN_AGREED: lambda: _("A new version of your care plan was agreed at your review."),
        K.RESULTS_SHARED: lambda: _(
            "Your care team has shared something for you to read before your review."
        ),
        K.INVITATION_ACCEPTED: lambda: _(
            "A person you invited has accepted and can now see your care plan. You can change "
            "or stop what they see at any time."
        ),
        K.ACCESS_CHANGED: lambda: _(
            "The person who shared their care plan with you has changed what you can see."
        ),
        K.ACCESS_ENDED: lambda: _(
            "The person who shared their care plan with you has stopped sharing it."
        ),
        K.EMERGENCY_ACCESS: lambda: _(
            "A clinician of an urgent care service has opened the crisis plan of a patient "
            "you are the named contact for, giving a reason. The patient may need you."
        ),
        K.PROPOSALS_WAITING: lambda: ngettext(
            "%(num)d patient you are the named contact for has changes to their care plan "
            "waiting for your review.",
            "%(num)d patients you are the named contact for have changes to their care plan "
            "waiting for your review.",
            params.get("count", 0),
        ),
        K.NEW_PATIENT_DUE: lambda: ngettext(
            "A new patient at your practice has no agreed care plan yet, and %(num)d day is "
            "left of the 28 days to agree one.",
            "A new patient at your practice has no agreed care plan yet, and %(num)d days are "
            "left of the 28 days to agree one.",
            params.get("days", 0),
        ),
    }
    return lines[kind]()


def links_context():
    """URLs need a request: a worker builds them as if asked at ``BASE_URL`` (entered once
    for a batch of messages)."""
    if has_request_context():
        return nullcontext()
    base = current_app.config.get("BASE_URL") or "http://localhost:5000"
    return current_app.test_request_context("/", base_url=base)


def render(row: Notification) -> Message:
    """The message for one outbox row, in the recipient's language with the English below
    (a text message in their language only)."""
    kind = NotificationKind(row.kind)
    params = row.params or {}
    if kind == K.ACCOUNT_SECURITY:
        return _account_email(row, params)
    endpoint, values = params.get("link") or ("plans.home", {})
    own: dict[str, str | None] = {}

    def compose(_language: str) -> tuple[str, str]:
        link = external_url(endpoint, **values)
        subject = subject_of(kind)
        happened = _what_happened(kind, params)
        see = _("Sign in to My care plan to see the details:")
        paragraphs = [_("Hello,"), happened, f"{see}\n{link}"]
        stop = None
        if row.channel == Channel.EMAIL:
            if params.get("stop") and row.user_id:
                stop = external_url("notifications.stop", token=stop_token(row.user_id, kind))
                stop_these = _("To stop emails like this one:")
                paragraphs.append(f"{stop_these}\n{stop}")
            choose = _("To choose which messages you get, or to stop them:")
            paragraphs.append(f"{choose}\n{external_url('notifications.preferences')}")
        own.setdefault("short", f"{subject}. {see} {link}")  # a text message: one language
        own.setdefault("stop", stop)  # the reader's own language's link
        return subject, "\n\n".join(paragraphs)

    with links_context():
        subject, body = mail.in_language_and_english(row.locale, compose)
    return Message(subject=subject, body=body, short=own["short"], stop=own["stop"])


def _account_email(row: Notification, params: dict) -> Message:
    """An account security email: its own text (``portal.auth.emails``), in the reader's
    language with the English below, no unsubscribe line."""
    from portal.auth import emails
    from portal.notifications.outbox import PermanentFailure, unseal

    if params.get("email") not in emails.ACCOUNT_EMAILS or "sealed" not in params:
        raise PermanentFailure("unknown or spent account email")
    context = unseal(params["sealed"])
    compose = getattr(emails, params["email"])
    with links_context():
        subject, body = mail.in_language_and_english(row.locale, lambda _l: compose(**context))
    return Message(subject=subject, body=body, short=subject)
