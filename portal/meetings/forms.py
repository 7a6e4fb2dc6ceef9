"""Forms for the professional's side of the review, and the named contact request."""

from datetime import date, datetime, timedelta

from flask_babel import format_date, gettext, lazy_ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from portal import labels, limits
from portal.fields import whole_number
from portal.models import ContactKind, CrisisLevel, GoalStatus
from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT

ATTENDEES_LIMIT = 1000
NOTES_LIMIT = 4000
REASON_LIMIT = 500
LOCATION_LIMIT = 200
EARLIEST = date(2000, 1, 1)


class _TrimmedMixin:
    """Typed text is trimmed and cut to ``width``; blank is ``None``.

    ``raw_data`` is trimmed too, so ``InputRequired`` sees a date of only spaces as missing
    instead of passing it on as ``None``.
    """

    width = 20

    def process_formdata(self, valuelist):
        typed = valuelist[0].strip()[: self.width] if valuelist else ""
        self.raw_data = [typed] if typed else []
        if not typed:
            self.data = None
            return
        super().process_formdata([typed])


class DayField(_TrimmedMixin, DateField):
    """A date typed as YYYY-MM-DD; empty is ``None`` (so "required" gives one clear message)."""


class ClockField(_TrimmedMixin, TimeField):
    """A time typed as HH:MM; empty is ``None``."""

    width = 10


def _not_in_future(message):
    def check(form, field):
        if field.data and field.data > date.today():
            raise ValidationError(message)

    return check


def _not_too_early(message):
    def check(form, field):
        if field.data and field.data < EARLIEST:
            raise ValidationError(message)

    return check


int_or_none = whole_number


# --- recording the meeting ---------------------------------------------------------------


class MeetingForm(FlaskForm):
    """The meeting itself; ``record_form`` adds one decision per proposal."""

    agreed_version = HiddenField()
    held_on = DayField(
        _l("Date the meeting was held"),
        validators=[
            InputRequired(_l("Enter the date the meeting was held")),
            _not_in_future(_l("The date the meeting was held must be today or in the past")),
            _not_too_early(_l("The date the meeting was held must be after 1 January 2000")),
        ],
        invalid_value_message=_l("The date the meeting was held must be a real date"),
    )
    attendees = TextAreaField(
        _l("Who attended"),
        validators=[
            DataRequired(_l("Enter who attended the meeting")),
            Length(
                max=ATTENDEES_LIMIT,
                message=_l("Who attended must be %(max)d characters or fewer"),
            ),
        ],
    )
    notes = TextAreaField(
        _l("Notes from the meeting (optional)"),
        validators=[
            Length(max=NOTES_LIMIT, message=_l("Notes must be %(max)d characters or fewer")),
        ],
    )
    patient_feedback = TextAreaField(
        _l("The patient's feedback on the plan"),
        validators=[
            DataRequired(_l("Enter the patient's feedback on the plan, in their own words")),
            Length(max=TEXT_LIMIT, message=_l("Feedback must be %(max)d characters or fewer")),
        ],
    )
    complex_needs = BooleanField(_l("The patient has complex needs"))
    review_interval = SelectField(
        _l("When is the next review due?"),
        choices=[
            SelectChoice("", _l("The usual time: 12 months, or 6 months for complex needs")),
            *(
                SelectChoice(str(n), lazy_ngettext("In %(num)d month", "In %(num)d months", n))
                for n in (3, 6, 9, 12)
            ),
        ],
        default="",
        invalid_choice_message=_l("Choose when the next review is due"),
    )

    last_review: date | None = None  # set by the view: a meeting cannot predate the last one

    def validate_held_on(self, field):
        if field.data and self.last_review and field.data < self.last_review:
            raise ValidationError(
                gettext(
                    "The meeting cannot be before the last review, which was on %(date)s",
                    date=format_date(self.last_review),
                )
            )


