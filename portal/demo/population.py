"""Synthetic patients for the demo, so the commissioner's report and the audits have figures.

About 130 made-up people across the two demo practices, recorded in the portal over the last 18
months, with varied conditions, ages, ethnic groups and languages, and plans at every stage:
some complete and reviewed, some waiting for a meeting, some lapsed. Everyone is on their
practice's register (the report's denominator), with a few dozen more the portal has no plan
for yet: offers made, accepted, declined or still to make, some with a plan already in place
before the portal (the baseline), and a few who have left. Generated from a fixed seed
relative to today, so each fresh demo database looks alike. Idempotent: nothing is added
once the first synthetic patient exists.
"""

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select

from portal.auth.services import hash_password
from portal.compliance import CRITERIA, UK, assess, load_evidence
from portal.conditions import CONDITIONS
from portal.extensions import db
from portal.models import (
    CarePlan,
    ConsentRecord,
    CrisisStep,
    Domain,
    Goal,
    NeedsSection,
    OfferMethod,
    OfferOutcome,
    Organisation,
    Patient,
    PlanAudit,
    PlanAuditItem,
    PlanOffer,
    RegisterEntry,
    ReviewMeeting,
    Role,
    SurveyResponse,
    User,
    UsualState,
    patient_conditions,
)
from portal.security import new_session_token

SEED = 2010
PEOPLE = 130
REGISTER_ONLY = 50  # on a register with no plan in the portal yet
DECLINED_REASONS = ["", "Prefers to manage on their own for now.", "Will think about it."]
FIRST_NHS_BASE = 999_100_000  # NHS test numbers start with 999

GIVEN = ["Ann", "Bilal", "Chen", "Deborah", "Emeka", "Fatima", "Gareth", "Harpreet", "Iwona",
         "John", "Khadija", "Liam", "Mariana", "Nasreen", "Owen", "Priya", "Rahel", "Sean",
         "Tomasz", "Yusuf", "Zainab", "Eleri", "Ana", "Mohammed"]  # fmt: skip
FAMILY = ["Ahmed", "Begum", "Clarke", "Davies", "Evans", "Fernandes", "Green", "Hussain",
          "Iqbal", "Jones", "Kowalski", "Li", "Mensah", "Nowak", "Okafor", "Patel", "Popescu",
          "Roberts", "Singh", "Thomas", "Warsame", "Wang"]  # fmt: skip
ETHNICITY = (
    ["white_british"] * 10
    + ["white_other"] * 2
    + ["asian_pakistani"] * 3
    + [
        "asian_indian",
        "asian_indian",
        "asian_bangladeshi",
        "black_african",
        "black_caribbean",
        "mixed_white_asian",
        "chinese",
        "other",
        "not_stated",
    ]
)
LANGUAGES = ["en"] * 14 + ["ur", "ur", "pa", "pl", "pl", "bn", "so", "ro", "ar", "zh", "cy"]
SEXES = ["female"] * 10 + ["male"] * 9 + ["unknown"]
FEEDBACK = [
    "I felt listened to and we agreed what matters most.",
    "Good to have my son there. I understand my medicines better now.",
    "Rushed, but we made a plan I can follow.",
]
COMMENTS = [
    "",
    "",
    "",
    "The nurse explained everything clearly.",
    "I would like the interpreter booked for next time.",
    "Waited a long time for the appointment.",
]


def nhs_number(n: int) -> str:
    base = FIRST_NHS_BASE + n * 11
    while True:
        digits = f"{base:09d}"
        check = (
            11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        ) % 11
        if check != 10:
            return digits + str(check)
        base += 1


def _at(day: date, hour: int = 11) -> datetime:
    return datetime.combine(day, time(hour), UK)


