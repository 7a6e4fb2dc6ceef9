"""The largest plan the limits allow: how long its PDFs take and how many pages they run to.

Run with ``python -m bench.worst_plan_bench [--save DIR]``. It fills a plan with every item
``portal/limits.py`` allows, each text field written to its full length, agrees it, then
changes every crisis item in full (so the crisis sheet prints each agreed item and its
unreviewed change), and prints the render time (wall-clock and CPU) and the pages of the whole
plan (English and Urdu) and of the crisis sheet (every language of ``SAMPLE_TEXTS``), beside
the render time limit (``PDF_RENDER_SECONDS``) and the page limit (``PDF_MAX_PAGES``). The
crisis sheet must stay on one page (``tests/test_crisis_sheet_fit.py`` checks that too).
Timings depend on the machine.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.pdf_bench import SAMPLE_TEXTS, _pages, bench_app, bench_patient

# The whole plan is measured in these; the crisis sheet in every language of SAMPLE_TEXTS.
PLAN_LANGUAGES = ("en", "ur")


def _filled(sample: str, limit: int) -> str:
    """``sample`` repeated as words up to ``limit`` characters: the longest text a form takes."""
    words, text = sample.split(), ""
    i = 0
    while True:
        word = words[i % len(words)]
        if len(text) + len(word) + 1 > limit:
            return text
        text = f"{text} {word}" if text else word
        i += 1


def build_worst_plan(db, org_id: int, nurse_id: int, text: dict, language: str, nhs: str):
    """Every goal, crisis step, contact and care team member allowed, every field full."""
    from portal import limits
    from portal.models import (
        CarePlan,
        CareTeamMember,
        Contact,
        CrisisLevel,
        CrisisStep,
        Domain,
        Goal,
        GoalStatus,
        NeedsSection,
        UsualState,
        Wish,
        WishKind,
    )
    from portal.models.plan import SHORT_LIMIT, TEXT_LIMIT
    from portal.versions.services import create_version
    user, patient = bench_patient(
        db, org_id, nhs, language, ("Margaret", "Hughes-Worthington"), conditions=4
    )
    today = date.today()
    plan = CarePlan(
        patient_id=patient.id,
        named_contact_id=nurse_id,
        next_review_date=today + timedelta(days=60),
        agreed_version=3,
    )
    db.session.add(plan)
    db.session.flush()
    mine = {"language": language, "updated_by_id": user.id}
    agreed = {**mine, "pending_review": False}
    long_text = _filled(text["text"], TEXT_LIMIT)
    for n in range(limits.MAX_GOALS):
        db.session.add(
            Goal(
                plan_id=plan.id,
                title=_filled(text["goal"].format(n=n + 1), SHORT_LIMIT),
                why_it_matters=long_text,
                steps=_filled(text["steps"], TEXT_LIMIT),
                target_date=today + timedelta(days=90 + n),
                status=GoalStatus.AGREED,
                pending_review=n % 2 == 0,
                proposed_by_id=user.id,
                **mine,
            )
        )
    levels = list(CrisisLevel)
    for n in range(limits.MAX_CRISIS_STEPS):
        db.session.add(
            CrisisStep(
                plan_id=plan.id,
                level=levels[n % len(levels)],
                signs=_filled(text["signs"].format(n=n + 1), limits.CRISIS_SIGNS_LIMIT),
                actions=_filled(text["actions"], limits.CRISIS_ACTIONS_LIMIT),
                who_to_call=_filled(text["why"], limits.CRISIS_WHO_LIMIT),
                position=n,
                **agreed,
            )
        )
    for domain in Domain:
        db.session.add(NeedsSection(plan_id=plan.id, domain=domain, text=long_text, **mine))
    for kind in WishKind:
        db.session.add(Wish(plan_id=plan.id, kind=kind, text=long_text, **mine))
    usual = _filled(text["text"], limits.USUAL_STATE_LIMIT)
    medicines = _filled(text["text"], limits.MEDICINES_LIMIT)
    location = _filled(text["why"], limits.LOCATION_LIMIT)
    db.session.add(
        UsualState(
            plan_id=plan.id,
            **{
                f: usual
                for f in (
                    "mobility",
                    "breathing",
                    "memory_understanding",
                    "usual_readings",
                    "communication",
                )
            },
            medicines=medicines,
            allergies=medicines,
            **{
                f: location
                for f in (
                    "respect_form_location",
                    "dnacpr_location",
                    "lpa_location",
                    "rescue_medication_location",
                )
            },
            **agreed,
        )
    )
    for n in range(limits.MAX_CONTACTS):
        db.session.add(
            Contact(
                plan_id=plan.id,
                kind="other",
                name=_filled(text["why"], limits.CONTACT_NAME_LIMIT),
                relationship_to_patient=_filled(text["why"], limits.CONTACT_DETAIL_LIMIT),
                phone="+44 113 496 0000 ext 1234",
                when_to_call=_filled(text["why"], limits.CONTACT_DETAIL_LIMIT),
                position=n,
                **agreed,
            )
        )
    for n in range(limits.MAX_CARE_TEAM):
        db.session.add(
            CareTeamMember(
                plan_id=plan.id,
                name=_filled(text["why"], SHORT_LIMIT),
                role=_filled(text["why"], CareTeamMember.role.type.length),  # the form's 120
                organisation=_filled(text["why"], SHORT_LIMIT),
                phone="0113 496 0789",
                availability=_filled(text["why"], SHORT_LIMIT),
                position=n,
            )
        )
    db.session.flush()
    db.session.refresh(plan)
    create_version(plan, None)
    change_every_crisis_item(plan, user.id)
    db.session.commit()
    return patient.id


def change_every_crisis_item(plan, user_id: int) -> None:
    """Every crisis step, contact and the usual state changed since the agreement, in full.

    The crisis sheet then prints each agreed item and, apart, its unreviewed change: the most
    crisis text a sheet can ever hold.
    """
    from portal.sections import DOCUMENT_LOCATIONS, USUAL_STATE_DESCRIPTIONS

    def changed(text: str) -> str:
        return text[-1] + text[1:-1] + text[0] if len(text) > 2 else text

    for item in [*plan.crisis_steps, *plan.contacts]:
        for field in ("signs", "actions", "who_to_call", "name", "when_to_call"):
            if getattr(item, field, None):
                setattr(item, field, changed(getattr(item, field)))
        item.pending_review = True
        item.updated_by_id = user_id
    usual = plan.usual_state
    for field in (*USUAL_STATE_DESCRIPTIONS, *DOCUMENT_LOCATIONS):
        if getattr(usual, field, None):
            setattr(usual, field, changed(getattr(usual, field)))
    usual.pending_review = True
    usual.updated_by_id = user_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", metavar="DIR", help="also write the PDFs to DIR, to look at")
    args = parser.parse_args(argv)

    os.environ.setdefault("PORTAL_ENV", "testing")
    from flask_babel import force_locale

    from portal import limits
    from portal.extensions import db
    from portal.pdf import services
    from portal.plans.services import load_plan

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        app, org_id, nurse_id = bench_app(tmp)
        with app.app_context():
            patients = {
                key: build_worst_plan(db, org_id, nurse_id, text, key, f"94347659{n:02d}")
                for n, (key, text) in enumerate(SAMPLE_TEXTS.items())
            }
        with app.test_request_context():
            seconds = app.config["PDF_RENDER_SECONDS"]
            max_pages = app.config["PDF_MAX_PAGES"]
            app.config["PDF_RENDER_SECONDS"] = None  # measured here, compared below
            services.render_pdf("<p>warm</p>")
            for key, patient_id in patients.items():
                with force_locale(key):
                    plan = load_plan(patient_id)
                    documents = [("crisis sheet", services.crisis_html(plan))]
                    if key in PLAN_LANGUAGES:
                        documents.insert(0, ("plan", services.plan_html(plan)))
                    for kind, html in documents:
                        start, start_cpu = time.perf_counter(), time.process_time()
                        try:
                            data = services.render_pdf(html, one_page=kind != "plan")
                        except services.RenderRefused as refused:
                            rows.append((key, kind, None, None, refused.reason))
                            continue
                        wall = time.perf_counter() - start
                        cpu = time.process_time() - start_cpu
                        rows.append((key, kind, wall, cpu, _pages(data)))
                        if args.save:
                            Path(args.save).mkdir(parents=True, exist_ok=True)
                            name = f"worst-{kind.split()[0]}-{key}.pdf"
                            Path(args.save, name).write_bytes(data)

    print(
        f"Worst plan the limits allow: {limits.MAX_GOALS} goals, {limits.MAX_CRISIS_STEPS} "
        f"crisis steps, {limits.MAX_CONTACTS} contacts, {limits.MAX_CARE_TEAM} care team "
        "members, every field full"
    )
    print(
        f"  render limit {seconds} s, page limit {max_pages}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    failed = False
    for key, kind, wall, cpu, pages in rows:
        label = f"{kind}, {key}"
        if wall is None:
            print(f"  {label:<24} REFUSED ({pages})")
            failed = True
            continue
        verdict = "ok"
        if cpu > seconds or pages > max_pages:
            verdict, failed = "OVER the render limits", True
        elif kind != "plan" and pages != 1:
            verdict, failed = "OVER one page", True
        print(f"  {label:<24} {wall:6.2f} s wall, {cpu:6.2f} s CPU, {pages:3d} pages   ({verdict})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
