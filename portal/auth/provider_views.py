"""Signing in with NHS login (patients, carers) or CIS2 (staff), and linking either to an
account, through the provider's own pages."""

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import accounts, audit
from portal.auth import bp, cis2, identities, nhs_login, oidc
from portal.auth.identities import Outcome
from portal.auth.reauth import require_recent_auth
from portal.auth.views import start_second_step
from portal.extensions import db
from portal.models import IdentityProvider
from portal.pages import account_page
from portal.permissions import Action

# Each provider's address in the portal, and the service that reads its answers.
SLUGS = {"nhs-login": IdentityProvider.NHS_LOGIN, "cis2": IdentityProvider.CIS2}
SLUG_RULE = "<any('nhs-login', 'cis2'):slug>"
SERVICES = {IdentityProvider.NHS_LOGIN: nhs_login, IdentityProvider.CIS2: cis2}
REFUSED_ACTION = {
    IdentityProvider.NHS_LOGIN: "auth.nhs_login_refused",
    IdentityProvider.CIS2: "auth.cis2_refused",
}
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
        "We could not open an account with the email address your sign-in service gave us. "
        "Sign in with your email address and password, then link it from your account page."
    ),
    Outcome.LINKED_ELSEWHERE: _l(
        "This sign-in cannot be linked to your account, because one of them is already linked "
        "to another."
    ),
    Outcome.NOT_YOURS: _l(
        "This NHS login is not for the person whose care plan this account holds, so it "
        "cannot be linked."
    ),
    Outcome.INACTIVE: _l("This account has been closed. Contact your care team for help."),
    Outcome.NO_ROLE: _l(
        "The role you chose is not set up for this service at your organisation. Ask your "
        "administrator to add it."
    ),
    Outcome.LOW_LEVEL: _l(
        "Only an NHS login whose identity has been fully checked can be linked to your account."
    ),
}
FAILED = _l("Signing in did not work. Please try again.")


def _provider(slug: str) -> IdentityProvider:
    provider = SLUGS[slug]
    if not oidc.configured(provider):
        abort(404)
    return provider


def _callback_url(provider: IdentityProvider) -> str:
    """On the configured public address, never the request's Host header."""
    slug = next(s for s, p in SLUGS.items() if p is provider)
    return accounts.email_link("auth.provider_callback", slug=slug)


def _refused(provider: IdentityProvider, detail: str, message, user_id: int | None = None):
    audit.record(REFUSED_ACTION[provider], actor_id=user_id, detail=detail)
    db.session.commit()
    current_app.logger.info("%s sign-in refused: %s", provider, detail)
    return render_template("auth/sign_in_refused.html", message=message), 403


@bp.route(f"/sign-in/{SLUG_RULE}")
def provider_start(slug: str):
    provider = _provider(slug)
    if current_user.is_authenticated:
        return redirect(url_for("plans.home"))
    try:
        return redirect(oidc.authorization_url(provider, _callback_url(provider), "sign_in"))
    except oidc.SignInRefused as refusal:
        return _refused(provider, refusal.reason, FAILED)


@bp.route(f"/account/link/{SLUG_RULE}", methods=["POST"])
@account_page(Action.OWN_ACCOUNT)
@require_recent_auth(return_to="account.settings")
def provider_link(slug: str):
    """Linking starts from the account page, soon after the password was confirmed."""
    provider = _provider(slug)
    if slug not in {offered[0] for offered in identities.offered(current_user)}:
        abort(404)  # NHS login is for patients and carers, CIS2 for staff
    try:
        url = oidc.authorization_url(provider, _callback_url(provider), "link", current_user.id)
    except oidc.SignInRefused as refusal:
        return _refused(provider, refusal.reason, FAILED, current_user.id)
    return redirect(url)


@bp.route(f"/sign-in/{SLUG_RULE}/callback")
def provider_callback(slug: str):
    provider = _provider(slug)
    try:
        answer = oidc.finish(provider, request.args, _callback_url(provider))
    except oidc.SignInRefused as refusal:
        return _refused(provider, refusal.reason, FAILED)
    if answer.purpose == "link":
        return _finish_link(answer)
    result = SERVICES[provider].sign_in(answer)
    if result.outcome is Outcome.LOW_LEVEL:
        audit.record(REFUSED_ACTION[provider], detail=Outcome.LOW_LEVEL)
        db.session.commit()
        session.clear()
        session[LOW_LEVEL_KEY] = True
        return redirect(url_for("auth.nhs_login_low_level"))
    if result.outcome is not Outcome.SIGNED_IN:
        return _refused(provider, result.outcome, REFUSED[result.outcome])
    if result.user.mfa_enabled and not result.strong:
        db.session.commit()
        return start_second_step(result.user, None)
    accounts.sign_in(result.user, mfa_ok=result.strong, provider=provider)
    db.session.commit()
    current_app.logger.info("sign-in with %s (user %s)", provider, result.user.id)
    return redirect(url_for("plans.home"))


def _finish_link(answer: oidc.Answer):
    provider = answer.provider
    if not current_user.is_authenticated or current_user.id != answer.user_id:
        return _refused(provider, "link_without_account", FAILED)
    outcome = SERVICES[provider].link(current_user, answer)
    if outcome is not Outcome.LINKED:
        return _refused(provider, outcome, REFUSED[outcome], current_user.id)
    db.session.commit()
    flash(_l("The sign-in is linked. You can now use it to sign in to this service."))
    return redirect(url_for("account.settings"))


@bp.route("/sign-in/nhs-login/limited")
def nhs_login_low_level():
    """For an NHS login whose identity is not fully checked: what it allows, and what next."""
    if current_user.is_authenticated or not session.get(LOW_LEVEL_KEY):
        return redirect(url_for("auth.login"))
    return render_template("auth/nhs_login_low_level.html")
