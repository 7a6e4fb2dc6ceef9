"""Administration pages. Only administrators reach them; to anyone else they do not exist.

Every change needs a password typed in the last few minutes and is audited in ``services``.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import labels
from portal.admin import bp, services
from portal.admin.forms import (
    AccountForm,
    Cis2RoleForm,
    EditAccountForm,
    JoinOrganisationForm,
    OrganisationForm,
)
from portal.auth import cis2
from portal.auth.reauth import require_recent_auth
from portal.extensions import db
from portal.models import Cis2RoleMapping, Organisation, OrganisationKind, Role, User
from portal.pages import account_page
from portal.pagination import requested_page
from portal.permissions import Action

SEARCH_MAX = 200


def _account_or_404(user_id: int) -> User:
    user = services.staff_account(user_id)
    if user is None:
        abort(404)
    return user


def _page() -> int:
    return requested_page()


@bp.route("/")
@account_page(Action.ADMINISTER)
def home():
    search = request.args.get("q", "").strip()[:SEARCH_MAX]
    return render_template(
        "admin/home.html", result=services.staff_accounts(search, _page()), search=search
    )


@bp.route("/organisations")
@account_page(Action.ADMINISTER)
def organisations():
    return render_template("admin/organisations.html", result=services.organisations(_page()))


# --------------------------------------------------------------------------- #
# Accounts
# --------------------------------------------------------------------------- #


def _account_details(form: AccountForm) -> dict | None:
    """What the form says, with the organisation looked up; None (and an error) if unknown."""
    organisation_id = None
    if form.organisation.data:
        organisation = services.organisation_by_code(form.organisation.data)
        if organisation is None:
            form.organisation.errors.append(
                _("No organisation has this ODS code. Add the organisation first.")
            )
            return None
        organisation_id = organisation.id
    return {
        "display_name": form.display_name.data,
        "role": form.role.data,
        "organisation_id": organisation_id,
        "job_title": form.job_title.data or None,
        "can_audit": form.role.data == Role.PROFESSIONAL and form.can_audit.data,
    }


@bp.route("/accounts/new", methods=["GET", "POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth
def new_account():
    form = AccountForm()
    if form.validate_on_submit() and (details := _account_details(form)) is not None:
        try:
            user = services.create_account(details, form.email.data)
        except services.Taken:
            form.email.errors.append(_("An account with this email address already exists"))
        else:
            flash(
                _(
                    "Account added. We have emailed %(email)s a link to choose a password.",
                    email=user.email,
                )
            )
            return redirect(url_for("admin.account", user_id=user.id))
    return render_template("admin/account_form.html", form=form, user=None)


@bp.route("/accounts/<int:user_id>")
@account_page(Action.ADMINISTER)
def account(user_id: int):
    from portal.organisations.services import other_organisations_of

    user = _account_or_404(user_id)
    return render_template(
        "admin/account.html",
        user=user,
        others=other_organisations_of(user),
        join_form=JoinOrganisationForm(formdata=None),
    )


@bp.route("/accounts/<int:user_id>/organisations", methods=["POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth
def join_organisation(user_id: int):
    """A professional starts working for a further organisation, named by its ODS code."""
    from portal.organisations.services import join, other_organisations_of

    user = _account_or_404(user_id)
    form = JoinOrganisationForm()
    valid = form.validate_on_submit()
    organisation = services.organisation_by_code(form.ods_code.data) if valid else None
    if organisation is None or user.role != Role.PROFESSIONAL:
        flash(_("No organisation has this ODS code."))
    elif organisation.id != user.organisation_id and organisation not in other_organisations_of(
        user
    ):
        join(user, organisation)
        flash(_("%(name)s now works for %(org)s.", name=user.display_name, org=organisation.name))
    return redirect(url_for(".account", user_id=user_id))


@bp.route("/accounts/<int:user_id>/organisations/<int:organisation_id>/leave", methods=["POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth
def leave_organisation(user_id: int, organisation_id: int):
    """The professional leaves: the organisation's patients are closed to them at once."""
    from portal.organisations.services import leave

    user = _account_or_404(user_id)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    if leave(user, organisation, current_user):
        flash(
            _(
                "%(name)s no longer works for %(org)s: its patients are closed to them at once.",
                name=user.display_name,
                org=organisation.name,
            )
        )
    return redirect(url_for(".account", user_id=user_id))


def _saved_account(user: User) -> dict:
    """The saved details in the words the page shows, for the "someone else changed this" table."""
    return {
        "display_name": user.display_name,
        "role": labels.ROLES.get(user.role, user.role),
        "organisation": user.organisation.ods_code if user.organisation else "",
        "job_title": user.job_title or "",
    }


