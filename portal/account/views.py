from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.account import bp
from portal.extensions import db
from portal.i18n import LOCALE_COOKIE, supported
from portal.redirects import safe_next


@bp.route("/")
@login_required
def settings():
    return render_template("account/settings.html")


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
        response.set_cookie(
            LOCALE_COOKIE,
            choice,
            max_age=365 * 24 * 3600,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response