def add_population(today: date | None = None) -> bool:
    """Add the synthetic patients (and one sample audit); False if they are already there."""
    today = today or date.today()
    if db.session.scalar(select(Patient.id).where(Patient.nhs_number == nhs_number(0))):
        return False
    rng = random.Random(SEED)
    practices = {o.ods_code: o for o in db.session.scalars(select(Organisation))}
    staff = {
        u.email: u for u in db.session.scalars(select(User).where(User.role == "professional"))
    }
    contacts = {
        practices["Y00001"].id: staff["nurse@example.org"],
        practices["Y00002"].id: staff["gp@other.example.org"],
    }
    password = hash_password("demo-care-plan-2026")
    codes = [c.code for c in CONDITIONS]
    people = []
    for n in range(PEOPLE + REGISTER_ONLY):
        if n >= PEOPLE:
            people.append(_registered_only(rng, n, list(contacts)[n % 2], codes, today))
            continue
        org_id = list(contacts)[n % 2]
        contact = contacts[org_id]
        registered = today - timedelta(days=rng.randrange(20, 540))
        assessed = registered + timedelta(days=rng.randrange(0, 10))
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        user = None
        if rng.random() < 0.6:
            user = User(
                email=f"demo.patient.{n:03d}@example.org",
                password_hash=password,
                role=Role.PATIENT,
                display_name=f"{given} {family}",
                session_token=new_session_token(),
                created_at=_at(registered),
            )
            db.session.add(user)
        consent = rng.random() < 0.94
        patient = Patient(
            user=user,
            organisation_id=org_id,
            nhs_number=nhs_number(n),
            given_name=given,
            family_name=family,
            date_of_birth=today - timedelta(days=rng.randrange(20 * 365, 95 * 365)),
            sex=rng.choice(SEXES),
            ethnicity_category=rng.choice(ETHNICITY),
            preferred_language=rng.choice(LANGUAGES),
            initial_assessment_date=assessed,
            care_team_consent=consent if rng.random() < 0.98 else None,
            created_at=_at(registered, 9),
        )
        db.session.add(patient)
        db.session.flush()
        _conditions(rng, patient, codes)
        if patient.care_team_consent is not None:
            db.session.add(
                ConsentRecord(
                    patient_id=patient.id,
                    share_with_care_team=patient.care_team_consent,
                    recorded_by_id=contact.id,
                    created_at=_at(assessed),
                )
            )
        _plan(rng, patient, contact, assessed, today)
        people.append(patient)
    db.session.flush()
    _registers(rng, people, contacts, today)
    _sample_audit(rng, practices["Y00001"], staff["nurse@example.org"], today)
    return True


def _conditions(rng: random.Random, patient: Patient, codes: list[str]) -> None:
    db.session.execute(
        insert(patient_conditions),
        [
            {"patient_id": patient.id, "condition_code": code}
            for code in rng.sample(codes, rng.choice([1, 1, 2, 2, 3]))
        ],
    )


def _registered_only(rng: random.Random, n: int, org_id: int, codes, today: date) -> Patient:
    """Someone on the register the portal has no plan for yet (brought in by the import)."""
    patient = Patient(
        organisation_id=org_id,
        nhs_number=nhs_number(n),
        given_name=rng.choice(GIVEN),
        family_name=rng.choice(FAMILY),
        date_of_birth=today - timedelta(days=rng.randrange(20 * 365, 95 * 365)),
        sex=rng.choice(SEXES),
        ethnicity_category=rng.choice(ETHNICITY),
        preferred_language=rng.choice(LANGUAGES),
        created_at=_at(today - timedelta(days=14), 9),
    )
    db.session.add(patient)
    db.session.flush()
    _conditions(rng, patient, codes)
    return patient


def _registers(rng: random.Random, people: list[Patient], contacts: dict, today: date) -> None:
    """Everyone on their practice's register since before the portal, with the offer of a
    plan as it stands: accepted by those with a plan; declined, unanswered or still to make
    for the others; some with a plan already in place (baseline), and a few who left."""
    planned = set(
        db.session.scalars(
            select(CarePlan.patient_id).where(CarePlan.patient_id.in_([p.id for p in people]))
        )
    )
    entries, offers = [], []
    methods = list(OfferMethod)
    for patient in people:
        recorded = patient.created_at.date()
        entry = {
            "patient_id": patient.id,
            "registered_on": recorded - timedelta(days=rng.randrange(30, 3000)),
            "existing_plan_reviewed_on": None,
            "left_on": None,
        }
        if rng.random() < 0.15:  # a plan meeting the requirements before the portal
            entry["existing_plan_reviewed_on"] = today - timedelta(days=rng.randrange(30, 330))
        entries.append(entry)
        offer = {
            "patient_id": patient.id,
            "organisation_id": patient.organisation_id,
            "method": rng.choice(methods),
            "offered_by_id": contacts[patient.organisation_id].id,
            "outcome": None,
            "outcome_on": None,
            "declined_reason": None,
        }
        if patient.id in planned:
            offered = (patient.initial_assessment_date or recorded) - timedelta(days=14)
            offers.append(
                offer
                | {"offered_on": offered, "outcome": OfferOutcome.ACCEPTED, "outcome_on": offered}
            )
            continue
        roll = rng.random()
        if roll < 0.08:
            entry["left_on"] = today - timedelta(days=rng.randrange(5, 60))
        if roll < 0.35:
            continue  # not offered yet
        offered = today - timedelta(days=rng.randrange(7, 60))
        if roll < 0.75:
            outcome = {"outcome": OfferOutcome.DECLINED, "outcome_on": offered}
            outcome["declined_reason"] = rng.choice(DECLINED_REASONS) or None
        elif roll < 0.85:
            outcome = {"outcome": OfferOutcome.NO_RESPONSE, "outcome_on": today}
        else:
            outcome = {}
        offers.append(offer | {"offered_on": offered} | outcome)
    db.session.execute(insert(RegisterEntry), entries)
    db.session.execute(insert(PlanOffer), offers)


