"""Demo data: one practice, its staff, patients with realistic plans, and a carer.

Idempotent: a second run finds the demo practice and changes nothing.
"""

import hashlib
import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.auth.services import hash_password
from portal.demo.population import add_population
from portal.extensions import db
from portal.models import (
    AboutKind,
    AccessGrant,
    AuditEvent,
    CarePlan,
    CareTeamMember,
    CareTeamMembership,
    Condition,
    ConsentRecord,
    Contact,
    Conversation,
    CrisisStep,
    Goal,
    MembershipStatus,
    Message,
    NeedsSection,
    Organisation,
    OrganisationKind,
    Patient,
    Preparation,
    RegisterEntry,
    ReviewMeeting,
    Role,
    Scope,
    SharedResult,
    User,
    UsualState,
    Wish,
    WrittenAs,
)
from portal.models.base import utcnow
from portal.security import new_session_token
from portal.versions.services import create_version

DEMO_PASSWORD = "demo-care-plan-2026"  # noqa: S105 - printed in the README for demo sign-in
DEMO_ODS = "Y00001"
# Staff must use two-step verification. The demo staff share this published authenticator key
# (README, `flask demo-data`), and `flask demo-code` prints the current code. Demo only.
DEMO_TOTP_SECRET = "DEMOCAREPLANSTAFFTOTPKEY234567AB"  # noqa: S105 - published for the demo

ACCOUNTS = {
    "patient": "patient@example.org",
    "patient_urdu": "arif@example.org",
    "carer": "carer@example.org",
    "professional": "nurse@example.org",
    "other_professional": "gp@other.example.org",
    "commissioner": "commissioner@example.org",
    "admin": "admin@example.org",
    "matron": "matron@example.org",  # a community trust, in Margaret's care team
    "paramedic": "paramedic@example.org",  # an ambulance service (urgent care)
    "practice_admin": "practice.admin@example.org",
}
COMMUNITY_ODS = "RX9"
AMBULANCE_ODS = "RX8"


def make_user(email: str, role: Role, name: str, **extra) -> User:
    user = User(
        email=email,
        password_hash=hash_password(DEMO_PASSWORD),
        role=role,
        display_name=name,
        session_token=new_session_token(),
        **extra,
    )
    if user.is_staff:
        _demo_mfa(user)
    db.session.add(user)
    return user


def _practice_admin(practice: Organisation) -> User:
    """The practice's register, offers and activation letters: the register screens."""
    return make_user(
        ACCOUNTS["practice_admin"], Role.PRACTICE_ADMIN, "Joan Bell", organisation=practice
    )


def _demo_mfa(user: User) -> None:
    user.mfa_secret = DEMO_TOTP_SECRET
    user.mfa_enabled = True


def _demo_staff_mfa() -> None:
    """Demo staff created before two-step verification existed get the published key."""
    for user in demo_accounts():
        if user.is_staff and not user.mfa_enabled:
            _demo_mfa(user)


def demo_accounts() -> list[User]:
    """Every demo account (``ACCOUNTS``), in its order, as stored."""
    found = {
        user.email: user
        for user in db.session.scalars(select(User).where(User.email.in_(ACCOUNTS.values())))
    }
    return [found[email] for email in ACCOUNTS.values() if email in found]


