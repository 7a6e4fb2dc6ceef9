"""The crisis page, changing the contingency plan (as proposals) and the care team page."""

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import audit, labels
from portal.authorship import (
    agreed_with_patient,
    form_for,
    read_back,
    saved_in_clinic,
    section_title,
)
from portal.contingency import bp, services
from portal.contingency.forms import (
    CareTeamMemberForm,
    ContactForm,
    CrisisStepForm,
    UsualStateForm,
    VersionedForm,
)
from portal.contingency.held_apart import hold_apart
from portal.editing import EditConflict
from portal.extensions import db
from portal.limits import LIMITS, PlanFull, has_room
from portal.models import CareTeamMember, Contact, CrisisStep, UsualState
from portal.pages import patient_page
from portal.permissions import Action, with_patient
from portal.phone import tel_href

# The usual state of health in the order a paramedic reads it: (id, heading, [(field, label)]).
USUAL_GROUPS = [
    (
        "medicines",
        _l("Medicines and allergies"),
        [("medicines", _l("Medicines")), ("allergies", _l("Allergies"))],
    ),
    (
        "usual-state",
        _l("Usual state of health"),
        [
            ("mobility", _l("Mobility")),
            ("breathing", _l("Breathing")),
            ("memory_understanding", _l("Memory and understanding")),
            ("usual_readings", _l("Usual readings")),
            ("communication", _l("Communication")),
        ],
    ),
    (
        "documents",
        _l("Where important documents are kept"),
        [
            ("respect_form_location", _l("ReSPECT form")),
            ("dnacpr_location", _l("DNACPR decision")),
            ("lpa_location", _l("Lasting power of attorney")),
            ("rescue_medication_location", _l("Rescue medication")),
        ],
    ),
]


# The crisis plan and its easy read version are one record, looked at in two ways: each look
# is one "crisis.view" event (the easy read one says so in its detail).
CRISIS_SEEN = {"load": services.load_contingency, "audit_as": "crisis.view"}


@bp.route("/patients/<int:patient_id>/crisis")
@patient_page(Action.VIEW_CRISIS, **CRISIS_SEEN)
def crisis(patient_id: int, access, plan):
    held = hold_apart(plan)
    return render_template(
        "contingency/crisis.html",
        access=access,
        patient=access.patient,
        plan=plan,
        held=held,
        levels=services.steps_by_level(held.steps),
        any_steps=bool(held.steps),
        contacts=held.contacts,
        usual=held.usual,
        usual_groups=USUAL_GROUPS,
        now=services.practice_now(),
        can_view_plan=access.allows(Action.VIEW_PLAN),
        can_agree=access.allows(Action.AGREE),
        can_write=access.allows(Action.WRITE_PLAN),
    )


@bp.route("/patients/<int:patient_id>/crisis/easy-read")
@patient_page(Action.VIEW_CRISIS, **CRISIS_SEEN, audit_detail="easy read")
def crisis_easy_read(patient_id: int, access, plan):
    """The agreed crisis plan in easy read: short sentences, one thing at a time, big buttons.

    The patient's and carers' own words are shown as written (never rewritten); the
    identifying details a professional needs are as on the crisis page. Changes nobody in the
    care team has checked are not shown, only that there are some.
    """
    held = hold_apart(plan)
    return render_template(
        "contingency/crisis_easy_read.html",
        access=access,
        patient=access.patient,
        plan=plan,
        held=held,
        levels=services.steps_by_level(held.steps),
        # 999 and 111 are offered first on their own.
        contacts=[c for c in held.contacts if tel_href(c.phone) not in ("999", "111")],
    )


