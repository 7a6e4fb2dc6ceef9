"""The SMART on FHIR endpoints: discovery, the token endpoint and the app's approval page."""

from authlib.oauth2 import OAuth2Error
from flask import abort, g, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from portal import audit, fhir_scopes
from portal.extensions import csrf, db
from portal.fields import PortalForm
from portal.models import AccessGrant, Patient, Role
from portal.pages import account_page
from portal.permissions import Action, active_grants_query, can
from portal.portability import bp, smart
from portal.portability.forms import AppLaunchForm
from portal.portability.terminology import canonical_base


@bp.route("/fhir/.well-known/smart-configuration")
def smart_configuration():
    """How apps and systems connect (public: it holds no one's data)."""
    return jsonify(smart.configuration())


@bp.route("/fhir/auth/token", methods=["POST"])
@csrf.exempt
def smart_token():
    """Tokens for a system's signed assertion or an app's code; the client proves itself."""
    return smart.server().create_token_response()


def _launch_patients() -> list[Patient]:
    """Whose plan the person may let an app read: their own, or those shared with them."""
    if current_user.role == Role.PATIENT:
        candidates = db.session.scalars(select(Patient).where(Patient.user_id == current_user.id))
    elif current_user.role == Role.CARER:
        grants = db.session.scalars(
            active_grants_query().where(AccessGrant.grantee_id == current_user.id)
        )
        candidates = [db.session.get(Patient, grant.patient_id) for grant in grants]
    else:
        candidates = []
    return [p for p in candidates if can(current_user, Action.VIEW_PLAN, p)]


@bp.route("/fhir/auth/authorize", methods=["GET", "POST"])
@account_page(Action.USE_FHIR_API)
def smart_authorize():
    """The person signed in sees which app asks to read what, chooses whose plan, and allows
    it or not. A request that is not valid (unknown app, redirect address or audience, no
    PKCE) is refused here and never sent back to the app."""
    authorisation = smart.server()
    try:
        grant = authorisation.get_consent_grant(end_user=current_user)
    except OAuth2Error:
        abort(400)
    if request.values.get("aud", "").rstrip("/") != canonical_base():
        abort(400)
    if not request.values.get("code_challenge") or (
        request.values.get("code_challenge_method") != "S256"
    ):
        abort(400)  # PKCE with S256, always: every app is a public client here
    scope = grant.request.client.get_allowed_scope(grant.request.payload.scope) or ""
    if not any(fhir_scopes.parse(part) for part in scope.split()):
        abort(400)  # nothing this app was registered to read was asked for
    launch = "launch/patient" in scope.split()
    patients = _launch_patients() if launch else []
    if launch and not patients:
        abort(400)  # no one whose plan this person may share with an app
    form = AppLaunchForm()
    if launch:
        form.patient.choices = [SelectChoice(p.id, p.full_name) for p in patients]
        if len(patients) == 1 and not form.is_submitted():
            form.patient.data = patients[0].id
    else:
        del form.patient
    if request.method == "POST" and request.form.get("decision") == "deny":
        if not PortalForm().validate_on_submit():  # the same CSRF check as every form
            abort(400)
        return authorisation.create_authorization_response(grant_user=None, grant=grant)
    if form.validate_on_submit():
        patient_id = form.patient.data if launch else None
        g.smart_launch_patient_id = patient_id
        audit.record("fhir.app_authorised", patient_id, grant.request.client.name)
        db.session.commit()
        return authorisation.create_authorization_response(grant_user=current_user, grant=grant)
    return render_template(
        "portability/authorize.html",
        form=form,
        client=grant.request.client,
        launch=launch,
        conversations="*" in scope or "Communication" in scope,
    )
