from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audit, security
from portal.account import bp
from portal.account.forms import (
    ActionForm,
    ContactDetailsForm,
    EmailForm,
    MfaCodeForm,
    NameForm,
    PasswordForm,
    PrintSizeForm,
)
from portal.auth import emails, identities, mfa
from portal.auth.reauth import mark_authenticated, password_confirmed, require_recent_auth
from portal.auth.services import (
    EMAIL_LINK_HOURS,
    change_email,
    change_password,
    email_from_link,
    email_taken,
    notify,
    request_email_change,
)
from portal.auth.throttle import password_checks_limited
from portal.extensions import db
from portal.i18n import remember_language, supported
from portal.models import Patient, PrintSize
from portal.pages import account_page
from portal.pdf.services import record_print_size
from portal.permissions import Action
from portal.redirects import safe_next


@bp.route("/")
@account_page(Action.OWN_ACCOUNT)
def settings():
    return render_template(
        "account/settings.html",
        form=ActionForm(),
        own_patient=_own_patient(),
        mfa_required=security.mfa_required(current_user),
        sign_in_services=identities.offered(current_user),
    )


@bp.route("/language", methods=["POST"])
def set_language():
    """Saved on the account when signed in, and in a cookie for the sign-in page."""
    choice = request.form.get("language", "")
    target = safe_next(request.form.get("next"), url_for("plans.home"))
    response = redirect(target)
    if choice in supported():
        if current_user.is_authenticated:
            current_user.preferred_locale = choice
            db.session.commit()
        remember_language(response, choice)
    return response