@bp.route("/patients/<int:patient_id>/contingency")
@patient_page(Action.WRITE_PLAN, load=services.load_contingency, audit_as="contingency.view")
def overview(patient_id: int, access, plan):
    """Everything in the contingency plan with a way to change each part."""
    return render_template(
        "contingency/overview.html",
        access=access,
        patient=access.patient,
        plan=plan,
        levels=services.steps_by_level(plan.crisis_steps),
        usual_groups=USUAL_GROUPS,
        # Whether each waiting change adds, changes or removes, for its label.
        changes={(c.section, c.item.id): c for c in hold_apart(plan).changes},
        in_clinic=with_patient(access),
        can_mark_reviewed=access.allows(Action.AGREE),
    )


@bp.route("/patients/<int:patient_id>/contingency/reviewed", methods=["POST"])
@patient_page(Action.AGREE, load=services.load_contingency)
def mark_reviewed(patient_id: int, plan):
    """A professional who went through the whole crisis plan with the patient, between
    meetings, says so. Not while a change nobody has checked is waiting: that is not a plan
    anyone went through."""
    VersionedForm()  # CSRF is checked for every post before the view runs
    if hold_apart(plan).changes:
        flash(
            _(
                "Some changes are not yet checked, so the crisis plan cannot be marked reviewed. "
                "Go through each with the patient and save it, or decide on it at the review."
            )
        )
    else:
        services.mark_crisis_reviewed(plan, current_user, services.practice_now().date())
        db.session.commit()
        flash(_("The crisis plan is marked as reviewed today, by you."))
    return redirect(url_for("contingency.overview", patient_id=patient_id))


# --------------------------------------------------------------------------- #
# Proposals: crisis steps, usual state of health, contacts
# --------------------------------------------------------------------------- #


def _readable(values: dict) -> dict:
    """Stored codes as words, for the side-by-side view of a conflict."""
    shown = dict(values)
    if "level" in shown:
        shown["level"] = labels.CRISIS_LEVELS.get(shown["level"], shown["level"])
    if "kind" in shown and shown["kind"] in labels.CONTACT_KINDS:
        shown["kind"] = labels.CONTACT_KINDS[shown["kind"]]
    return shown


def _proposal_form(access, item, form, template: str, saved: str, **context):
    """Show the form; on a valid post save it (a proposal, or agreed when a professional
    writes it with the patient), or show the conflict."""
    patient_id = access.patient.id
    conflict = full = None
    in_clinic = with_patient(access)
    model = type(item)

    def page():
        body = render_template(
            template,
            access=access,
            patient=access.patient,
            form=form,
            item=item,
            conflict=conflict,
            conflict_fields=[(f, form[f].label.text) for f in form.FIELDS],
            in_clinic=in_clinic,
            full=full,
            **context,
        )
        return body, 409 if full else 200

    if form.validate_on_submit():
        if item.id is None and model in LIMITS and not has_room(model, item.plan_id):
            # Filled up since the form was opened: the form again with what was typed,
            # before any read-back (H14), never a lost step or contact.
            full = PlanFull(model).message
            return page()
        instead = read_back(form, access, section_title(item), page)
        if instead is not None:
            return instead
        changes = form.changes()
        try:
            services.propose(
                item,
                changes,
                form.seen_version(),
                current_user,
                patient_id,
                agreed_with_patient(form, access),
            )
        except PlanFull as refused:  # filled up while the read-back page was open
            full = refused.message
        except EditConflict as e:
            conflict = {"current": _readable(e.current), "mine": _readable(changes)}
            form.version.data = e.version
        else:
            flash(saved_in_clinic(form, access) if in_clinic else saved)
            return redirect(url_for("contingency.overview", patient_id=patient_id))
    elif request.method == "GET" and item.id is not None:
        kind = services.KINDS[type(item)]
        audit.record("contingency.view", patient_id, f"{kind} {item.id}")
        db.session.commit()
    return page()