# What a professional types when amending, per field: (field class, limit, required message).
_AMEND_SPEC = {
    "title": (StringField, SHORT_LIMIT, _l("Enter what the goal is")),
    "why_it_matters": (TextAreaField, TEXT_LIMIT, None),
    "steps": (TextAreaField, TEXT_LIMIT, None),
    "target_date": (DayField, None, None),
    "text": (TextAreaField, TEXT_LIMIT, None),
    "level": (SelectField, None, _l("Choose how urgent this is")),
    "signs": (TextAreaField, limits.CRISIS_SIGNS_LIMIT, _l("Enter the signs to look for")),
    "actions": (TextAreaField, limits.CRISIS_ACTIONS_LIMIT, _l("Enter what to do")),
    "who_to_call": (StringField, limits.CRISIS_WHO_LIMIT, None),
    "respect_form_location": (StringField, limits.LOCATION_LIMIT, None),
    "dnacpr_location": (StringField, limits.LOCATION_LIMIT, None),
    "lpa_location": (StringField, limits.LOCATION_LIMIT, None),
    "rescue_medication_location": (StringField, limits.LOCATION_LIMIT, None),
    "kind": (SelectField, None, _l("Choose the type of contact")),
    "name": (StringField, limits.CONTACT_NAME_LIMIT, _l("Enter the contact's name")),
    "relationship_to_patient": (StringField, limits.CONTACT_DETAIL_LIMIT, None),
    "phone": (StringField, 40, _l("Enter the contact's phone number")),
    "when_to_call": (StringField, limits.CONTACT_DETAIL_LIMIT, None),
    "medicines": (TextAreaField, limits.MEDICINES_LIMIT, None),
    "allergies": (TextAreaField, limits.MEDICINES_LIMIT, None),
}
_DEFAULT_SPEC = (TextAreaField, limits.USUAL_STATE_LIMIT, None)  # the usual-state descriptions


def _amend_field(name: str):
    from portal.versions.labels import FIELDS as FIELD_LABELS

    cls, limit, required = _AMEND_SPEC.get(name, _DEFAULT_SPEC)
    label = FIELD_LABELS[name]
    if name in ("level", "kind"):
        names = labels.CRISIS_LEVELS if name == "level" else labels.CONTACT_KINDS
        codes = CrisisLevel if name == "level" else ContactKind
        choices = [SelectChoice(code.value, names[code]) for code in codes]
        return SelectField(label, choices=choices, invalid_choice_message=required)
    if cls is DayField:
        return DayField(label, invalid_value_message=_l("The target date must be a real date"))
    message = _l("%(field)s must be %(max)d characters or fewer", field=label, max=limit)
    return cls(label, validators=[Length(max=limit, message=message)])


def _decision_choices(proposal) -> list[SelectChoice]:
    if proposal.is_withdrawal:
        choices = [
            ("agree", _l("Agree: take the goal off the plan")),
            ("decline", _l("Decline: keep the goal in the plan")),
        ]
    elif proposal.is_new:
        choices = [
            ("agree", _l("Agree: add it to the plan")),
            ("amend", _l("Amend it, then add it to the plan")),
            ("decline", _l("Decline: leave it out of the plan")),
        ]
    else:
        choices = [
            ("agree", _l("Agree the change")),
            ("amend", _l("Amend the change, then agree it")),
            ("decline", _l("Decline: keep the agreed version")),
        ]
    return [SelectChoice(value, label) for value, label in choices]


def field_name(proposal, part: str) -> str:
    return f"p_{proposal.key}_{part}"


def outcome_name(goal) -> str:
    return f"o_goal_{goal.id}_outcome"


# How an agreed goal went, recorded at the meeting; "ongoing" keeps it in the plan.
_OUTCOMES = (
    SelectChoice("ongoing", _l("Carry on: keep it in the plan")),
    SelectChoice(GoalStatus.ACHIEVED.value, _l("Achieved")),
    SelectChoice(GoalStatus.NOT_ACHIEVED.value, _l("Not achieved: close it")),
)


def record_form(proposals, goals=(), prefill_versions: bool = False, **kwargs) -> MeetingForm:
    """The meeting form with a decision (and amendable copy) for each proposal, and how each
    agreed goal went.

    Fields exist only for this plan's own pending items and agreed goals, so a forged id
    names no field.
    Amended text is prefilled with the proposal and checked only when "amend" is chosen.
    Versions are prefilled only on a fresh form: a submitted form without them is stale.
    """
    attrs = {}
    defaults = dict(kwargs.pop("data", None) or {})
    for p in proposals:
        attrs[field_name(p, "version")] = HiddenField()
        if prefill_versions:
            defaults[field_name(p, "version")] = p.item.version
        attrs[field_name(p, "decision")] = RadioField(
            _l("What was decided?"),
            choices=_decision_choices(p),
            invalid_choice_message=_l("Choose whether to agree, amend or decline this proposal"),
        )
        for name in p.amendable:
            attrs[field_name(p, name)] = _amend_field(name)
            value = getattr(p.item, name)
            defaults.setdefault(field_name(p, name), value)
    for goal in goals:
        attrs[outcome_name(goal)] = RadioField(
            _l("How did this goal go?"),
            choices=_OUTCOMES,
            invalid_choice_message=_l("Choose how this goal went"),
        )
        defaults.setdefault(outcome_name(goal), "ongoing")
    cls = type("RecordMeetingForm", (MeetingForm,), attrs)
    form = cls(data=defaults, **kwargs)
    form.proposals = proposals
    form.goals = list(goals)
    return form