def load_demo_data() -> bool:
    """Create the demo practice and people; False if they are already there."""
    practice = db.session.scalar(select(Organisation).where(Organisation.ods_code == DEMO_ODS))
    if practice is not None:
        _care_across_organisations()
        if not db.session.scalar(select(User.id).where(User.email == ACCOUNTS["practice_admin"])):
            _practice_admin(practice)  # a demo database made before there was one
        _demo_staff_mfa()
        db.session.commit()
        return False
    today = date.today()
    practice = Organisation(
        ods_code=DEMO_ODS, name="Riverside Medical Practice", phone="0113 496 0000"
    )
    other = Organisation(ods_code="Y00002", name="Hillview Surgery", phone="0113 496 0999")
    db.session.add_all([practice, other])
    nurse = make_user(
        ACCOUNTS["professional"],
        Role.PROFESSIONAL,
        "Priya Shah",
        organisation=practice,
        job_title="Practice nurse",
        phone="0113 496 0001",
        availability="Monday to Friday, 9am to 5pm",
        can_audit=True,
    )
    make_user(
        ACCOUNTS["other_professional"],
        Role.PROFESSIONAL,
        "Dr Tom Reid",
        organisation=other,
        job_title="GP",
    )
    make_user(ACCOUNTS["commissioner"], Role.COMMISSIONER, "Helen Carter")
    make_user(ACCOUNTS["admin"], Role.ADMIN, "Sam Okafor", organisation=practice)
    _practice_admin(practice)
    margaret_user = make_user(
        ACCOUNTS["patient"], Role.PATIENT, "Margaret Hughes", preferred_locale="en"
    )
    arif_user = make_user(
        ACCOUNTS["patient_urdu"], Role.PATIENT, "Arif Khan", preferred_locale="ur"
    )
    carer = make_user(ACCOUNTS["carer"], Role.CARER, "David Hughes")

    conditions = {c.code: c for c in db.session.scalars(select(Condition))}
    margaret = Patient(
        user=margaret_user,
        organisation=practice,
        nhs_number="9434765919",
        given_name="Margaret",
        family_name="Hughes",
        date_of_birth=date(1946, 3, 14),
        sex="female",
        ethnicity_category="white_british",
        preferred_language="en",
        initial_assessment_date=today - timedelta(days=400),
        care_team_consent=True,
        conditions=[conditions["13645005"], conditions["84114007"]],
    )
    arif = Patient(
        user=arif_user,
        organisation=practice,
        nhs_number="9434765870",
        given_name="Arif",
        family_name="Khan",
        date_of_birth=date(1958, 11, 2),
        sex="male",
        ethnicity_category="asian_pakistani",
        preferred_language="ur",
        interpreter_needed=True,
        interpreter_language="Urdu",
        communication_needs="Large print letters",
        print_size="large",
        initial_assessment_date=today - timedelta(days=20),
        care_team_consent=True,
        conditions=[conditions["73211009"], conditions["38341003"]],
    )
    db.session.add_all([margaret, arif])
    db.session.flush()
    for patient, on in ((margaret, date(2009, 5, 1)), (arif, today - timedelta(days=30))):
        db.session.add(RegisterEntry(patient_id=patient.id, registered_on=on))
    for patient in (margaret, arif):
        db.session.add(
            ConsentRecord(patient_id=patient.id, share_with_care_team=True, recorded_by_id=nurse.id)
        )
    _margaret_plan(margaret, nurse, today)
    _margaret_preparation(margaret)
    _arif_plan(arif, nurse, today)
    _margaret_sharing(margaret, nurse, carer)
    _margaret_conversation(margaret, nurse)
    db.session.flush()
    _margaret_review(margaret, nurse, today)
    db.session.add(
        AccessGrant(
            patient_id=margaret.id,
            grantee=carer,
            invited_email=carer.email,
            relationship_to_patient="Son",
            scope="contribute",
            accepted_at=utcnow(),
            created_by_id=margaret_user.id,
        )
    )
    add_population(today)  # synthetic patients for the commissioner's report and audits
    _care_across_organisations()
    db.session.commit()
    return True


def _care_across_organisations() -> None:
    """A community trust whose matron the practice proposed for Margaret's care team (waiting
    for Margaret to agree on "who can see my plan"), and an
    ambulance service whose paramedic can open a crisis plan in an emergency. Added to a demo
    database made before organisations of other kinds existed, too."""
    if db.session.scalar(select(Organisation).where(Organisation.ods_code == COMMUNITY_ODS)):
        return
    community = Organisation(
        ods_code=COMMUNITY_ODS,
        name="Riverside Community Health NHS Trust",
        kind=OrganisationKind.COMMUNITY_HEALTH,
        phone="0113 496 0200",
    )
    ambulance = Organisation(
        ods_code=AMBULANCE_ODS,
        name="Northern Ambulance Service NHS Trust",
        kind=OrganisationKind.URGENT_CARE,
        phone="0113 496 0300",
    )
    db.session.add_all([community, ambulance])
    matron = make_user(
        ACCOUNTS["matron"],
        Role.PROFESSIONAL,
        "Joan Bell",
        organisation=community,
        job_title="Community matron",
        phone="0113 496 0201",
    )
    make_user(
        ACCOUNTS["paramedic"],
        Role.PROFESSIONAL,
        "Alex Price",
        organisation=ambulance,
        job_title="Paramedic",
    )
    db.session.flush()
    margaret = db.session.scalar(select(Patient).where(Patient.nhs_number == "9434765919"))
    if margaret is None:
        return
    nurse = db.session.scalar(select(User).where(User.email == ACCOUNTS["professional"]))
    db.session.add(
        CareTeamMembership(
            patient_id=margaret.id,
            organisation_id=community.id,
            professional_id=matron.id,
            scope=Scope.VIEW,
            status=MembershipStatus.PROPOSED,
            proposed_by_id=nurse.id if nurse else None,
        )
    )