def _remove(access, item, edit_endpoint: str, **ids):
    """Remove a step or contact: deleted if never agreed, else kept as a pending removal."""
    patient_id = access.patient.id
    form = VersionedForm()  # CSRF is checked for every post before the view runs
    in_clinic = with_patient(access)
    if item.removal_proposed and not in_clinic:
        flash(_("You have already asked to remove this. It will be looked at in your review."))
        return redirect(url_for("contingency.overview", patient_id=patient_id))
    try:
        deleted = services.propose_removal(
            item, form.seen_version(), current_user, patient_id, in_clinic
        )
    except EditConflict:
        flash(
            _(
                "Someone changed this after you opened it, so it has not been removed. "
                "Check it below, then remove it again if you still want to."
            )
        )
        return redirect(url_for(edit_endpoint, patient_id=patient_id, **ids))
    if deleted:
        flash(_("Removed."))
    else:
        flash(
            _(
                "Your request to remove this has been saved. Until the care team agrees, the "
                "crisis page shows it apart as not yet checked; it will be looked at in your "
                "review."
            )
        )
    return redirect(url_for("contingency.overview", patient_id=patient_id))


@dataclass(frozen=True)
class _ItemPages:
    """What differs between the add, change and remove pages of crisis steps and of contacts.

    For the name ``step``: endpoints ``new_step``, ``edit_step`` and ``remove_step`` at
    ``.../contingency/steps/...`` with a ``step_id``, and the ``contingency/step_form.html`` page.
    """

    name: str
    model: type
    form: type[VersionedForm]
    added: str  # lazy, so it is shown in the reader's language


def _add_item_pages(pages: _ItemPages) -> None:
    """Register the three pages of one kind of item."""
    id_name = f"{pages.name}_id"
    list_rule = f"/patients/<int:patient_id>/contingency/{pages.name}s"
    item_rule = f"{list_rule}/<int:{id_name}>"
    template = f"contingency/{pages.name}_form.html"

    def item(patient_id: int, ids: dict):
        return services.item_of(pages.model, ids[id_name], services.plan_for(patient_id))

    def new(patient_id: int, access):
        plan = services.plan_for(patient_id)
        if request.method == "GET" and not has_room(pages.model, plan.id):
            flash(PlanFull(pages.model).message)
            return redirect(url_for("contingency.overview", patient_id=patient_id))
        form = form_for(pages.form, access)()
        form.prepare(plan)
        return _proposal_form(
            access, services.new_item(pages.model, plan), form, template, str(pages.added)
        )

    def edit(patient_id: int, access, **ids):
        plan = services.plan_for(patient_id)
        found = services.item_of(pages.model, ids[id_name], plan)
        # Only what was posted: a form that lost its version must count as stale.
        form_class = form_for(pages.form, access)
        form = form_class(obj=found) if request.method == "GET" else form_class()
        form.prepare(plan)
        return _proposal_form(
            access,
            found,
            form,
            template,
            _("Your changes have been saved. They will be looked at in your review."),
        )

    def remove(patient_id: int, access, **ids):
        return _remove(access, item(patient_id, ids), f"contingency.edit_{pages.name}", **ids)

    proposing = patient_page(Action.WRITE_PLAN)
    bp.add_url_rule(
        f"{list_rule}/new", f"new_{pages.name}", proposing(new), methods=["GET", "POST"]
    )
    bp.add_url_rule(item_rule, f"edit_{pages.name}", proposing(edit), methods=["GET", "POST"])
    bp.add_url_rule(
        f"{item_rule}/remove", f"remove_{pages.name}", proposing(remove), methods=["POST"]
    )


for _pages in (
    _ItemPages(
        name="step",
        model=CrisisStep,
        form=CrisisStepForm,
        added=_l("The step has been added. It will be looked at in your review."),
    ),
    _ItemPages(
        name="contact",
        model=Contact,
        form=ContactForm,
        added=_l("The contact has been added. It will be looked at in your review."),
    ),
):
    _add_item_pages(_pages)


