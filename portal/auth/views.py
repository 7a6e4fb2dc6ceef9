from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from portal import audit
from portal.auth import bp
from portal.auth.forms import LoginForm
from portal.auth.services import authenticate
from portal.extensions import db
from portal.models.base import utcnow
from portal.redirects import safe_next
from portal.security import end_session, start_session


@bp.route("/sign-in", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("plans.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            audit.record("auth.sign_in_failed", detail="")
            db.session.commit()
            form.password.errors.append(_("Enter a correct email address and password"))
        else:
            start_session(user)
            login_user(user)
            user.last_login_at = utcnow()
            audit.record("auth.sign_in", actor_id=user.id)
            db.session.commit()
            return redirect(safe_next(request.args.get("next"), url_for("plans.home")))
    return render_template("auth/login.html", form=form)


@bp.route("/sign-out", methods=["POST"])
@login_required
def logout():
    audit.record("auth.sign_out")
    db.session.commit()
    end_session()
    flash(_("You have signed out."))
    return redirect(url_for("auth.login"))
