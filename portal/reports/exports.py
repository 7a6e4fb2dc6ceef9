"""The published report as rows of figures, written as CSV or plain text.

Both formats come from ``figures``, which reads only the published ``Report``: the CSV, the
command line and the page show the same numbers and nothing more.
"""

import csv
import io
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from portal.reports.services import Report
from portal.reports.suppression import SUPPRESSED

MEASURES = {
    "denominator": _l("Counted: register, portal or mixed"),
    "people": _l("People with a long-term condition"),
    "compliant": _l("With a plan that meets the requirements"),
    "percent": _l("Percentage with such a plan"),
    "target": _l("Trajectory target (percentage)"),
    "difference": _l("Difference from target (percentage points)"),
    "new_patients": _l("New patients (initial assessment in the month)"),
    "new_within": _l("Of whom plan agreed within 28 days"),
    "new_percent": _l("Percentage within 28 days"),
    "goals": _l("Goals"),
    "responses": _l("Survey responses"),
    "mean": _l("Average score (1 to 5)"),
    "agree_percent": _l("Percentage answering 4 or 5"),
    "audited": _l("Plans audited"),
    "audit_meeting": _l("Plans meeting the requirements"),
    "audit_percent": _l("Percentage meeting the requirements"),
    "withheld": _l("Not shown: every group is small enough to identify people"),
    "on_register": _l("On the register"),
    "offered": _l("Offered"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "baseline": _l("Plan already in place (baseline)"),
    "uptake": _l("Percentage of the register with such a plan"),
}

SECTIONS = {
    "summary": _l("Summary"),
    "new_patients": _l("New patients"),
    "uptake": _l("Uptake by month"),
    "goals": _l("Goals by status"),
    "survey": _l("Satisfaction survey"),
    "audits": _l("Sample audits"),
    "register": _l("The practices' registers"),
}

HEADER = ("month", "organisation", "section", "group_code", "group", "measure", "value")


def value_text(value) -> str:
    """A published value as text: ``*`` for a hidden count, blank for a percentage not given."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _count(value: int | None) -> str:
    return SUPPRESSED if value is None else str(value)


def figures(report: Report, register=None) -> list[tuple[str, str, str, str, str]]:
    """(section, group code, group label, measure, value) for every published figure; with
    ``register`` (``portal.reports.register`` rows: the total, then each organisation) the
    registers' figures too."""
    rows: list[tuple[str, str, str, str, str]] = []

    def add(section, code, label, measure, value, counted=False):
        text = _count(value) if counted else value_text(value)
        rows.append((section, str(code), str(label), measure, text))

    everyone = _l("All")
    add("summary", "", everyone, "denominator", report.denominator)
    add("summary", "", everyone, "people", report.people, True)
    add("summary", "", everyone, "compliant", report.compliant, True)
    add("summary", "", everyone, "percent", report.percent)
    add("summary", "", everyone, "target", report.target)
    add("summary", "", everyone, "difference", report.difference)
    add("new_patients", "", everyone, "new_patients", report.new_patients, True)
    add("new_patients", "", everyone, "new_within", report.new_within, True)
    add("new_patients", "", everyone, "new_percent", report.new_percent)
    for breakdown in report.breakdowns:
        if breakdown.withheld:
            add(breakdown.key, "", everyone, "withheld", None)
        for row in breakdown.rows:
            add(breakdown.key, row.key, row.label, "people", row.people, True)
            add(breakdown.key, row.key, row.label, "compliant", row.compliant, True)
            add(breakdown.key, row.key, row.label, "percent", row.percent)
    for point in report.series:
        code = point.month.strftime("%Y-%m")
        add("uptake", code, code, "people", point.people, True)
        add("uptake", code, code, "compliant", point.compliant, True)
        add("uptake", code, code, "percent", point.percent)
        add("uptake", code, code, "target", point.target)
    for status, label, goals in report.goals:
        add("goals", status, label, "goals", goals, True)
    add("goals", "", everyone, "goals", report.goals_total, True)
    add("survey", "", everyone, "responses", report.survey_responses, True)
    for question in report.survey:
        add("survey", question.key, question.label, "mean", question.mean)
        add(
            "survey",
            question.key,
            question.label,
            "agree_percent",
            report.survey_agree_percent(question),
        )
    add("audits", "", everyone, "audited", report.audited, True)
    add("audits", "", everyone, "audit_meeting", report.audit_meeting, True)
    add("audits", "", everyone, "audit_percent", report.audit_percent)
    for row in register or ():
        code = "" if row.organisation_id is None else str(row.organisation_id)
        label = everyone if row.organisation_id is None else code
        for measure in ("on_register", "offered", "accepted", "declined", "baseline"):
            add("register", code, label, measure, getattr(row, measure), True)
        add("register", code, label, "compliant", row.compliant, True)
        add("register", code, label, "uptake", row.uptake)
    return rows


def _safe(text: str) -> str:
    """Keep a spreadsheet from reading a label as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(report: Report, register=None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    month = report.month.strftime("%Y-%m")
    organisation = _safe(report.organisation or str(_l("All organisations")))
    for section, code, label, measure, value in figures(report, register):
        writer.writerow((month, organisation, section, _safe(code), _safe(label), measure, value))
    return out.getvalue()


def as_text(report: Report, register=None) -> str:
    """A readable summary for the terminal, one section after another."""
    from portal.reports.services import BREAKDOWNS

    titles = {**SECTIONS, **BREAKDOWNS}
    lines = [
        str(_l("Care planning report for %(month)s", month=report.month.strftime("%Y-%m"))),
        str(report.organisation or _l("All organisations")),
        str(
            _l(
                "Figures as at %(day)s. * means fewer than 8, or hidden so that a small number "
                "cannot be worked out; counts are rounded to the nearest 5.",
                day=report.as_of.isoformat(),
            )
        ),
        str(
            _l("Figures calculated on %(day)s.", day=report.calculated_at.date().isoformat())
            if report.calculated_at
            else _l("Live figures, counted now: this month has not been summarised yet.")
        ),
        str(report.denominator_text),
    ]
    current = None
    for section, _code, label, measure, value in figures(report, register):
        if section != current:
            current = section
            lines += ["", str(titles[section]), "-" * len(str(titles[section]))]
        lines.append(f"  {label[:40]:40}  {str(MEASURES[measure])[:48]:48}  {value:>8}")
    return "\n".join(lines)
