"""Forms for the professional's side of the review, and the named contact request."""

from datetime import date, datetime, timedelta

from flask_babel import gettext, lazy_ngettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    InputRequired,
    Optional,
    ValidationError,
)

from portal import labels
from portal.fields import CheckboxesField, DateInputField, PortalForm, phone_field, whole_number
from portal.i18n import format_date
from portal.models import GoalStatus, MeetingMode
from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT
from portal.section_forms import text_field
from portal.sections import CHOICES, FIELD_LABELS, FIELD_RULES, Widget

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


def _past_date_field(label, required, in_future, too_early) -> DateInputField:
    """A date that has happened since 2000 (a meeting held, a test taken), with the messages
    for it left out, in the future or too early."""
    return DateInputField(
        label,
        validators=[_not_in_future(in_future), _not_too_early(too_early)],
        required_message=required,
    )


NEXT_REVIEW_MAX_DAYS = 731  # two years


class DecisionField(RadioField):
    """Agree / amend / decline for one proposal (``meetings/_macros.html`` ``decision``): its
    first option carries the field's own id, so the error summary links there."""

    def error_anchor(self) -> str:
        return self.id


def proposal_name(proposal) -> str:
    """What the professional calls a proposal: the area, the goal or the contact."""
    from portal.versions.labels import SECTIONS

    after = proposal.after or {}
    names = {
        "needs": lambda: labels.DOMAINS.get(proposal.item_key, proposal.item_key),
        "wishes": lambda: labels.WISHES.get(proposal.item_key, proposal.item_key),
        "goals": lambda: after.get("title") or "",
        "crisis_steps": lambda: labels.CRISIS_LEVELS.get(after.get("level"), after.get("level")),
        "contacts": lambda: after.get("name") or "",
    }
    return str(names.get(proposal.kind, lambda: SECTIONS[proposal.kind])())


int_or_none = whole_number


# --- recording the meeting ---------------------------------------------------------------


