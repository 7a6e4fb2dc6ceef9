from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit, replica
from portal.extensions import db
from portal.labels import SURVEY_STATEMENTS
from portal.pages import account_page, patient_page
from portal.permissions import Action
from portal.surveys import bp, services
from portal.surveys.forms import SurveyForm


@bp.route("/patients/<int:patient_id>/survey/<int:meeting_id>", methods=["GET", "POST"])
@patient_page(Action.ANSWER_SURVEY)
def survey(patient_id: int, meeting_id: int, access):
    """Only the patient answers for themselves: carers and professionals get a 404."""
    meeting = services.held_meeting(patient_id, meeting_id)
    if meeting is None:
        abort(404)
    if services.response_for(meeting.id) is not None:
        return render_template("surveys/answered.html", patient=access.patient, meeting=meeting)
    form = SurveyForm()
    if form.validate_on_submit():
        if services.record(access.patient, meeting, form.data):
            flash(_("Thank you. Your answers help your practice improve care planning."))
            return redirect(url_for("plans.plan", patient_id=patient_id))
        return render_template("surveys/answered.html", patient=access.patient, meeting=meeting)
    return render_template(
        "surveys/survey.html", form=form, patient=access.patient, meeting=meeting
    )


@bp.route("/surveys")
@account_page(Action.READ_SURVEY_RESULTS)
def summary():
    """The practice's survey results, with comments, for its own professionals only."""
    summary = replica.read(services.organisation_summary, current_user)
    audit.record("survey.summary_view", detail=f"organisation {current_user.organisation_id}")
    db.session.commit()
    return render_template(
        "surveys/summary.html",
        summary=summary,
        statements=SURVEY_STATEMENTS,
    )
