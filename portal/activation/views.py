"""Create your account, for a patient with an activation code from their practice.

Step one checks the code with the NHS number and date of birth; step two chooses the email
and password. Wrong details get one answer whatever was wrong, and failed attempts are
throttled per code and per address (time windows only).
"""

import hashlib

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import nhs_number, security
from portal.activation import bp, services
from portal.activation.forms import AccountForm, CodeForm
from portal.auth.services import find_user
from portal.auth.throttle import address_key, failed, limits, on_breach
from portal.extensions import db, limiter
from portal.i18n import current_language
from portal.models import ActivationCode

SESSION_KEY = "activation"
STEP_SECONDS = 15 * 60  # between the code and choosing a password


def code_key() -> str:
    """The code typed, hashed: limits attempts at one code from every address."""
    typed = services.normalise(request.form.get("code", ""))
    return "activation-code:" + hashlib.sha256(typed.encode()).hexdigest()[:32]


def _throttled(view):
    for name, key in (
        ("ACTIVATION_LIMITS_ADDRESS", address_key),
        ("ACTIVATION_LIMITS_CODE", code_key),
    ):
        view = limiter.limit(
            limits(name), key_func=key, methods=["POST"], deduct_when=failed, on_breach=on_breach
        )(view)
    return view


@bp.route("/create-account", methods=["GET", "POST"])
@_throttled
def start():
    if current_user.is_authenticated:
        return redirect(url_for("plans.home"))
    form = CodeForm()
    if form.validate_on_submit():
        code = services.usable(
            form.code.data, nhs_number.normalise(form.nhs_number.data), form.date_of_birth.data
        )
        if code is not None:
            session[SESSION_KEY] = {"id": code.id, "at": security.now()}
            return redirect(url_for("activation.details"))
        form.code.errors.append(
            _(
                "These details do not match an activation code that can be used. Check the "
                "code, your NHS number and your date of birth, or ask your practice for a new "
                "code."
            )
        )
    return render_template("activation/start.html", form=form)


def _code_in_session() -> ActivationCode | None:
    """The code step one accepted, if it is recent and still unused."""
    pending = session.get(SESSION_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("id"), int):
        return None
    if security.now() - int(pending.get("at", 0)) > STEP_SECONDS:
        return None
    code = db.session.get(ActivationCode, pending["id"])
    if code is None or code.used_at or code.revoked_at or code.expires_at <= services.utcnow():
        return None
    return code


@bp.route("/create-account/details", methods=["GET", "POST"])
def details():
    if current_user.is_authenticated:
        return redirect(url_for("plans.home"))
    code = _code_in_session()
    if code is None:
        session.pop(SESSION_KEY, None)
        flash(_("Start again with your activation code."))
        return redirect(url_for("activation.start"))
    form = AccountForm()
    form.name = services.patient_name(code)
    if form.validate_on_submit():
        if find_user(form.email.data) is not None:
            form.email.errors.append(
                _("This email address already has an account. Use another address.")
            )
        else:
            services.use(code, form.email.data.strip(), form.password.data, current_language())
            session.pop(SESSION_KEY, None)
            current_app.logger.info("activation code used (code %s)", code.id)
            flash(_("Your account has been created. Sign in with your email and password."))
            return redirect(url_for("auth.login"))
    return render_template("activation/details.html", form=form)