class MeetingForm(PortalForm):
    """The meeting itself; ``record_form`` adds one decision per proposal."""

    agreed_version = HiddenField()
    held_on = _past_date_field(
        _l("Date the meeting was held"),
        _l("Enter the date the meeting was held"),
        _l("The date the meeting was held must be today or in the past"),
        _l("The date the meeting was held must be after 1 January 2000"),
    )
    attendees = text_field(
        Widget.TEXT,
        _l("Who attended"),
        ATTENDEES_LIMIT,
        _l("Who attended must be %(max)d characters or fewer"),
        _l("Enter who attended the meeting"),
    )
    notes = text_field(
        Widget.TEXT,
        _l("Notes from the meeting (optional)"),
        NOTES_LIMIT,
        _l("Notes must be %(max)d characters or fewer"),
    )
    patient_feedback = text_field(
        Widget.TEXT,
        _l("The patient's feedback on the plan"),
        TEXT_LIMIT,
        _l("Feedback must be %(max)d characters or fewer"),
        _l("Enter the patient's feedback on the plan, in their own words"),
    )
    crisis_reviewed = BooleanField(
        _l("We went through the crisis plan together and it is up to date")
    )
    held_by = RadioField(
        _l("How was the meeting held? (optional)"),
        choices=[
            SelectChoice(MeetingMode.FACE_TO_FACE.value, _l("Face to face")),
            SelectChoice(MeetingMode.PHONE.value, _l("By phone")),
            SelectChoice(MeetingMode.VIDEO.value, _l("By video call")),
        ],
        validators=[
            Optional(),
            AnyOf([m.value for m in MeetingMode], _l("Choose how the meeting was held")),
        ],
        validate_choice=False,
    )
    interpreter_used = BooleanField(_l("An interpreter was used"))
    # The patient's conversations with the care team; choices set by ``offer_conversations``.
    conversations = CheckboxesField(
        _l("Conversations talked about at the meeting (optional)"),
        coerce=whole_number,
        choices=[],
        invalid_choice_message=_l("Choose conversations from the list"),
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

    next_review_on = DateInputField(_l("Or the date of the next review (optional)"))

    last_review: date | None = None  # set by the view: a meeting cannot predate the last one

    def validate_next_review_on(self, field):
        """A date instead of an interval: after the meeting and within two years of it."""
        if field.data is None:
            return
        if self.review_interval.data:
            raise ValidationError(
                _l("Choose when the next review is due, or give its date, not both")
            )
        held = self.held_on.data
        if held and field.data <= held:
            raise ValidationError(_l("The next review must be after the meeting"))
        if held and field.data > held + timedelta(days=NEXT_REVIEW_MAX_DAYS):
            raise ValidationError(_l("The next review must be within 2 years of the meeting"))

    def validate_held_on(self, field):
        if field.data and self.last_review and field.data < self.last_review:
            raise ValidationError(
                gettext(
                    "The meeting cannot be before the last review, which was on %(date)s",
                    date=format_date(self.last_review),
                )
            )


def _amend_field(name: str):
    """The field a professional amends ``name`` in, as ``portal.sections`` describes it."""
    rule, label = FIELD_RULES[name], FIELD_LABELS[name]
    if rule.widget is Widget.CHOICE:
        codes, names = CHOICES[name]
        choices = [SelectChoice(code.value, names[code]) for code in codes]
        return SelectField(label, choices=choices, invalid_choice_message=rule.required)
    if rule.widget is Widget.DATE:
        return DateInputField(label)
    if rule.widget is Widget.PHONE:
        return phone_field(label)  # "required" is checked only when amending
    message = _l("%(field)s must be %(max)d characters or fewer", field=label, max=rule.limit)
    return text_field(rule.widget, label, rule.limit, message)


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


class CrisisChangesForm(PortalForm):
    """Crisis changes decided between meetings; ``record_form`` adds one decision per change."""

    agreed_version = HiddenField()
    crisis_reviewed = BooleanField(
        _l("I have also gone through the whole crisis plan and it is up to date")
    )


def record_form(
    proposals, goals=(), prefill_versions: bool = False, base: type = MeetingForm, **kwargs
) -> PortalForm:
    """The meeting form (or ``base``) with a decision (and amendable copy) for each proposal,
    and how each agreed goal went.

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
        attrs[field_name(p, "decision")] = DecisionField(
            _l("What was decided?"),
            choices=_decision_choices(p),
            invalid_choice_message=_l(
                "Choose whether to agree, amend or decline the proposal: %(name)s",
                name=proposal_name(p),
            ),
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
    cls = type(f"Record{base.__name__}", (base,), attrs)
    form = cls(data=defaults, **kwargs)
    form.proposals = proposals
    form.goals = list(goals)
    return form


def offer_conversations(form: MeetingForm, conversations) -> None:
    """The patient's conversations to choose from: subject, open or closed, last message."""
    form.conversations.choices = [
        SelectChoice(
            c.id,
            gettext(
                "%(subject)s (%(state)s, last message %(date)s)",
                subject=c.subject,
                state=gettext("open") if c.is_open else gettext("closed"),
                date=format_date(c.last_message_at, "medium"),
            ),
        )
        for c in conversations
    ]


def outcomes(form: MeetingForm) -> dict[int, GoalStatus]:
    """The goals closed at the meeting: id -> achieved or not achieved."""
    closed = {}
    for goal in form.goals:
        chosen = form[outcome_name(goal)].data
        if chosen in (GoalStatus.ACHIEVED, GoalStatus.NOT_ACHIEVED):
            closed[goal.id] = GoalStatus(chosen)
    return closed


def check_amendments(form: PortalForm) -> bool:
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
            required = FIELD_RULES[name].required
            if required and not f.data and not f.errors:
                f.errors = [required]
    form._errors = None  # the error summary is worked out again from the fields
    return not any(f.errors for f in form)


def amendments(form: PortalForm, proposal) -> dict:
    return {name: form[field_name(proposal, name)].data for name in proposal.amendable}


def seen_versions(form: PortalForm) -> dict[str, int | None]:
    return {p.key: int_or_none(form[field_name(p, "version")].data) for p in form.proposals}


# --- scheduling, results, named contact ---------------------------------------------------


class ScheduleForm(PortalForm):
    day = DateInputField(_l("Date"), required_message=_l("Enter the date of the meeting"))
    at = ClockField(
        _l("Time"),
        validators=[InputRequired(_l("Enter the time of the meeting"))],
        invalid_value_message=_l("Enter the time as hours and minutes, for example 14:30"),
    )
    location = text_field(
        Widget.LINE,
        _l("Where"),
        LOCATION_LIMIT,
        _l("Where must be %(max)d characters or fewer"),
        _l("Enter where the meeting will be"),
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


class ResultForm(PortalForm):
    name = text_field(
        Widget.LINE,
        _l("Test"),
        SHORT_LIMIT,
        _l("The name must be %(max)d characters or fewer"),
        _l("Enter the name of the test"),
    )
    value = text_field(
        Widget.LINE,
        _l("Result"),
        100,
        _l("The result must be %(max)d characters or fewer"),
        _l("Enter the result"),
    )
    taken_on = _past_date_field(
        _l("Date the test was taken"),
        _l("Enter the date the test was taken"),
        _l("The date the test was taken must be today or in the past"),
        _l("The date the test was taken must be after 1 January 2000"),
    )
    explanation = text_field(
        Widget.TEXT,
        _l("What it means, in plain language"),
        TEXT_LIMIT,
        _l("The explanation must be %(max)d characters or fewer"),
        _l("Explain what the result means, in plain language"),
    )


class NamedContactForm(PortalForm):
    contact = SelectField(
        _l("Named contact"),
        coerce=int_or_none,
        invalid_choice_message=_l("Choose a professional from the list"),
    )
    plan_version = HiddenField()


class RemoveForm(PortalForm):
    """A button that changes something: only its CSRF token."""


class NamedContactRequestForm(PortalForm):
    """Carries the plan's version, so a request changed in another tab is shown, not lost."""

    version = HiddenField()
    reason = text_field(
        Widget.TEXT,
        _l("Why would you like a different named contact?"),
        REASON_LIMIT,
        _l("Your reason must be %(max)d characters or fewer"),
        _l("Tell us why you would like a different named contact"),
    )
