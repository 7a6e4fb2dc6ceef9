"""FHIR benchmark: building the care plan document and importing it, for a typical plan.

Run with ``python -m bench.fhir_bench [--samples 15]``. It builds the PDF benchmark's typical
plan (8 goals, 6 crisis steps, every section filled) in a temporary SQLite database, then
prints the median time to build the agreed plan's document, its size, and the median time to
preview its import into another practice's copy of the same patient, to import it, and to
preview it again (everything already there).

Not part of the test suite: timings depend on the machine.
"""

import argparse
import json
import os
import tempfile

from bench.pdf_bench import ENGLISH, bench_app, build_plan, median_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=15, help="runs per median")
    args = parser.parse_args(argv)

    os.environ.setdefault("PORTAL_ENV", "testing")
    from portal.extensions import db
    from portal.models import CarePlan, Organisation, Patient, Role, User
    from portal.plans.services import load_plan
    from portal.portability import fhir_import
    from portal.portability.fhir_export import build_document
    from portal.security import new_session_token

    with tempfile.TemporaryDirectory() as tmp:
        app, _org_id, _nurse_id = bench_app(tmp)
        with app.app_context():
            orgs = [Organisation(ods_code=f"F0000{n}", name=f"Practice {n}") for n in (1, 2)]
            db.session.add_all(orgs)
            db.session.flush()
            nurses = [
                User(
                    email=f"nurse{n}@bench.example.org",
                    password_hash="x",
                    role=Role.PROFESSIONAL,
                    display_name=f"Nurse {n}",
                    organisation_id=org.id,
                    session_token=new_session_token(),
                )
                for n, org in enumerate(orgs)
            ]
            db.session.add_all(nurses)
            db.session.flush()
            sender, _user = build_plan(db, orgs[0], nurses[0], ENGLISH, "en", "9434765919")
            receiver = Patient(
                organisation_id=orgs[1].id,
                nhs_number="9434765870",
                given_name=sender.given_name,
                family_name=sender.family_name,
                date_of_birth=sender.date_of_birth,
                sex="female",
                care_team_consent=True,
            )
            db.session.add(receiver)
            db.session.flush()
            db.session.add(CarePlan(patient_id=receiver.id))
            db.session.commit()
            sender_id, receiver_id, nurse_id = sender.id, receiver.id, nurses[1].id

        with app.test_request_context():
            plan = load_plan(sender_id)
            document = build_document(plan)
            build, build_cpu = median_ms(lambda: build_document(load_plan(sender_id)), args.samples)
            patient = next(
                e["resource"]
                for e in document["entry"]
                if e["resource"]["resourceType"] == "Patient"
            )
            patient["identifier"][0]["value"] = "9434765870"  # the receiving practice's record
            raw = json.dumps(document).encode()
            nurse = db.session.get(User, nurse_id)

            def receiving():
                return db.session.scalars(
                    db.select(CarePlan).where(CarePlan.patient_id == receiver_id)
                ).one()

            preview, _cpu = median_ms(
                lambda: fhir_import.preview(receiving(), raw, nurse), args.samples
            )
            first, _cpu = median_ms(lambda: fhir_import.commit(receiving(), raw, nurse), 1)
            again, _cpu = median_ms(
                lambda: fhir_import.preview(receiving(), raw, nurse), args.samples
            )
            result = fhir_import.preview(receiving(), raw, nurse)

    print(
        f"Document of the typical plan: {len(document['entry'])} resources, "
        f"{len(raw) / 1024:.0f} KB"
    )
    print(f"Build the document: {build:.1f} ms median ({build_cpu:.1f} ms CPU)")
    print(f"Preview its import: {preview:.1f} ms median")
    print(f"Import it: {first:.1f} ms")
    print(
        f"Preview it again (all already there, "
        f"{result.count(fhir_import.Outcome.UNCHANGED)} unchanged): {again:.1f} ms median"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