def _margaret_plan(patient: Patient, nurse: User, today: date) -> None:
    plan = CarePlan(
        patient=patient,
        named_contact=nurse,
        last_review_date=today - timedelta(days=320),
        next_review_date=today + timedelta(days=45),
        contingency_reviewed_on=today - timedelta(days=320),
        contingency_reviewed_by=nurse,
        patient_feedback="I felt listened to. I want to keep doing my own shopping.",
        agreed_version=1,
    )
    db.session.add(plan)
    agreed = {"pending_review": False, "updated_by_id": nurse.id, "language": "en"}
    needs = {
        "health": "COPD and heart failure. I get breathless on the stairs and my ankles swell.",
        "personal": "I was a school cook for 30 years. I love my garden and my cat, Biscuit.",
        "family": "My son David lives nearby and visits most days.",
        "social": "I go to the church lunch club on Thursdays when I am well enough.",
        "home": "I live alone in a house with stairs. I have a rail by the front door.",
        "economic": "I get Attendance Allowance. Heating costs worry me in winter.",
        "educational": "I did the breathing course at the hospital and found it useful.",
        "mental_health": "I feel low in winter when I cannot get out.",
        "cultural": "I am Church of England and would like the vicar called if I am very ill.",
    }
    for domain, text in needs.items():
        db.session.add(NeedsSection(plan=plan, domain=domain, text=text, **agreed))
    # (title, why it matters, steps, target date, who proposed it)
    goals = [
        (
            "Walk to the corner shop and back twice a week",
            "So I can keep doing my own shopping.",
            "Pulmonary rehab exercises every day; David walks with me at first.",
            today + timedelta(days=120),
            patient.user_id,
        ),
        (
            "Weigh myself every morning",
            "To catch fluid building up early.",
            "Write it in the diary; ring the practice if up 2 kg in 3 days.",
            None,
            nurse.id,
        ),
    ]
    for title, why, steps, target, proposer in goals:
        db.session.add(
            Goal(
                plan=plan,
                title=title,
                why_it_matters=why,
                steps=steps,
                target_date=target,
                status="agreed",
                proposed_by_id=proposer,
                agreed_by_id=nurse.id,
                agreed_at=utcnow(),
                **agreed,
            )
        )
    db.session.add(
        Goal(
            plan=plan,
            title="Get back to the Thursday lunch club",
            why_it_matters="I miss my friends.",
            steps="Ask about community transport.",
            status="proposed",
            proposed_by_id=patient.user_id,
            pending_review=True,
            updated_by_id=patient.user_id,
            language="en",
        )
    )
    wishes = {
        "place_of_care": "At home for as long as possible.",
        "how_cared_for": "Please speak to me, not just to David. I need time to answer.",
        "religious_cultural": "Please call the vicar at St Mary's if I am very ill.",
        "things_to_avoid": "I do not want to go into a care home.",
    }
    for kind, text in wishes.items():
        db.session.add(Wish(plan=plan, kind=kind, text=text, **agreed))
    steps = [
        (
            "red",
            "Breathless at rest, lips or fingertips turning blue, chest pain, or confused.",
            "Ring 999. Say I have COPD and heart failure. Sit me upright.",
            "999",
        ),
        (
            "amber",
            "More breathless than usual for two days, or coloured phlegm.",
            "Start the rescue pack. Ring the practice the same day.",
            "",
        ),
        (
            "amber",
            "Weight up 2 kg in three days, or ankles more swollen.",
            "Ring the heart failure nurse today.",
            "",
        ),
        (
            "green",
            "A bit more tired than usual but breathing as normal.",
            "Rest, use the blue inhaler as prescribed, and tell David.",
            "",
        ),
    ]
    plan.crisis_steps = [
        CrisisStep(
            level=level,
            signs=signs,
            actions=actions,
            who_to_call=who,
            position=position,
            **agreed,
        )
        for position, (level, signs, actions, who) in enumerate(steps)
    ]
    plan.usual_state = UsualState(
        mobility="Walks indoors with a stick; 20 metres outside before resting.",
        breathing="Breathless on stairs; oxygen saturation usually 91 to 93%.",
        memory_understanding="Memory good; understands and makes her own decisions.",
        usual_readings="Weight about 68 kg. Oxygen saturation 91 to 93% at rest.",
        communication="Hard of hearing on the left: speak on her right side.",
        medicines="Inhalers (Trimbow, salbutamol), bisoprolol, furosemide 40 mg, ramipril.",
        allergies="Penicillin (rash).",
        respect_form_location="In the red folder on the fridge",
        dnacpr_location="No DNACPR decision",
        lpa_location="David holds health and welfare LPA; copy in the red folder",
        rescue_medication_location="Kitchen drawer by the sink",
        **agreed,
    )
    # (kind, name, relationship, phone, when to call)
    contacts = [
        ("next_of_kin", "David Hughes", "Son", "07700 900123", "Any time"),
        ("practice", "Riverside Medical Practice", "", "0113 496 0000", "Weekdays 8am to 6.30pm"),
        ("out_of_hours", "NHS 111", "", "111", "Evenings, nights and weekends"),
        ("specialist", "Heart failure nurse team", "", "0113 496 0456", "Weekdays 9am to 5pm"),
    ]
    plan.contacts = [
        Contact(
            kind=kind,
            name=name,
            relationship_to_patient=relationship,
            phone=phone,
            when_to_call=when,
            position=position,
            **agreed,
        )
        for position, (kind, name, relationship, phone, when) in enumerate(contacts)
    ]
    # Office hours: at night the steps that ring them offer NHS 111 instead.
    practice, heart_team = plan.contacts[1], plan.contacts[3]
    practice.opens_at, practice.closes_at = time(8, 0), time(18, 30)
    heart_team.opens_at, heart_team.closes_at = time(9, 0), time(17, 0)
    practice.weekdays_only = heart_team.weekdays_only = True
    plan.crisis_steps[1].call_contact = practice
    plan.crisis_steps[2].call_contact = heart_team
    plan.care_team = [
        CareTeamMember(
            name="Dr Anna Patel",
            role="GP",
            organisation="Riverside Medical Practice",
            phone="0113 496 0000",
            availability="Tuesday and Thursday",
        ),
        CareTeamMember(
            name="Joe Bennett",
            role="Community matron",
            organisation="Leeds Community Healthcare",
            phone="0113 496 0789",
            email="community.matrons@example.org",
            availability="Weekdays",
            position=1,
        ),
    ]