def _plan(rng: random.Random, patient: Patient, contact: User, assessed: date, today: date):
    started = assessed + timedelta(days=rng.choice([4, 10, 18, 25, 27, 35, 50, 80]))
    if started > today or rng.random() < 0.05:
        return  # no plan yet
    plan = CarePlan(
        patient_id=patient.id,
        named_contact_id=contact.id if rng.random() < 0.96 else None,
        created_at=_at(started, 10),
        preferred_format="electronic" if patient.user else "paper",
    )
    db.session.add(plan)
    db.session.flush()
    mine = {"pending_review": True, "updated_by_id": patient.user.id if patient.user else None}
    domains = list(Domain) if rng.random() < 0.92 else rng.sample(list(Domain), 5)
    for domain in domains:
        db.session.add(
            NeedsSection(plan_id=plan.id, domain=domain, text="Written with my nurse.", **mine)
        )
    meeting_on = started + timedelta(days=rng.randrange(0, 20))
    reviews = []
    while meeting_on <= today and rng.random() < 0.95:
        reviews.append(meeting_on)
        meeting_on += timedelta(days=rng.randrange(330, 380))
    agreed = {"pending_review": False, "updated_by_id": contact.id}
    for held_on in reviews:
        meeting = ReviewMeeting(
            plan_id=plan.id,
            status="held",
            held_on=held_on,
            attendees="Patient and named contact",
            patient_feedback=rng.choice(FEEDBACK) if rng.random() < 0.95 else "",
            recorded_by_id=contact.id,
            created_at=_at(held_on, 15),
        )
        db.session.add(meeting)
        db.session.flush()
        if rng.random() < 0.6:
            db.session.add(
                SurveyResponse(
                    meeting_id=meeting.id,
                    patient_id=patient.id,
                    organisation_id=patient.organisation_id,
                    involved=rng.choice([3, 4, 4, 5, 5, 5]),
                    agreed_plan=rng.choice([2, 4, 4, 5, 5]),
                    confidence=rng.choice([2, 3, 3, 4, 4, 5]),
                    comment=rng.choice(COMMENTS),
                    created_at=_at(held_on + timedelta(days=1), 18),
                )
            )
    if reviews:
        plan.last_review_date = reviews[-1]
        plan.next_review_date = reviews[-1] + timedelta(days=365)
        plan.contingency_reviewed_on = reviews[-1] if rng.random() < 0.95 else None
        if not patient.user and rng.random() < 0.9:
            plan.paper_copy_given_on = reviews[0]
        for _ in range(rng.choice([1, 1, 2, 3])):
            status = rng.choice(["agreed"] * 6 + ["achieved", "not_achieved", "withdrawn"])
            db.session.add(
                Goal(
                    plan_id=plan.id,
                    title="Walk a little further each week",
                    why_it_matters="To keep doing my own shopping.",
                    status=status,
                    agreed_by_id=contact.id,
                    agreed_at=_at(reviews[0], 15),
                    created_at=_at(reviews[0], 14),
                    **agreed,
                )
            )
    if rng.random() < 0.3:
        db.session.add(
            Goal(plan_id=plan.id, title="Join a walking group", status="proposed", **mine)
        )
    if rng.random() < 0.95:
        db.session.add(
            CrisisStep(
                plan_id=plan.id,
                level="red",
                signs="Very breathless at rest, or chest pain.",
                actions="Ring 999 and say I have a long-term condition.",
                who_to_call="999",
                **agreed,
            )
        )
        db.session.add(
            UsualState(
                plan_id=plan.id,
                mobility="Walks indoors without help.",
                medicines="See list",
                **agreed,
            )
        )


def _sample_audit(rng: random.Random, practice: Organisation, auditor: User, today: date):
    """One finished sample audit of ten plans at the demo practice."""
    day = today - timedelta(days=40)
    plan_ids = list(
        db.session.scalars(
            select(CarePlan.id)
            .join(Patient, Patient.id == CarePlan.patient_id)
            .where(
                Patient.organisation_id == practice.id,
                Patient.care_team_consent.is_(True),
                Patient.nhs_number.like("999%"),
            )
            .order_by(CarePlan.id)
        )
    )
    sample = PlanAudit(organisation_id=practice.id, auditor_id=auditor.id, created_at=_at(day))
    db.session.add(sample)
    db.session.flush()
    for plan_id, (plan, meetings, consents) in load_evidence(rng.sample(plan_ids, 10)).items():
        computed = assess(plan, meetings, consents, day)
        found = dict(computed)
        if rng.random() < 0.2:  # the auditor disagrees with the records now and then
            found["whole_person"] = not found["whole_person"]
        db.session.add(
            PlanAuditItem(
                audit_id=sample.id,
                plan_id=plan_id,
                meets_requirements=all(found.values()),
                criteria={k: {"computed": computed[k], "found": found[k]} for k in CRITERIA},
                notes="",
            )
        )
