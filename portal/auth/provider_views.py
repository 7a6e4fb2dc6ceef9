"""Signing in with NHS login, and linking it to an account, through the provider's pages."""

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import accounts, audit
from portal.auth import bp, nhs_login, oidc
from portal.auth.nhs_login import Outcome
from portal.auth.reauth import require_recent_auth
from portal.extensions import db
from portal.models import IdentityProvider
from portal.pages import account_page
from portal.permissions import Action

NHS_LOGIN = IdentityProvider.NHS_LOGIN
LOW_LEVEL_KEY = "nhs_login_low_level"

REFUSED = {
    Outcome.NO_RECORD: _l(
        "Your NHS login details do not match a care plan in this service. If you think they "
        "should, ask your care team to check the NHS number and date of birth they hold."
    ),
    Outcome.RECORD_HAS_ACCOUNT: _l(
        "Your care plan already has an account. Sign in with its email address and password, "
        "then link NHS login from your account page."
    ),
    Outcome.EMAIL_IN_USE: _l(
        "We could not open an account with the email address in your NHS login. Sign in with "
        "your email address and password, then link NHS login from your account page."
    ),
    Outcome.LINKED_ELSEWHERE: _l(
        "This NHS login cannot be linked to your account, because one of them is already "
        "linked to another."
    ),
    Outcome.NOT_YOURS: _l(
        "This NHS login is not for the person whose care plan this account holds, so it "
        "cannot be linked."
    ),
    Outcome.INACTIVE: _l("This account has been closed. Contact your care team for help."),
}
FAILED = _l("Signing in with NHS login did not work. Please try again.")


def _callback_url() -> str:
    """On the configured public address, never the request's Host header."""
    return accounts.email_link("auth.nhs_login_callback")


def _refused(detail: str, message, user_id: int | None = None):
    audit.record("auth.nhs_login_refused", actor_id=user_id, detail=detail)
    db.session.commit()
    current_app.logger.info("NHS login refused: %s", detail)
    return render_template("auth/nhs_login_refused.html", message=message), 403


@bp.route("/sign-in/nhs-login")
def nhs_login_start():
    if not oidc.configured(NHS_LOGIN):
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("plans.home"))
    try:
        return redirect(oidc.authorization_url(NHS_LOGIN, _callback_url(), "sign_in"))
    except oidc.SignInRefused as refusal:
        return _refused(refusal.reason, FAILED)


@bp.route("/account/nhs-login", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
@require_recent_auth(return_to="account.settings")
def nhs_login_link():
    """Linking starts from the account page, after the password was just confirmed."""
    if not oidc.configured(NHS_LOGIN):
        abort(404)
    try:
        url = oidc.authorization_url(NHS_LOGIN, _callback_url(), "link", current_user.id)
    except oidc.SignInRefused as refusal:
        return _refused(refusal.reason, FAILED, current_user.id)
    return redirect(url)


@bp.route("/sign-in/nhs-login/callback")
def nhs_login_callback():
    if not oidc.configured(NHS_LOGIN):
        abort(404)
    try:
        answer = oidc.finish(request.args, _callback_url())
    except oidc.SignInRefused as refusal:
        return _refused(refusal.reason, FAILED)
    if answer.purpose == "link":
        return _finish_link(answer)
    result = nhs_login.sign_in(answer)
    if result.outcome is Outcome.LOW_LEVEL:
        audit.record("auth.nhs_login_refused", detail=Outcome.LOW_LEVEL)
        db.session.commit()
        session.clear()
        session[LOW_LEVEL_KEY] = nhs_login.identity_level(answer.claims)
        return redirect(url_for("auth.nhs_login_low_level"))
    if result.outcome is not Outcome.SIGNED_IN:
        return _refused(result.outcome, REFUSED[result.outcome])
    accounts.sign_in(result.user, mfa_ok=result.strong, provider=NHS_LOGIN)
    db.session.commit()
    current_app.logger.info("sign-in with NHS login (user %s)", result.user.id)
    return redirect(url_for("plans.home"))


def _finish_link(answer: oidc.Answer):
    if not current_user.is_authenticated or current_user.id != answer.user_id:
        return _refused("link_without_account", FAILED)
    outcome = nhs_login.link(current_user, answer)
    if outcome is Outcome.LOW_LEVEL:
        return _refused(outcome, FAILED_LOW_LEVEL, current_user.id)
    if outcome is not Outcome.LINKED:
        return _refused(outcome, REFUSED[outcome], current_user.id)
    db.session.commit()
    flash(_l("Your NHS login is linked. You can now use it to sign in."))
    return redirect(url_for("account.settings"))


FAILED_LOW_LEVEL = _l(
    "Only an NHS login whose identity has been fully checked can be linked to your account."
)


@bp.route("/sign-in/nhs-login/limited")
def nhs_login_low_level():
    """For an NHS login whose identity is not fully checked: what it allows, and what next."""
    if current_user.is_authenticated or not session.get(LOW_LEVEL_KEY):
        return redirect(url_for("auth.login"))
    return render_template("auth/nhs_login_low_level.html")
