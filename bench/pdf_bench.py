"""PDF benchmark: render time, cached download time and memory for a typical plan.

Run with ``python -m bench.pdf_bench [--renders 200] [--samples 15]``. It builds a typical
plan (8 goals, 6 crisis steps, every section filled) in a temporary SQLite database, then
prints:

* the median warm render time of the whole plan in English and in Urdu (targets: under
  400 ms and under 1 s);
* the median time of a cached download through the real route, with sign-in, access check,
  plan load, audit event and commit (target: under 20 ms);
* the peak resident memory of this process after ``--renders`` renders (target: under
  200 MB), from ``resource.getrusage``.

Not part of the test suite: timings depend on the machine.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

TARGETS = {"en": 400.0, "ur": 1000.0, "cached": 20.0, "rss": 200.0}

ENGLISH = {
    "goal": "Walk to the corner shop and back without stopping, goal {n}",
    "why": "So I can keep doing my own shopping and see my neighbours.",
    "steps": "Breathing exercises every morning; my son walks with me on Saturdays.",
    "signs": "More breathless than usual for two days, or coloured phlegm (step {n}).",
    "actions": "Start the rescue pack. Ring the practice the same day and say it is urgent.",
    "text": "I live alone in a house with stairs and a rail by the front door. My son visits.",
}
URDU = {
    "goal": "ہفتے میں تین بار سیر کرنا، ہدف {n}",
    "why": "اپنی شوگر کو قابو میں رکھنے اور اپنے پڑوسیوں سے ملنے کے لیے۔",
    "steps": "ہر صبح سانس کی ورزش؛ ہفتے کے دن میرا بیٹا میرے ساتھ چلتا ہے۔",
    "signs": "دو دن سے معمول سے زیادہ سانس پھولنا، یا رنگین بلغم (مرحلہ {n})۔",
    "actions": "ریسکیو پیک شروع کریں۔ اسی دن پریکٹس کو فون کریں اور بتائیں کہ یہ فوری ہے۔",
    "text": "میں اکیلا ایک ایسے گھر میں رہتا ہوں جس میں سیڑھیاں ہیں۔ میرا بیٹا ملنے آتا ہے۔",
}


# The same patient's words in the other scripts and languages whose crisis sheets run longest
# (Arabic script, Gurmukhi, Bengali, and Welsh, whose words are long).
SAMPLE_TEXTS = {
    "en": ENGLISH,
    "ur": URDU,
    "ar": {
        "goal": "المشي إلى المتجر والعودة دون توقف، الهدف {n}",
        "why": "حتى أستطيع التسوق بنفسي ورؤية جيراني.",
        "steps": "تمارين التنفس كل صباح؛ يمشي ابني معي يوم السبت.",
        "signs": "ضيق في التنفس أكثر من المعتاد ليومين، أو بلغم ملون (الخطوة {n}).",
        "actions": "ابدأ حزمة الإنقاذ. اتصل بالعيادة في نفس اليوم وقل إن الأمر عاجل.",
        "text": "أعيش وحدي في بيت فيه درج ودرابزين عند الباب الأمامي. ابني يزورني.",
    },
    "pa": {
        "goal": "ਬਿਨਾਂ ਰੁਕੇ ਦੁਕਾਨ ਤੱਕ ਤੁਰਨਾ, ਟੀਚਾ {n}",
        "why": "ਤਾਂ ਜੋ ਮੈਂ ਆਪਣੀ ਖਰੀਦਦਾਰੀ ਖੁਦ ਕਰ ਸਕਾਂ ਅਤੇ ਗੁਆਂਢੀਆਂ ਨੂੰ ਮਿਲ ਸਕਾਂ।",
        "steps": "ਹਰ ਸਵੇਰ ਸਾਹ ਦੀ ਕਸਰਤ; ਸ਼ਨੀਵਾਰ ਨੂੰ ਮੇਰਾ ਪੁੱਤਰ ਮੇਰੇ ਨਾਲ ਤੁਰਦਾ ਹੈ।",
        "signs": "ਦੋ ਦਿਨਾਂ ਤੋਂ ਆਮ ਨਾਲੋਂ ਵੱਧ ਸਾਹ ਚੜ੍ਹਨਾ, ਜਾਂ ਰੰਗਦਾਰ ਬਲਗਮ (ਕਦਮ {n})।",
        "actions": "ਬਚਾਅ ਪੈਕ ਸ਼ੁਰੂ ਕਰੋ। ਉਸੇ ਦਿਨ ਪ੍ਰੈਕਟਿਸ ਨੂੰ ਫ਼ੋਨ ਕਰੋ ਅਤੇ ਦੱਸੋ ਕਿ ਇਹ ਜ਼ਰੂਰੀ ਹੈ।",
        "text": "ਮੈਂ ਇਕੱਲਾ ਪੌੜੀਆਂ ਵਾਲੇ ਘਰ ਵਿੱਚ ਰਹਿੰਦਾ ਹਾਂ। ਮੇਰਾ ਪੁੱਤਰ ਮਿਲਣ ਆਉਂਦਾ ਹੈ।",
    },
    "bn": {
        "goal": "না থেমে দোকান পর্যন্ত হাঁটা, লক্ষ্য {n}",
        "why": "যাতে আমি নিজের কেনাকাটা করতে পারি এবং প্রতিবেশীদের সাথে দেখা করতে পারি।",
        "steps": "প্রতিদিন সকালে শ্বাসের ব্যায়াম; শনিবার আমার ছেলে আমার সাথে হাঁটে।",
        "signs": "দুই দিন ধরে স্বাভাবিকের চেয়ে বেশি শ্বাসকষ্ট, বা রঙিন কফ (ধাপ {n})।",
        "actions": "রেসকিউ প্যাক শুরু করুন। একই দিনে প্র্যাকটিসে ফোন করুন এবং বলুন এটি জরুরি।",
        "text": "আমি সিঁড়িওয়ালা একটি বাড়িতে একা থাকি। আমার ছেলে দেখা করতে আসে।",
    },
    "cy": {
        "goal": "Cerdded i'r siop gornel ac yn ôl heb stopio, nod {n}",
        "why": "Er mwyn i mi allu gwneud fy siopa fy hun a gweld fy nghymdogion.",
        "steps": "Ymarferion anadlu bob bore; mae fy mab yn cerdded gyda mi ar ddydd Sadwrn.",
        "signs": "Yn fwy diffygiol o anadl nag arfer am ddau ddiwrnod, neu fflem lliw (cam {n}).",
        "actions": "Dechreuwch y pecyn achub. Ffoniwch y feddygfa yr un diwrnod: mae hi ar frys.",
        "text": "Rwy'n byw ar fy mhen fy hun mewn tŷ gyda grisiau a rheilen wrth y drws ffrynt.",
    },
}


def build_plan(db, org, nurse, text: dict, language: str, nhs_number: str):
    """A typical plan: 8 goals (2 proposed), 5 crisis steps (the most allowed), every section
    filled."""
    from portal.models import (
        CarePlan,
        CareTeamMember,
        Contact,
        CrisisStep,
        Domain,
        Goal,
        NeedsSection,
        UsualState,
        Wish,
        WishKind,
    )
    user, patient = bench_patient(
        db,
        org.id,
        nhs_number,
        language,
        ("Amina", "Begum") if language == "ur" else ("Margaret", "Hughes"),
    )
    today = date.today()
    plan = CarePlan(
        patient_id=patient.id,
        named_contact_id=nurse.id,
        next_review_date=today + timedelta(days=60),
        last_review_date=today - timedelta(days=300),
        agreed_version=3,
    )
    db.session.add(plan)
    db.session.flush()
    mine = {"language": language, "updated_by_id": user.id}
    for n in range(8):
        proposed = n >= 6
        db.session.add(
            Goal(
                plan_id=plan.id,
                title=text["goal"].format(n=n + 1),
                why_it_matters=text["why"],
                steps=text["steps"],
                target_date=today + timedelta(days=90 + n),
                status="proposed" if proposed else "agreed",
                pending_review=proposed,
                proposed_by_id=user.id,
                **mine,
            )
        )
    for n, level in enumerate(("red", "red", "amber", "amber", "green")):
        db.session.add(
            CrisisStep(
                plan_id=plan.id,
                level=level,
                signs=text["signs"].format(n=n + 1),
                actions=text["actions"],
                who_to_call="999" if level == "red" else "GP practice 0113 496 0000",
                position=n,
                pending_review=False,
                **mine,
            )
        )
    for domain in Domain:
        db.session.add(NeedsSection(plan_id=plan.id, domain=domain, text=text["text"], **mine))
    for kind in WishKind:
        db.session.add(Wish(plan_id=plan.id, kind=kind, text=text["why"], **mine))
    db.session.add(
        UsualState(
            plan_id=plan.id,
            mobility=text["text"],
            breathing="Oxygen saturation usually 91 to 93% at rest.",
            memory_understanding="Memory good; makes her own decisions.",
            usual_readings="Weight about 68 kg; blood sugar 6 to 9 before meals.",
            communication=text["why"],
            medicines="Metformin 500 mg twice a day; ramipril 5 mg; salbutamol inhaler.",
            allergies="Penicillin (rash).",
            respect_form_location="In the red folder on the fridge",
            dnacpr_location="No DNACPR decision",
            lpa_location="Son holds health and welfare LPA",
            rescue_medication_location="Kitchen drawer by the sink",
            pending_review=False,
            **mine,
        )
    )
    for n, kind in enumerate(("next_of_kin", "practice", "out_of_hours", "specialist")):
        db.session.add(
            Contact(
                plan_id=plan.id,
                kind=kind,
                name=f"Contact {n + 1}",
                phone=f"0113 496 {n:04d}",
                when_to_call="Any time",
                position=n,
                pending_review=False,
            )
        )
    for n in range(3):
        db.session.add(
            CareTeamMember(
                plan_id=plan.id,
                name=f"Care team member {n + 1}",
                role="Community matron",
                organisation="Leeds Community Healthcare",
                phone="0113 496 0789",
                availability="Weekdays",
                position=n,
            )
        )
    db.session.commit()
    return patient, user


def bench_patient(db, org_id: int, nhs_number: str, language: str, name: tuple, conditions=2):
    """A patient account and its patient record (no plan yet)."""
    from portal.models import Condition, Patient, Role, User
    from portal.security import new_session_token

    user = User(
        email=f"bench-{nhs_number}@example.org",
        password_hash="x",
        role=Role.PATIENT,
        display_name=" ".join(name),
        session_token=new_session_token(),
    )
    db.session.add(user)
    db.session.flush()
    patient = Patient(
        user_id=user.id,
        organisation_id=org_id,
        nhs_number=nhs_number,
        given_name=name[0],
        family_name=name[1],
        date_of_birth=date(1950, 5, 1),
        sex="female",
        preferred_language=language,
        care_team_consent=True,
        conditions=list(db.session.query(Condition).limit(conditions)),
    )
    db.session.add(patient)
    db.session.flush()
    return user, patient


def bench_app(tmp: str):
    """The portal on a fresh SQLite database in ``tmp``; the ids of a practice and its nurse."""
    from portal import create_app
    from portal.conditions import CONDITIONS
    from portal.extensions import db
    from portal.models import Base, Condition, Organisation, Role, User
    from portal.security import new_session_token

    app = create_app(
        {
            "ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(tmp) / "bench.sqlite3"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": "localhost",
        }
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.add_all(Condition(code=c.code, name=c.name) for c in CONDITIONS)
        org = Organisation(ods_code="B00001", name="Bench Practice")
        db.session.add(org)
        db.session.flush()
        nurse = User(
            email="nurse@bench.example.org",
            password_hash="x",
            role=Role.PROFESSIONAL,
            display_name="Priya Shah",
            organisation_id=org.id,
            job_title="Practice nurse",
            phone="0113 496 0001",
            session_token=new_session_token(),
        )
        db.session.add(nurse)
        db.session.commit()
        return app, org.id, nurse.id


def median_ms(fn, samples: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of ``fn`` (CPU time is steadier on a busy host)."""
    wall, cpu = [], []
    for _ in range(samples):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=15, help="renders per median")
    parser.add_argument("--renders", type=int, default=200, help="renders before peak RSS")
    parser.add_argument("--save", metavar="DIR", help="also write the PDFs to DIR, to look at")
    args = parser.parse_args(argv)

    os.environ.setdefault("PORTAL_ENV", "testing")
    from flask_babel import force_locale
    from weasyprint import __version__ as weasyprint_version

    from portal.extensions import db
    from portal.models import Organisation, User
    from portal.pdf import services
    from portal.plans.services import load_plan

    rendered = 0

    def render(html: str, one_page: bool = False) -> bytes:
        nonlocal rendered
        rendered += 1
        return services.render_pdf(html, one_page=one_page)

    with tempfile.TemporaryDirectory() as tmp:
        app, org_id, nurse_id = bench_app(tmp)
        with app.app_context():
            org, nurse = db.session.get(Organisation, org_id), db.session.get(User, nurse_id)
            english, english_user = build_plan(db, org, nurse, ENGLISH, "en", "9434765919")
            urdu, _urdu_user = build_plan(db, org, nurse, URDU, "ur", "9434765870")

        results = {}
        with app.test_request_context():
            htmls = {}
            for key, patient in (("en", english), ("ur", urdu)):
                with force_locale(key):
                    plan = load_plan(patient.id)
                    htmls[key] = services.plan_html(plan)
                    render(htmls[key])  # warm fonts and caches
                    pdf = render(htmls[key])
                    sheet_pdf = render(services.crisis_html(plan), one_page=True)
                    if args.save:
                        Path(args.save).mkdir(parents=True, exist_ok=True)
                        Path(args.save, f"plan-{key}.pdf").write_bytes(pdf)
                        Path(args.save, f"crisis-{key}.pdf").write_bytes(sheet_pdf)
                    results[f"pages_{key}"] = _pages(pdf)
                    results[f"sheet_pages_{key}"] = _pages(sheet_pdf)
                    results[f"size_{key}"] = len(pdf)
                    results[key] = median_ms(
                        lambda html=htmls[key]: render(html), args.samples
                    )
                    # Large print: more pages at 16 pt, never one page for the crisis sheet.
                    large_html = services.plan_html(plan, services.PrintSize.LARGE)
                    large_pdf = services.render_pdf(large_html, large=True)
                    results[f"large_pages_{key}"] = _pages(large_pdf)
                    results[f"large_{key}"] = median_ms(
                        lambda html=large_html: services.render_pdf(html, large=True),
                        max(3, args.samples // 3),
                    )

        client = app.test_client()
        with client.session_transaction() as session:  # signed in, as after the sign-in form
            session["_user_id"] = english_user.get_id()
            session["_fresh"] = True
            session["started_at"] = session["seen_at"] = int(time.time())
        url = f"/patients/{english.id}/plan.pdf"
        assert client.get(url).status_code == 200  # rendered and cached
        results["cached"] = median_ms(lambda: client.get(url), max(args.samples, 50))

        rendered += 1  # the first download above
        with app.test_request_context():
            while rendered < args.renders:
                key = "en" if rendered % 2 else "ur"
                with force_locale(key):
                    render(htmls[key])
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"PDF benchmark – WeasyPrint {weasyprint_version}, typical plan "
          "(8 goals, 6 crisis steps, every section filled)")
    print(f"  plan: {results['pages_en']} pages in English ({results['size_en'] // 1024} KB), "
          f"{results['pages_ur']} in Urdu ({results['size_ur'] // 1024} KB); crisis sheet: "
          f"{results['sheet_pages_en']} page in English, {results['sheet_pages_ur']} in Urdu")
    print(f"  load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall-clock times grow with load; CPU times much less)")
    rows = (
        ("median warm render, English", results["en"], TARGETS["en"]),
        ("median warm render, Urdu", results["ur"], TARGETS["ur"]),
        ("median cached download", results["cached"], TARGETS["cached"]),
    )
    for label, (wall, cpu), target in rows:
        verdict = "ok" if wall < target else ("ok on CPU time" if cpu < target else "OVER")
        print(f"  {label:<30} {wall:8.1f} ms wall, {cpu:8.1f} ms CPU"
              f"   (target < {target:.0f} ms: {verdict})")
    for key, language in (("en", "English"), ("ur", "Urdu")):
        wall, cpu = results[f"large_{key}"]
        label = f"median large print, {language}"
        print(f"  {label:<30} {wall:8.1f} ms wall, {cpu:8.1f} ms CPU"
              f"   ({results[f'large_pages_{key}']} pages)")
    label = f"peak RSS after {rendered} renders"
    verdict = "ok" if peak_mb < TARGETS["rss"] else "OVER"
    print(f"  {label:<30} {peak_mb:8.1f} MB   (target < {TARGETS['rss']:.0f} MB: {verdict})")
    return 0


def _pages(data: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


if __name__ == "__main__":
    sys.exit(main())
