"""Who can see my plan, consent, who has looked, invitations, and "shared with me"."""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import accounts
from portal.extensions import db
from portal.i18n import current_language, linked_language, remember_language
from portal.models import AccessGrant
from portal.pages import account_page, patient_page
from portal.pagination import requested_page
from portal.permissions import Action, require
from portal.sharing import bp, services
from portal.sharing.forms import (
    CarerAccountForm,
    ConsentForm,
    GrantForm,
    InviteForm,
)
from portal.sharing.services import CURRENT_STATUSES, InvitationProblem, grant_status

# --------------------------------------------------------------------------- #
# The patient: who can see my plan
# --------------------------------------------------------------------------- #


@bp.route("/patients/<int:patient_id>/sharing")
@patient_page(Action.MANAGE_SHARING)
def manage(patient_id: int, access):
    from portal.organisations.services import memberships_of

    grants = services.grants_for(patient_id)
    statuses = {grant.id: grant_status(grant) for grant in grants}
    return render_template(
        "sharing/manage.html",
        patient=access.patient,
        current=[g for g in grants if statuses[g.id] in CURRENT_STATUSES],
        past=[g for g in grants if statuses[g.id] not in CURRENT_STATUSES],
        statuses=statuses,
        memberships=memberships_of(patient_id),
    )


@bp.route("/patients/<int:patient_id>/sharing/invite", methods=["GET", "POST"])
@patient_page(Action.MANAGE_SHARING)
def invite(patient_id: int, access):
    form = InviteForm()
    form.invitation_language.choices = services.invitation_languages()
    if request.method == "GET":
        form.invitation_language.data = current_language()
    if form.validate_on_submit():
        email = services.normalise_email(form.email.data)
        if email == services.normalise_email(current_user.email):
            form.email.errors.append(_("Enter the email address of someone else, not your own"))
        elif services.already_shared(patient_id, email):
            form.email.errors.append(
                _(
                    "This person already has access or an invitation waiting. Change it from "
                    "the list of people who can see your plan."
                )
            )
        else:
            invitation = services.invite(
                access.patient,
                current_user,
                email,
                form.relationship.data,
                form.scope.data,
                form.end_date.data,
                form.invitation_language.data,
            )
            return render_template(
                "sharing/invitation_sent.html", patient=access.patient, invitation=invitation
            )
    return render_template("sharing/invite.html", patient=access.patient, form=form)


# The grant named in the address, only if it is this patient's (404 otherwise).
ONE_GRANT = {"load": services.grant_of, "load_as": "grant"}


def _already_stopped(patient_id: int, grant: AccessGrant):
    flash(_("Access for %(who)s has already stopped.", who=_who(grant)))
    return redirect(url_for(".manage", patient_id=patient_id))


def _who(grant: AccessGrant) -> str:
    return grant.grantee.display_name if grant.grantee else grant.invited_email


@bp.route("/patients/<int:patient_id>/sharing/<int:grant_id>", methods=["GET", "POST"])
@patient_page(Action.MANAGE_SHARING, **ONE_GRANT)
def edit_grant(patient_id: int, grant_id: int, access, grant: AccessGrant):
    status = grant_status(grant)
    if status not in CURRENT_STATUSES:
        return _already_stopped(patient_id, grant)
    form = GrantForm(data={"scope": grant.scope, "end_date": grant.expires_on})
    if form.validate_on_submit():
        if services.change(grant, form.scope.data, form.end_date.data):
            flash(_("You have changed what %(who)s can see.", who=_who(grant)))
        return redirect(url_for(".manage", patient_id=patient_id))
    return render_template(
        "sharing/edit_grant.html",
        patient=access.patient,
        grant=grant,
        status=status,
        form=form,
    )


@bp.route("/patients/<int:patient_id>/sharing/<int:grant_id>/stop", methods=["GET", "POST"])
@patient_page(Action.MANAGE_SHARING, **ONE_GRANT)
def stop(patient_id: int, grant_id: int, access, grant: AccessGrant):
    """Confirm, then stop a grant or cancel an invitation; the carer's next request is refused."""
    status = grant_status(grant)
    if grant.revoked_at is not None:
        return _already_stopped(patient_id, grant)
    if request.method == "POST":
        services.revoke(grant)
        if grant.accepted_at is None:
            flash(_("You have cancelled the invitation to %(who)s.", who=_who(grant)))
        else:
            flash(_("%(who)s can no longer see your plan.", who=_who(grant)))
        return redirect(url_for(".manage", patient_id=patient_id))
    return render_template("sharing/stop.html", patient=access.patient, grant=grant, status=status)


@bp.route("/patients/<int:patient_id>/sharing/<int:grant_id>/resend", methods=["POST"])
@patient_page(Action.MANAGE_SHARING, **ONE_GRANT)
def resend(patient_id: int, grant_id: int, access, grant: AccessGrant):
    if grant_status(grant) not in ("pending", "invitation_expired"):
        flash(_("That invitation can no longer be sent again."))
        return redirect(url_for(".manage", patient_id=patient_id))
    invitation = services.resend(grant, access.patient)
    return render_template(
        "sharing/invitation_sent.html", patient=access.patient, invitation=invitation, again=True
    )