def _margaret_preparation(patient: Patient) -> None:
    """Margaret has started getting ready for her review: a question or two, nothing else yet."""
    plan = patient.plan
    db.session.flush()
    db.session.add(
        Preparation(
            plan_id=plan.id,
            questions="Can I have the flu jab at home this year?\n"
            "Is there help with the heating bills?",
            language="en",
            updated_by_id=patient.user_id,
        )
    )


def _margaret_review(patient: Patient, nurse: User, today: date) -> None:
    """Last year's meeting agreed version 1; this year's is booked and results are shared."""
    plan = patient.plan
    last_review = datetime.combine(plan.last_review_date, time(11, 0), tzinfo=UTC)
    version = create_version(plan, nurse, agreed_at=last_review)
    db.session.flush()
    db.session.add(
        ReviewMeeting(
            plan_id=plan.id,
            status="held",
            held_on=plan.last_review_date,
            attendees="Margaret Hughes, David Hughes (son), Priya Shah (practice nurse)",
            notes="Breathing stable. Agreed daily weights and the walking goal.",
            patient_feedback=plan.patient_feedback,
            recorded_by_id=nurse.id,
            plan_version_id=version.id,
        )
    )
    db.session.add(
        ReviewMeeting(
            plan_id=plan.id,
            status="scheduled",
            scheduled_for=datetime.combine(
                plan.next_review_date, time(10, 30), tzinfo=ZoneInfo("Europe/London")
            ),
            location="Riverside Medical Practice, nurse's room 2",
            recorded_by_id=nurse.id,
        )
    )
    results = [
        (
            "Blood pressure",
            "128/76 mmHg",
            "This is a good reading. It is below the 140/90 we aim for.",
        ),
        (
            "Kidney function (eGFR)",
            "58",
            "Slightly lower than last year (62). This is common with your heart tablets. "
            "We will check it again in six months.",
        ),
        (
            "Oxygen level at rest",
            "92%",
            "The same as your usual level. Nothing needs to change.",
        ),
    ]
    for name, value, explanation in results:
        db.session.add(
            SharedResult(
                plan_id=plan.id,
                name=name,
                value=value,
                taken_on=today - timedelta(days=14),
                explanation=explanation,
                shared_by_id=nurse.id,
            )
        )