@bp.route("/accounts/<int:user_id>/edit", methods=["GET", "POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth
def edit_account(user_id: int):
    user = _account_or_404(user_id)
    version = services.fingerprint(user, services.ACCOUNT_FIELDS)
    if request.method == "GET":
        saved = _saved_account(user)
        form = EditAccountForm(
            data={**saved, "role": user.role, "can_audit": user.can_audit, "version": version}
        )
    else:
        form = EditAccountForm()
    conflict = None
    if form.validate_on_submit() and (details := _account_details(form)) is not None:
        if form.version.data != version:
            conflict = {"current": _saved_account(user), "mine": _typed_account(form)}
            form.version.data = version  # saving again is a knowing choice
        else:
            try:
                services.change_account(user, details)
            except services.LastAdmin:
                form.role.errors.append(_last_admin_message())
            else:
                flash(_("The account has been changed."))
                return redirect(url_for("admin.account", user_id=user.id))
    return render_template("admin/account_form.html", form=form, user=user, conflict=conflict)


def _typed_account(form: AccountForm) -> dict:
    return {
        "display_name": form.display_name.data,
        "role": labels.ROLES.get(form.role.data, form.role.data),
        "organisation": form.organisation.data or "",
        "job_title": form.job_title.data or "",
    }


def _last_admin_message() -> str:
    return _("This is the only active administrator. Add another administrator first.")


# Deactivate, reactivate, reset two-step verification, send a new link: a page that says what
# will happen, with one button.
ACCOUNT_ACTIONS = {
    "deactivate": lambda user: services.set_active(user, False),
    "reactivate": lambda user: services.set_active(user, True),
    "reset_mfa": services.reset_mfa,
    "send_link": services.resend_password_link,
}


def _account_action(user_id: int, name: str):
    user = _account_or_404(user_id)
    problem = None
    if name == "deactivate" and user.id == current_user.id:
        problem = _("You cannot deactivate your own account.")
    elif name == "deactivate" and not user.active:
        problem = _("This account is already deactivated.")
    elif name == "reactivate" and user.active:
        problem = _("This account is already active.")
    elif name == "send_link" and not user.active:
        problem = _("Reactivate the account first: a deactivated account cannot sign in.")
    if request.method == "POST" and problem is None:
        try:
            ACCOUNT_ACTIONS[name](user)
        except services.LastAdmin:
            problem = _last_admin_message()
        else:
            flash(_done_message(name, user))
            return redirect(url_for("admin.account", user_id=user.id))
    return render_template("admin/account_action.html", user=user, action=name, problem=problem)


def _done_message(name: str, user: User) -> str:
    return {
        "deactivate": _("The account has been deactivated and its sessions have ended."),
        "reactivate": _("The account has been reactivated."),
        "reset_mfa": _(
            "Two-step verification has been reset. They must set it up again when they next "
            "sign in."
        ),
        "send_link": _(
            "We have emailed %(email)s a new link to choose a password.", email=user.email
        ),
    }[name]


def _action_route(path: str, name: str):
    @account_page(Action.ADMINISTER)
    @require_recent_auth
    def view(user_id: int):
        return _account_action(user_id, name)

    view.__name__ = name
    bp.add_url_rule(f"/accounts/<int:user_id>/{path}", name, view, methods=["GET", "POST"])


_action_route("deactivate", "deactivate")
_action_route("reactivate", "reactivate")
_action_route("reset-two-step-verification", "reset_mfa")
_action_route("send-password-link", "send_link")


# --------------------------------------------------------------------------- #
# Organisations
# --------------------------------------------------------------------------- #


def _organisation_form(organisation: Organisation | None):
    organisation = organisation or Organisation()
    saved = {
        "name": organisation.name or "",
        "ods_code": organisation.ods_code or "",
        "kind": organisation.kind or OrganisationKind.GP_PRACTICE.value,
        "reply_working_days": str(organisation.reply_working_days or 2),
    }
    version = services.fingerprint(organisation, services.ORGANISATION_FIELDS)
    if request.method == "GET":
        form = OrganisationForm(data={**saved, "version": version})
    else:
        form = OrganisationForm()
    conflict = None
    if form.validate_on_submit():
        if organisation.id is not None and form.version.data != version:
            kinds = labels.ORGANISATION_KINDS
            conflict = {
                "current": {**saved, "kind": kinds[saved["kind"]]},
                "mine": {
                    "name": form.name.data,
                    "ods_code": form.ods_code.data,
                    "kind": kinds[form.kind.data],
                    "reply_working_days": form.reply_working_days.data,
                },
            }
            form.version.data = version
        else:
            try:
                services.save_organisation(
                    organisation,
                    form.name.data,
                    form.ods_code.data,
                    int(form.reply_working_days.data),
                    form.kind.data,
                )
            except services.Taken:
                form.ods_code.errors.append(_("Another organisation already has this ODS code"))
            else:
                flash(_("The organisation has been saved."))
                return redirect(url_for("admin.organisations"))
    return render_template(
        "admin/organisation_form.html", form=form, organisation=organisation, conflict=conflict
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth
def new_organisation():
    return _organisation_form(None)


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth
def edit_organisation(organisation_id: int):
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    return _organisation_form(organisation)


# --------------------------------------------------------------------------- #
# CIS2 roles
# --------------------------------------------------------------------------- #


@bp.route("/cis2-roles", methods=["GET", "POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth
def cis2_roles():
    """Which national roles, at which organisations, open which staff accounts here."""
    form = Cis2RoleForm()
    if form.validate_on_submit():
        organisation = services.organisation_by_code(form.organisation.data)
        if organisation is None:
            form.organisation.errors.append(_("No organisation here has this ODS code"))
        else:
            try:
                cis2.add_mapping(organisation, form.role_code.data, form.role.data)
            except cis2.MappingTaken:
                form.role_code.errors.append(_("This role is already mapped at this organisation"))
            else:
                db.session.commit()
                flash(_("The role has been mapped."))
                return redirect(url_for("admin.cis2_roles"))
    return render_template(
        "admin/cis2_roles.html", form=form, mappings=cis2.mappings(), roles=labels.ROLES
    )


@bp.route("/cis2-roles/<int:mapping_id>/remove", methods=["POST"])
@account_page(Action.ADMINISTER)
@require_recent_auth(return_to="admin.cis2_roles")
def remove_cis2_role(mapping_id: int):
    mapping = db.session.get(Cis2RoleMapping, mapping_id)
    if mapping is None:
        abort(404)
    cis2.remove_mapping(mapping)
    db.session.commit()
    flash(_("The mapping has been removed: this role no longer lets anyone sign in."))
    return redirect(url_for("admin.cis2_roles"))