@bp.route("/patients/<int:patient_id>/consent", methods=["GET", "POST"])
@patient_page(Action.MANAGE_SHARING)
def consent(patient_id: int, access):
    patient = access.patient
    current = {True: "yes", False: "no"}.get(patient.care_team_consent)
    form = ConsentForm(data={"share": current})
    if form.validate_on_submit():
        share = form.share.data == "yes"
        if services.record_consent(patient, share, current_user):
            flash(
                _("Your care team can now see your plan.")
                if share
                else _("Your care team can no longer see your plan.")
            )
        else:
            flash(_("Your choice has not changed."))
        return redirect(url_for(".consent", patient_id=patient_id))
    return render_template(
        "sharing/consent.html",
        patient=patient,
        form=form,
        history=services.consent_history(patient_id),
    )


@bp.route("/patients/<int:patient_id>/activity")
@patient_page(Action.MANAGE_SHARING)
def activity(patient_id: int, access):
    """The patient's audit trail.

    Reading it is not itself recorded: only the patient can open it, it is not plan content,
    and a new entry on every visit would push the entries they came to read down the pages.
    """
    others = request.args.get("others") == "1"
    result = services.activity(
        patient_id,
        requested_page(),
        leave_out=current_user.id if others else None,
    )
    return render_template(
        "sharing/activity.html",
        patient=access.patient,
        result=result,
        others=others,
    )


# --------------------------------------------------------------------------- #
# The carer: shared with me
# --------------------------------------------------------------------------- #


@bp.route("/shared-with-me")
@account_page(Action.OWN_ACCOUNT)
def shared_with_me():
    return render_template("sharing/shared_with_me.html", grants=services.shared_with(current_user))


@bp.route("/shared-with-me/<int:grant_id>/give-up", methods=["GET", "POST"])
@account_page(Action.OWN_ACCOUNT)
def give_up(grant_id: int):
    grant = db.session.get(AccessGrant, grant_id)
    access = require(current_user, Action.VIEW_CRISIS, grant.patient_id if grant else 0)
    grant = services.own_active_grant(current_user, grant_id)
    if grant is None:
        abort(404)
    if request.method == "POST":
        services.revoke(grant, "sharing.give_up")
        flash(_("You can no longer see the plan of %(name)s.", name=access.patient.full_name))
        return redirect(url_for(".shared_with_me"))
    return render_template("sharing/give_up.html", grant=grant, patient=access.patient)


# --------------------------------------------------------------------------- #
# Taking up an invitation
# --------------------------------------------------------------------------- #

PROBLEM_STATUS = {
    InvitationProblem.UNKNOWN: 404,
    InvitationProblem.EXPIRED: 410,
    InvitationProblem.CANCELLED: 410,
    InvitationProblem.WRONG_ACCOUNT: 403,
    InvitationProblem.PATIENT_ACCOUNT: 403,
    InvitationProblem.STAFF_ACCOUNT: 403,
}


def _problem(problem: InvitationProblem, grant: AccessGrant | None, token: str):
    return (
        render_template(
            "sharing/invitation_problem.html", problem=problem, grant=grant, token=token
        ),
        PROBLEM_STATUS[problem],
    )


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Public: the link itself is the credential until it is spent. Accepting is a POST."""
    grant, problem = services.find_invitation(token)
    if problem is not None:
        return _problem(problem, grant, token)
    if not current_user.is_authenticated:
        if request.method == "POST":
            return redirect(url_for("auth.login", next=request.path))
        return _keep_linked_language(
            make_response(render_template("sharing/invitation.html", grant=grant, token=token))
        )
    problem = services.account_problem(grant, current_user)
    if problem is not None:
        return _problem(problem, grant, token)
    if request.method == "POST":
        if not services.accept(grant, current_user):
            return _problem(InvitationProblem.UNKNOWN, None, token)
        flash(_("You can now see the plan of %(name)s.", name=grant.patient.full_name))
        return redirect(url_for(".shared_with_me"))
    return render_template("sharing/invitation.html", grant=grant, token=token)


def _keep_linked_language(response):
    """The language the invitation email linked to stays for the next pages (signing up)."""
    if linked := linked_language():
        remember_language(response, linked)
    return response


@bp.route("/invitations/<token>/create-account", methods=["GET", "POST"])
def create_account(token: str):
    """A carer account for the invited email address; creating it accepts the invitation."""
    grant, problem = services.find_invitation(token)
    if problem is not None:
        return _problem(problem, grant, token)
    if current_user.is_authenticated:
        return redirect(url_for(".invitation", token=token))
    form = CarerAccountForm()
    form.invited_email = grant.invited_email
    exists = False
    if form.validate_on_submit():
        exists = services.account_exists(grant.invited_email)
        if not exists:
            user = services.create_carer(
                grant, form.display_name.data, form.password.data, current_language()
            )
            if not services.accept(grant, user):
                return _problem(InvitationProblem.UNKNOWN, None, token)
            accounts.sign_in(user)
            db.session.commit()
            flash(_("You can now see the plan of %(name)s.", name=grant.patient.full_name))
            return redirect(url_for(".shared_with_me"))
    return render_template(
        "sharing/create_account.html", grant=grant, token=token, form=form, exists=exists
    )