def _arif_plan(patient: Patient, nurse: User, today: date) -> None:
    plan = CarePlan(
        patient=patient,
        named_contact=nurse,
        next_review_date=today + timedelta(days=8),
        complex_needs=False,
    )
    db.session.add(plan)
    mine = {"pending_review": True, "updated_by_id": patient.user_id}
    needs = {
        "health": ("مجھے ذیابیطس ہے۔ کبھی کبھی میری شوگر بہت کم ہو جاتی ہے۔", "ur"),
        "cultural": ("I fast during Ramadan and need advice on my insulin.", "en"),
    }
    for domain, (text, language) in needs.items():
        db.session.add(NeedsSection(plan=plan, domain=domain, text=text, language=language, **mine))
    db.session.add(
        Goal(
            plan=plan,
            title="ہفتے میں تین بار سیر کرنا",
            why_it_matters="اپنی شوگر کو قابو میں رکھنے کے لیے",
            status="proposed",
            proposed_by_id=patient.user_id,
            language="ur",
            **mine,
        )
    )
    plan.crisis_steps = [
        CrisisStep(
            level="red",
            signs="Sugar below 4 and not waking properly.",
            actions="Ring 999. Do not give food or drink by mouth.",
            who_to_call="999",
            language="en",
            **mine,
        )
    ]


def _margaret_sharing(patient: Patient, nurse: User, carer: User) -> None:
    """An invitation waiting for her daughter, and some history for "who has looked"."""
    now = utcnow()
    db.session.add(
        AccessGrant(
            patient_id=patient.id,
            invited_email="sarah.hughes@example.org",
            relationship_to_patient="Daughter",
            scope="crisis",
            # Nobody knows this link: "send the invitation again" makes a usable one.
            token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
            invitation_expires_at=now + timedelta(days=5),
            created_by_id=patient.user_id,
            created_at=now - timedelta(days=2),
        )
    )
    history = [
        (40, nurse, "plan.view"),
        (39, nurse, "goal.agree"),
        (12, carer, "crisis.view"),
        (12, carer, "pdf.crisis"),
        (6, patient.user, "goal.create"),
        (3, carer, "plan.view"),
        (2, patient.user, "sharing.invite"),
        (1, nurse, "plan.view"),
    ]
    for days_ago, actor, action in history:
        db.session.add(
            AuditEvent(
                actor=actor,
                patient_id=patient.id,
                action=action,
                occurred_at=now - timedelta(days=days_ago, hours=days_ago % 5),
            )
        )


def _margaret_conversation(patient: Patient, nurse: User) -> None:
    """A question about her walking goal, answered by her nurse, and a new one waiting."""
    now = utcnow()
    walking = db.session.scalar(
        select(Goal)
        .join(CarePlan, CarePlan.id == Goal.plan_id)
        .where(CarePlan.patient_id == patient.id, Goal.title.startswith("Walk to"))
    )
    answered = Conversation(
        patient_id=patient.id,
        started_by_id=patient.user_id,
        subject="Walking when it is cold",
        about_kind=AboutKind.GOAL,
        about_id=walking.id,
        last_message_at=now - timedelta(days=8),
        created_at=now - timedelta(days=9),
    )
    waiting = Conversation(
        patient_id=patient.id,
        started_by_id=patient.user_id,
        subject="My new inhaler",
        awaiting_reply_since=now - timedelta(days=1),
        last_message_at=now - timedelta(days=1),
        created_at=now - timedelta(days=1),
    )
    messages = [
        (
            answered,
            patient.user,
            WrittenAs.PATIENT,
            9,
            "Should I still go for my walk when it is very cold outside?",
        ),
        (
            answered,
            nurse,
            WrittenAs.PROFESSIONAL,
            8,
            "On very cold days walk indoors, for example round the shopping centre, and take "
            "your blue inhaler with you. We can talk about it more at your review.",
        ),
        (
            waiting,
            patient.user,
            WrittenAs.PATIENT,
            1,
            "The new inhaler makes my mouth sore. Is that normal?",
        ),
    ]
    db.session.add_all([answered, waiting])
    for conversation, author, side, days_ago, body in messages:
        db.session.add(
            Message(
                conversation=conversation,
                author_id=author.id,
                written_as=side,
                body=body,
                language="en",
                created_at=now - timedelta(days=days_ago),
            )
        )
