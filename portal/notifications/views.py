import hmac

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import csrf
from portal.models import Channel, NotificationKind
from portal.notifications import bp, outbox, preferences
from portal.notifications.forms import preferences_form
from portal.notifications.messages import subject_of
from portal.pages import account_page
from portal.permissions import Action


@bp.route("/", methods=["GET", "POST"], endpoint="preferences")
@account_page(Action.OWN_ACCOUNT)
def preferences_page():
    kinds = preferences.kinds_for(current_user)
    labels = {kind: subject_of(kind) for kind in kinds}
    saved = preferences.current_choices(current_user)
    data = {kind.value: channel.value for kind, channel in saved.items()}
    form = preferences_form(
        kinds,
        preferences.channels_for(current_user),
        labels,
        data=data if request.method == "GET" else None,
    )
    if form.validate_on_submit():
        choices = {kind: Channel(form[kind.value].data) for kind in kinds}
        preferences.save_choices(current_user, choices)
        flash(_("Your choices have been saved."))
        return redirect(url_for("notifications.preferences"))
    return render_template(
        "notifications/preferences.html",
        form=form,
        kinds=kinds,
        staff=current_user.is_staff,
        crisis=NotificationKind.CRISIS_CHANGED,
    )


@bp.route("/stop/<token>", methods=["GET", "POST"], endpoint="stop")
@csrf.exempt  # a mail program's one-click POST has no form; the signed token is the proof
def stop(token: str):
    """Stop one kind of email without signing in: the link in each email, or the mail
    program's one-click unsubscribe (RFC 8058, a POST to the same address)."""
    found = preferences.from_stop_token(token)
    if found is None:
        abort(404)
    user, kind = found
    stopped = request.method == "POST"
    if stopped:
        preferences.stop(user, kind)
    return render_template(
        "notifications/stop.html", kind=subject_of(kind), stopped=stopped, token=token
    )


NOTIFY_REFUSED = frozenset({"permanent-failure"})  # Notify's statuses for a bad address


@bp.route("/notify-status", methods=["POST"], endpoint="notify_status")
@csrf.exempt
def notify_status():
    """GOV.UK Notify's delivery receipt: a permanent failure marks the message's address as
    refused. Notify signs each call with the bearer token set for the service
    (``NOTIFY_CALLBACK_TOKEN``); without one configured the page does not exist."""
    expected = current_app.config.get("NOTIFY_CALLBACK_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(404)
    receipt = request.get_json(silent=True)
    if not isinstance(receipt, dict) or not isinstance(receipt.get("reference"), str):
        return {"error": "reference missing"}, 400
    if receipt.get("status") in NOTIFY_REFUSED:
        outbox.record_refusal(receipt["reference"][:200], f"Notify {receipt['status']}"[:60])
    return "", 204


@bp.app_context_processor
def _could_not_reach():
    """Templates of staff pages ask ``could_not_reach(patient_id)``."""
    return {"could_not_reach": preferences.could_not_reach}