@bp.route("/name", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
def name():
    def save(form):
        current_user.display_name = form.display_name.data
        audit.record("account.name_changed")

    saved = {"display_name": current_user.display_name}
    return _setting(NameForm, saved, save, _("Your name has been changed."), "account/name.html")


def _setting(form_class, saved: dict, save, done: str, template: str):
    """One setting's page: what is saved fills the form only when it is first shown, never a
    submitted one; once ``save`` has run the change is committed and the person told."""
    form = form_class(data=saved if request.method == "GET" else None)
    if form.validate_on_submit():
        save(form)
        db.session.commit()
        flash(done)
        return redirect(url_for("account.settings"))
    return render_template(template, form=form)


def _own_patient() -> Patient | None:
    return db.session.scalar(select(Patient).where(Patient.user_id == current_user.id))


@bp.route("/print", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
def print_size():
    """The patient's choice of print (standard, large or easy read) for the PDFs of their plan."""
    patient = _own_patient()
    if patient is None:  # carers and staff have no plan of their own
        abort(404)
    return _setting(
        PrintSizeForm,
        {"print_size": patient.print_size},
        lambda form: record_print_size(patient, PrintSize(form.print_size.data)),
        _("Your choice of print has been saved."),
        "account/print_size.html",
    )


@bp.route("/contact-details", methods=["GET", "POST"])
@account_page(Action.CARE_TEAM_WORK)
def contact_details():
    """A professional's work phone, availability and team contact, shown to their patients."""
    fields = ("phone", "availability", "team_contact")

    def save(form):
        for f in fields:
            setattr(current_user, f, getattr(form, f).data or None)
        audit.record("account.contact_details_changed")

    return _setting(
        ContactDetailsForm,
        {f: getattr(current_user, f) or "" for f in fields},
        save,
        _("Your contact details have been saved."),
        "account/contact_details.html",
    )


@bp.route("/email", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
@require_recent_auth
def email():
    form = EmailForm()
    if form.validate_on_submit():
        if email_taken(form.email.data, current_user):
            form.email.errors.append(_("You cannot use this email address. Enter a different one."))
        else:
            request_email_change(current_user, form.email.data)
            flash(
                _(
                    "We have sent a link to %(email)s. Open it to confirm your new email "
                    "address. Until then, keep using your current one.",
                    email=form.email.data,
                )
            )
            return redirect(url_for("account.settings"))
    return render_template("account/email.html", form=form)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
def confirm_email(token: str):
    """A page with a button, not a change on GET: mail scanners open links too."""
    new_email = email_from_link(current_user, token)
    if new_email is None or email_taken(new_email, current_user):
        return render_template("account/email_link_invalid.html", hours=EMAIL_LINK_HOURS), 404
    form = ActionForm()
    if form.validate_on_submit():
        if not change_email(current_user, new_email, confirmed_from=current_user.email):
            return render_template("account/email_link_invalid.html", hours=EMAIL_LINK_HOURS), 404
        security.keep_this_session(current_user)
        flash(_("Your email address has been changed. Use it the next time you sign in."))
        return redirect(url_for("account.settings"))
    return render_template("account/confirm_email.html", form=form, new_email=new_email)


@bp.route("/password", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
@password_checks_limited
def password():
    """The current password is asked for on the form itself: that is the re-authentication."""
    form = PasswordForm()
    if form.validate_on_submit() and password_confirmed(
        form.current_password, _("Your current password is not right"), "password change"
    ):
        change_password(current_user, form.password.data)
        security.keep_this_session(current_user)
        mark_authenticated()
        flash(_("Your password has been changed. You have been signed out on other devices."))
        return redirect(url_for("account.settings"))
    return render_template("account/password.html", form=form)


@bp.route("/sign-out-everywhere", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
def sign_out_everywhere():
    security.end_every_session(current_user)
    audit.record("auth.sign_out_everywhere")
    db.session.commit()
    security.end_session()
    flash(_("You have been signed out on every device."))
    return redirect(url_for("auth.login"))


@bp.route("/mfa")
@account_page(Action.OWN_ACCOUNT)
def mfa_status():
    return render_template(
        "account/mfa.html",
        form=ActionForm(),
        codes_left=mfa.recovery_codes_left(current_user),
        mfa_required=security.mfa_required(current_user),
    )


@bp.route("/mfa/set-up", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
@require_recent_auth
def mfa_setup():
    """Scan the QR code (or type the secret), then confirm with a code to turn it on."""
    secret = session.get("mfa_setup_secret")
    if not isinstance(secret, str) or len(secret) != 32:
        if request.method == "POST":
            return redirect(url_for("account.mfa_setup"))
        secret = session["mfa_setup_secret"] = mfa.new_secret()
    form = MfaCodeForm()
    if form.validate_on_submit():
        step = mfa.matching_step(secret, form.code.data, None)
        if step is None:
            form.code.errors.append(
                _("The code is not right. Enter the newest code the app shows.")
            )
        else:
            replacing = current_user.mfa_enabled
            codes = mfa.enable(current_user, secret, step)
            audit.record("auth.mfa_changed" if replacing else "auth.mfa_enabled")
            notify(current_user, emails.mfa_set_up)
            db.session.commit()
            session.pop("mfa_setup_secret", None)
            security.keep_this_session(current_user)
            session["mfa_ok"] = True
            return render_template(
                "account/recovery_codes.html",
                codes=codes,
                new_setup=True,
                continue_to=safe_next(session.pop("after_mfa_setup", None), url_for("plans.home")),
            )
    uri = mfa.provisioning_uri(secret, current_user.email)
    return render_template(
        "account/mfa_setup.html",
        form=form,
        qr=mfa.qr_data_uri(uri),
        secret=mfa.grouped(secret),
        forced=security.mfa_required(current_user) and not current_user.mfa_enabled,
    )


@bp.route("/mfa/recovery-codes", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
@require_recent_auth(return_to="account.mfa_status")
def mfa_recovery_codes():
    if not current_user.mfa_enabled:
        return redirect(url_for("account.mfa_status"))
    codes = mfa.new_recovery_codes(current_user)
    audit.record("auth.recovery_codes_replaced")
    db.session.commit()
    return render_template("account/recovery_codes.html", codes=codes, new_setup=False)


@bp.route("/mfa/turn-off", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
@require_recent_auth(return_to="account.mfa_status")
def mfa_disable():
    """Optional for patients and carers only; staff must keep it."""
    if security.mfa_required(current_user):
        abort(403)
    if current_user.mfa_enabled:
        mfa.disable(current_user)
        audit.record("auth.mfa_disabled")
        notify(current_user, emails.mfa_disabled)
        db.session.commit()
        security.keep_this_session(current_user)
        session.pop("mfa_ok", None)
        flash(_("Two-step verification is off."))
    return redirect(url_for("account.mfa_status"))
