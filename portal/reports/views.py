from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from portal import audit, replica
from portal.compliance import CRITERIA, NEW_PATIENT_DAYS
from portal.extensions import db
from portal.pages import account_page
from portal.permissions import Action
from portal.reports import bp, chart, targets
from portal.reports.exports import as_csv
from portal.reports.forms import (
    RemoveTargetForm,
    ReportFilterForm,
    TrajectoryTargetForm,
    parse_month,
)
from portal.reports.register import for_report, headline
from portal.reports.services import add_months, monthly_report, organisations
from portal.reports.suppression import HIDDEN_UP_TO, ROUND_TO, SUPPRESSED


def _form() -> ReportFilterForm:
    """The filter from the address, or last month for everyone when nothing was chosen."""
    orgs = organisations()
    if request.args:
        return ReportFilterForm(formdata=request.args, organisations=orgs)
    last_month = add_months(date.today().replace(day=1), -1)
    # As if chosen, so the page opens on the last complete month's figures, not on an error.
    chosen = MultiDict({"month": last_month.strftime("%Y-%m"), "organisation": ""})
    return ReportFilterForm(formdata=chosen, organisations=orgs)


def _count(value: int | None) -> str:
    return SUPPRESSED if value is None else format_decimal(value, format="#,##0")


def _percent(value) -> str:
    return "–" if value is None else format_decimal(value, format="#,##0.0") + "%"


def _target(value) -> str:
    return "–" if value is None else format_decimal(value, format="#,##0.00") + "%"


def _score(value) -> str:
    return "–" if value is None else format_decimal(value, format="0.0")


def _dashboard_figures():
    """Everything the report page shows, read from the reports replica when there is one."""
    form = _form()
    report = monthly_report(form.month_start, form.organisation_id) if form.validate() else None
    register = for_report(report, form.organisation_id) if report else None
    return form, report, register, dict(organisations())


@bp.route("/reports")
@account_page(Action.READ_REPORTS)
def dashboard():
    form, report, register, organisation_names = replica.read(_dashboard_figures)
    if report:
        audit.record(
            "report.view", detail=f"month {form.month.data} organisation {form.organisation_id}"
        )
        db.session.commit()
    return render_template(
        "reports/dashboard.html",
        form=form,
        report=report,
        chart=chart.build(report.series) if report else None,
        register=register,
        headline=headline(report) if report else None,
        organisation_names=organisation_names,
        criteria=CRITERIA,
        new_patient_days=NEW_PATIENT_DAYS,
        hidden_up_to=HIDDEN_UP_TO,
        round_to=ROUND_TO,
        count=_count,
        percent=_percent,
        score=_score,
        target=_target,
    )


@bp.route("/reports.csv")
@account_page(Action.READ_REPORTS)
def download():
    form = replica.read(_form)
    if not form.validate():
        abort(400)
    report = replica.read(monthly_report, form.month_start, form.organisation_id)
    audit.record(
        "report.download", detail=f"month {form.month.data} organisation {form.organisation_id}"
    )
    db.session.commit()
    name = f"care-planning-{form.month.data}"
    if form.organisation_id is not None:
        name += f"-organisation-{form.organisation_id}"
    return Response(
        as_csv(report, for_report(report, form.organisation_id)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.route("/reports/trajectory", methods=["GET", "POST"])
@account_page(Action.READ_REPORTS)
def trajectory():
    """The monthly targets the report compares uptake with (Appendix 2 until any are set)."""
    form = TrajectoryTargetForm()
    if form.validate_on_submit():
        targets.set_target(parse_month(form.month.data), form.percent.data, current_user.id)
        flash(_("The target has been saved."))
        return redirect(url_for("reports.trajectory"))
    return render_template(
        "reports/trajectory.html",
        form=form,
        targets=targets.all_targets(),
        remove_form=RemoveTargetForm(formdata=None),
        target=_target,
    )


@bp.route("/reports/trajectory/remove", methods=["POST"])
@account_page(Action.READ_REPORTS)
def remove_target():
    form = RemoveTargetForm()
    month = parse_month(form.month.data) if form.validate_on_submit() else None
    if month is not None and targets.remove_target(month):
        flash(_("The target has been removed."))
    return redirect(url_for("reports.trajectory"))