def outcomes(form: MeetingForm) -> dict[int, GoalStatus]:
    """The goals closed at the meeting: id -> achieved or not achieved."""
    closed = {}
    for goal in form.goals:
        chosen = form[outcome_name(goal)].data
        if chosen in (GoalStatus.ACHIEVED, GoalStatus.NOT_ACHIEVED):
            closed[goal.id] = GoalStatus(chosen)
    return closed


def check_amendments(form: MeetingForm) -> bool:
    """Amended copy counts only where "amend" was chosen; returns whether all is well."""
    for p in form.proposals:
        amend = form[field_name(p, "decision")].data == "amend"
        for name in p.amendable:
            f = form[field_name(p, name)]
            if not amend:
                f.errors = []
                continue
            if isinstance(f.data, str):
                f.data = f.data.strip()
            required = _AMEND_SPEC.get(name, _DEFAULT_SPEC)[2]
            if required and not f.data and not f.errors:
                f.errors = [required]
    form._errors = None  # the error summary is worked out again from the fields
    return not any(f.errors for f in form)


def amendments(form: MeetingForm, proposal) -> dict:
    return {name: form[field_name(proposal, name)].data for name in proposal.amendable}


def seen_versions(form: MeetingForm) -> dict[str, int | None]:
    return {p.key: int_or_none(form[field_name(p, "version")].data) for p in form.proposals}


# --- scheduling, results, named contact ---------------------------------------------------


class ScheduleForm(FlaskForm):
    day = DayField(
        _l("Date"),
        validators=[InputRequired(_l("Enter the date of the meeting"))],
        invalid_value_message=_l("The date of the meeting must be a real date"),
    )
    at = ClockField(
        _l("Time"),
        validators=[InputRequired(_l("Enter the time of the meeting"))],
        invalid_value_message=_l("Enter the time as hours and minutes, for example 14:30"),
    )
    location = StringField(
        _l("Where"),
        validators=[
            DataRequired(_l("Enter where the meeting will be")),
            Length(max=LOCATION_LIMIT, message=_l("Where must be %(max)d characters or fewer")),
        ],
    )

    def validate_day(self, field):
        from portal.meetings.services import local_zone

        today = datetime.now(local_zone()).date()
        if field.data is None:
            return
        if field.data < today:
            raise ValidationError(_l("The meeting must be today or in the future"))
        if field.data > today + timedelta(days=2 * 366):
            raise ValidationError(_l("The meeting must be within the next 2 years"))

    def validate_at(self, field):
        from portal.meetings.services import local_zone

        now = datetime.now(local_zone())
        if field.data and self.day.data == now.date() and field.data < now.time():
            raise ValidationError(_l("The meeting must be later than now"))


class ResultForm(FlaskForm):
    name = StringField(
        _l("Test"),
        validators=[
            DataRequired(_l("Enter the name of the test")),
            Length(max=SHORT_LIMIT, message=_l("The name must be %(max)d characters or fewer")),
        ],
    )
    value = StringField(
        _l("Result"),
        validators=[
            DataRequired(_l("Enter the result")),
            Length(max=100, message=_l("The result must be %(max)d characters or fewer")),
        ],
    )
    taken_on = DayField(
        _l("Date the test was taken"),
        validators=[
            InputRequired(_l("Enter the date the test was taken")),
            _not_in_future(_l("The date the test was taken must be today or in the past")),
            _not_too_early(_l("The date the test was taken must be after 1 January 2000")),
        ],
        invalid_value_message=_l("The date the test was taken must be a real date"),
    )
    explanation = TextAreaField(
        _l("What it means, in plain language"),
        validators=[
            DataRequired(_l("Explain what the result means, in plain language")),
            Length(
                max=TEXT_LIMIT, message=_l("The explanation must be %(max)d characters or fewer")
            ),
        ],
    )


class NamedContactForm(FlaskForm):
    contact = SelectField(
        _l("Named contact"),
        coerce=int_or_none,
        invalid_choice_message=_l("Choose a professional from the list"),
    )
    plan_version = HiddenField()


class RemoveForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class NamedContactRequestForm(FlaskForm):
    """Carries the plan's version, so a request changed in another tab is shown, not lost."""

    version = HiddenField()
    reason = TextAreaField(
        _l("Why would you like a different named contact?"),
        validators=[
            DataRequired(_l("Tell us why you would like a different named contact")),
            Length(max=REASON_LIMIT, message=_l("Your reason must be %(max)d characters or fewer")),
        ],
    )
