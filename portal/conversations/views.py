"""Conversations with the care team about the plan, and the care team's inbox."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.conversations import bp, services
from portal.conversations.forms import ActionForm, CloseForm, ReplyForm, StartForm
from portal.extensions import db
from portal.i18n import current_language
from portal.models import Conversation
from portal.pages import account_page, patient_page
from portal.pagination import requested_page
from portal.permissions import Access, Action

# The conversation named in the address, only if it is this patient's (404 otherwise).
ONE_CONVERSATION = {"load": services.get, "load_as": "conversation"}


def _thread_url(patient_id: int, conversation_id: int, anchor: str | None = None) -> str:
    return url_for(
        ".thread", patient_id=patient_id, conversation_id=conversation_id, _anchor=anchor
    )


@bp.route("/patients/<int:patient_id>/conversations")
@patient_page(Action.READ_CONVERSATIONS, audit_as="conversation.list")
def index(patient_id: int, access: Access):
    conversations = services.for_patient(patient_id)
    return render_template(
        "conversations/index.html",
        access=access,
        patient=access.patient,
        conversations=conversations,
        about=services.about_labels(conversations),
        can_write=access.allows(Action.WRITE_MESSAGE),
    )


@bp.route("/patients/<int:patient_id>/conversations/new", methods=["GET", "POST"])
@patient_page(Action.WRITE_MESSAGE)
def start(patient_id: int, access: Access):
    items = services.plan_items(patient_id)
    form = StartForm(about_choices=[(item.ref, item.label) for item in items])
    if request.method == "GET":
        wanted = request.args.get("about", "")
        form.about.data = wanted if services.find_item(patient_id, wanted) else ""
    elif form.validate():
        try:
            conversation = services.start(
                access.patient,
                current_user,
                access.relation,
                form.subject.data,
                form.message.data,
                services.find_item(patient_id, form.about.data),
                current_language(),
            )
        except services.TooManyMessages:
            form.message.errors.append(_too_many())
        else:
            db.session.commit()
            flash(_("Your message has been sent to the care team."))
            return redirect(_thread_url(patient_id, conversation.id))
    return render_template(
        "conversations/start.html", access=access, patient=access.patient, form=form
    )


def _too_many() -> str:
    return _(
        "You have sent a lot of messages recently. Wait an hour and try again. If you need "
        "help now, call your GP practice, or 111 (999 in an emergency)."
    )


@bp.route(
    "/patients/<int:patient_id>/conversations/<int:conversation_id>", methods=["GET", "POST"]
)
@patient_page(
    Action.READ_CONVERSATIONS,
    **ONE_CONVERSATION,
    post_action=Action.WRITE_MESSAGE,
)
def thread(patient_id: int, conversation_id: int, access: Access, conversation: Conversation):
    """One conversation: its messages, and a reply box while it is open (replying is
    ``WRITE_MESSAGE``)."""
    form = ReplyForm()
    if request.method == "POST" and form.validate():
        try:
            services.reply(
                conversation, current_user, access.relation, form.message.data, current_language()
            )
        except services.ConversationClosed:
            form.message.errors.append(
                _("This conversation has been closed, so your reply was not sent. Start a new "
                  "conversation to carry on; your words are below to copy.")
            )
        except services.TooManyMessages:
            form.message.errors.append(_too_many())
        else:
            db.session.commit()
            flash(_("Your reply has been sent."))
            return redirect(_thread_url(patient_id, conversation_id, "latest"))
    audit.record("conversation.view", patient_id, f"conversation {conversation.id}")
    db.session.commit()
    return _thread_page(access, conversation, form, CloseForm(formdata=None))


def _thread_page(access: Access, conversation: Conversation, form, close_form):
    organisation = access.patient.organisation
    return render_template(
        "conversations/thread.html",
        access=access,
        patient=access.patient,
        conversation=conversation,
        about=services.about_labels([conversation])[conversation.id],
        meetings=services.meetings_about(conversation.id),
        form=form,
        close_form=close_form,
        action_form=ActionForm(formdata=None),
        can_write=access.allows(Action.WRITE_MESSAGE) and conversation.is_open,
        can_manage=access.allows(Action.MANAGE_CONVERSATION),
        reply_days=organisation.reply_working_days,
        due=services.reply_due(conversation, organisation.reply_working_days),
        overdue=services.is_overdue(conversation, organisation.reply_working_days),
    )


@bp.route(
    "/patients/<int:patient_id>/conversations/<int:conversation_id>/close", methods=["POST"]
)
@patient_page(Action.MANAGE_CONVERSATION, **ONE_CONVERSATION)
def close(
    patient_id: int, conversation_id: int, access: Access, conversation: Conversation
):
    form = CloseForm()
    if not conversation.is_open:
        flash(_("This conversation was already closed."))
        return redirect(_thread_url(patient_id, conversation_id))
    if not form.validate():
        return _thread_page(access, conversation, ReplyForm(formdata=None), form)
    services.close(conversation, current_user, form.outcome.data, current_language())
    db.session.commit()
    flash(_("The conversation has been closed. It stays in the plan's history."))
    return redirect(_thread_url(patient_id, conversation_id))


@bp.route(
    "/patients/<int:patient_id>/conversations/<int:conversation_id>/urgent", methods=["POST"]
)
@patient_page(Action.MANAGE_CONVERSATION, **ONE_CONVERSATION)
def mark_urgent(
    patient_id: int, conversation_id: int, access: Access, conversation: Conversation
):
    """Staff mark a conversation as needing urgent clinical follow-up (top of the inbox)."""
    return _mark(access, conversation, urgent=True)


@bp.route(
    "/patients/<int:patient_id>/conversations/<int:conversation_id>/routine", methods=["POST"]
)
@patient_page(Action.MANAGE_CONVERSATION, **ONE_CONVERSATION)
def mark_routine(
    patient_id: int, conversation_id: int, access: Access, conversation: Conversation
):
    return _mark(access, conversation, urgent=False)


def _mark(access: Access, conversation: Conversation, urgent: bool):
    if ActionForm().validate() and conversation.is_open:
        services.set_urgent(conversation, urgent)
        db.session.commit()
    return redirect(_thread_url(access.patient.id, conversation.id))


@bp.route(
    "/patients/<int:patient_id>/conversations/<int:conversation_id>/take-on", methods=["POST"]
)
@patient_page(Action.MANAGE_CONVERSATION, **ONE_CONVERSATION)
def take_on(
    patient_id: int, conversation_id: int, access: Access, conversation: Conversation
):
    if ActionForm().validate() and conversation.is_open:
        services.take_on(conversation, current_user)
        db.session.commit()
        flash(_("You are now handling this conversation."))
    return redirect(_thread_url(patient_id, conversation_id))


@bp.route("/conversations")
@account_page(Action.USE_TEAM_INBOX)
def inbox():
    """The care team's inbox: open conversations of the patients they care for."""
    mine = request.args.get("show") == "mine"
    result = services.inbox(current_user, requested_page(), mine=mine)
    organisation = current_user.organisation
    reply_days = organisation.reply_working_days if organisation else 2
    return render_template(
        "conversations/inbox.html",
        result=result,
        mine=mine,
        reply_days=reply_days,
        overdue={c.id: services.is_overdue(c, reply_days) for c in result.items},
    )