@bp.route("/patients/<int:patient_id>/contingency/usual-state", methods=["GET", "POST"])
@patient_page(Action.WRITE_PLAN)
def usual_state(patient_id: int, access):
    plan = services.plan_for(patient_id)
    usual = plan.usual_state
    form_class = form_for(UsualStateForm, access)
    if usual is None:
        usual = UsualState(plan_id=plan.id)
        form = form_class()
    else:  # only what was posted: a form that lost its version must count as stale
        form = form_class(obj=usual) if request.method == "GET" else form_class()
    return _proposal_form(
        access,
        usual,
        form,
        "contingency/usual_state_form.html",
        _("Your changes have been saved. They will be looked at in your review."),
    )


# --------------------------------------------------------------------------- #
# Care team
# --------------------------------------------------------------------------- #


@bp.route("/patients/<int:patient_id>/care-team")
@patient_page(Action.VIEW_PLAN, load=services.load_care_team, audit_as="care_team.view")
def care_team(patient_id: int, access, plan):
    return render_template(
        "contingency/care_team.html",
        access=access,
        patient=access.patient,
        plan=plan,
        can_manage=access.allows(Action.AGREE),
    )


def _member_form(access, member: CareTeamMember, form: CareTeamMemberForm, saved: str):
    """``full``: the team filled up while the form was open; the form then shows what was
    typed again, so it can be copied (nothing is saved)."""
    patient_id = access.patient.id
    conflict = full = None
    if form.validate_on_submit():
        data = {field: form[field].data or "" for field in form.FIELDS}
        try:
            services.save_member(member, data, form.seen_version(), patient_id)
        except PlanFull as refused:
            full = refused.message
        except EditConflict as e:
            conflict = {"current": e.current, "mine": data}
            form.version.data = e.version
        if conflict is None and full is None:
            flash(saved)
            return redirect(url_for("contingency.care_team", patient_id=patient_id))
    elif request.method == "GET":  # the form shows the patient's care team
        detail = f"care_team_member {member.id}" if member.id else "new care team member"
        audit.record("care_team.view", patient_id, detail)
        db.session.commit()
    page = render_template(
        "contingency/member_form.html",
        access=access,
        patient=access.patient,
        form=form,
        member=member,
        conflict=conflict,
        conflict_fields=[(f, form[f].label.text) for f in form.FIELDS],
        full=full,
    )
    return page, 409 if conflict or full else 200


@bp.route("/patients/<int:patient_id>/care-team/new", methods=["GET", "POST"])
@patient_page(Action.AGREE)
def new_member(patient_id: int, access):
    plan = services.plan_for(patient_id)
    if request.method == "GET" and not has_room(CareTeamMember, plan.id):
        flash(PlanFull(CareTeamMember).message)
        return redirect(url_for("contingency.care_team", patient_id=patient_id))
    member = services.new_item(CareTeamMember, plan)
    return _member_form(access, member, CareTeamMemberForm(), _("Added to the care team."))


@bp.route("/patients/<int:patient_id>/care-team/<int:member_id>", methods=["GET", "POST"])
@patient_page(Action.AGREE)
def edit_member(patient_id: int, member_id: int, access):
    member = services.item_of(CareTeamMember, member_id, services.plan_for(patient_id))
    # Only what was posted: a form that lost its version must count as stale.
    form = CareTeamMemberForm(obj=member) if request.method == "GET" else CareTeamMemberForm()
    return _member_form(access, member, form, _("Changes saved."))


@bp.route("/patients/<int:patient_id>/care-team/<int:member_id>/remove", methods=["POST"])
@patient_page(Action.AGREE)
def remove_member(patient_id: int, member_id: int):
    member = services.item_of(CareTeamMember, member_id, services.plan_for(patient_id))
    try:
        services.delete_member(member, VersionedForm().seen_version(), patient_id)
    except EditConflict:
        flash(
            _(
                "Someone changed this after you opened it, so it has not been removed. "
                "Check it below, then remove it again if you still want to."
            )
        )
        return redirect(
            url_for("contingency.edit_member", patient_id=patient_id, member_id=member_id)
        )
    flash(_("Removed from the care team."))
    return redirect(url_for("contingency.care_team", patient_id=patient_id))
