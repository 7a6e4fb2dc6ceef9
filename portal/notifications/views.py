from flask_login import login_required

from portal.notifications import bp


@bp.route("/", methods=["GET", "POST"])
@login_required
def preferences():
    return ""
