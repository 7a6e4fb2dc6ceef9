import hashlib

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal import accounts, audit, security
from portal.auth import bp, emails, mfa, oidc
from portal.auth.forms import (
    CodeForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
)
from portal.auth.reauth import mark_authenticated, password_confirmed
from portal.auth.services import (
    authenticate,
    complete_reset,
    notify,
    request_reset,
    valid_reset_token,
)
from portal.auth.throttle import (
    account_key,
    address_key,
    limits,
    on_breach,
    password_checks_limited,
    pending_key,
    throttled,
)
from portal.extensions import db, limiter
from portal.models import IdentityProvider, User
from portal.pages import account_page
from portal.permissions import Action
from portal.redirects import safe_next


def _token_check(user: User) -> str:
    return hashlib.sha256(user.session_token.encode()).hexdigest()[:16]


def _finish_sign_in(user: User, next_url: str | None, mfa_ok: bool):
    accounts.sign_in(user, mfa_ok=mfa_ok)
    db.session.commit()
    current_app.logger.info("sign-in (user %s)", user.id)
    return redirect(safe_next(next_url, url_for("plans.home")))


def start_second_step(user: User, next_url: str | None):
    """Not signed in yet: the session only remembers who is part-way through."""
    session.clear()
    session["mfa_pending"] = {
        "uid": user.id,
        "check": _token_check(user),
        "at": security.now(),
        "next": safe_next(next_url, ""),
    }
    return redirect(url_for("auth.mfa_code"))


@bp.route("/sign-in", methods=["GET", "POST"])
@throttled(account_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("plans.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user, account_id = authenticate(form.email.data, form.password.data)
        next_url = request.args.get("next")
        if user is None:
            audit.record("auth.sign_in_failed", actor_id=account_id)
            db.session.commit()
            current_app.logger.info("sign-in failed (user %s)", account_id or "unknown")
            form.password.errors.append(_("Enter a correct email address and password"))
        elif user.mfa_enabled:
            db.session.commit()  # keeps a rehashed password
            return start_second_step(user, next_url)
        else:
            return _finish_sign_in(user, next_url, mfa_ok=False)
    return render_template(
        "auth/login.html",
        form=form,
        nhs_login=oidc.configured(IdentityProvider.NHS_LOGIN),
        cis2=oidc.configured(IdentityProvider.CIS2),
    )


def _pending_user() -> User | None:
    pending = session.get("mfa_pending")
    if not isinstance(pending, dict) or not isinstance(pending.get("uid"), int):
        return None
    if security.now() - int(pending.get("at", 0)) > current_app.config["MFA_PENDING_SECONDS"]:
        return None
    user = db.session.get(User, pending["uid"])
    if user is None or not user.active or not user.mfa_enabled:
        return None
    if pending.get("check") != _token_check(user):
        return None
    return user


@bp.route("/sign-in/code", methods=["GET", "POST"])
@throttled(pending_key)
def mfa_code():
    """The second step of signing in, for accounts with two-step verification."""
    if current_user.is_authenticated:
        return redirect(url_for("plans.home"))
    user = _pending_user()
    if user is None:
        session.pop("mfa_pending", None)
        flash(_("Sign in again to continue."))
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        kind = mfa.verify_second_factor(user, form.code.data)
        if kind is None:
            audit.record("auth.mfa_failed", actor_id=user.id)
            db.session.commit()
            current_app.logger.info("two-step code refused (user %s)", user.id)
            form.code.errors.append(
                _("The code is not right. Codes change every 30 seconds: enter the newest one.")
            )
        else:
            audit.record("auth.mfa_passed", actor_id=user.id, detail=kind)
            if kind == "recovery":
                notify(user, emails.recovery_code_used)  # queued with the sign-in
            response = _finish_sign_in(user, session["mfa_pending"].get("next"), mfa_ok=True)
            if kind == "recovery":  # after sign-in, which starts a new session
                flash(
                    ngettext(
                        "You used a recovery code. You have %(num)d recovery code left.",
                        "You used a recovery code. You have %(num)d recovery codes left.",
                        mfa.recovery_codes_left(user),
                    )
                )
            return response
    return render_template("auth/mfa_code.html", form=form)


@bp.route("/sign-out", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
def logout():
    """Signing out ends the account's sessions on the server, so a copied cookie is useless."""
    audit.record("auth.sign_out")
    security.end_every_session(current_user)
    db.session.commit()
    provider = session.get("signed_in_with")
    security.end_session()
    flash(_("You have signed out."))
    if provider in set(IdentityProvider) and oidc.configured(IdentityProvider(provider)):
        # The provider's session ends too, so the next person at a shared computer is not
        # signed straight back in; the provider sends the browser back to the sign-in page.
        end_url = oidc.end_session_url(
            IdentityProvider(provider), accounts.email_link("auth.login")
        )
        if end_url:
            return redirect(end_url)
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(
    limits("RESET_LIMITS_ACCOUNT"), key_func=account_key, methods=["POST"], on_breach=on_breach
)
@limiter.limit(
    limits("RESET_LIMITS_ADDRESS"), key_func=address_key, methods=["POST"], on_breach=on_breach
)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_reset(form.email.data)
        # The same page whether or not the address has an account.
        return render_template("auth/reset_sent.html")
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    reset = valid_reset_token(token)
    if reset is None:
        return render_template("auth/reset_invalid.html")
    form = ResetPasswordForm()
    form.account = db.session.get(User, reset.user_id)
    if form.validate_on_submit():
        if complete_reset(reset, form.password.data) is None:  # spent in another tab just now
            return render_template("auth/reset_invalid.html")
        security.end_session()
        flash(_("Your password has been changed. Sign in with your new password."))
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/confirm-password", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
@password_checks_limited
def confirm_password():
    """Re-authentication before changing email, password, two-step verification or sharing."""
    form = ConfirmPasswordForm()
    if form.validate_on_submit() and password_confirmed(
        form.password, _("Your password is not right")
    ):
        mark_authenticated()
        audit.record("auth.reauth")
        db.session.commit()
        return redirect(safe_next(request.args.get("next"), url_for("account.settings")))
    return render_template("auth/confirm_password.html", form=form)
