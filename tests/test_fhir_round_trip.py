"""A care plan sent from one portal's database to another's and read back, field by field.

The table of what survives is computed here and must match the one in
``docs/interoperability.md``: the documentation cannot drift from what really happens.
"""

import io
import re
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, insert, select

from portal.conditions import CONDITIONS
from portal.extensions import db
from portal.models import (
    AccessGrant,
    Base,
    CarePlan,
    Condition,
    Patient,
    ReviewMeeting,
    Role,
    SharedResult,
)
from tests.factories import make_org, make_patient, make_user
from tests.fhir_support import USUAL, full_plan

DOC = Path(__file__).resolve().parent.parent / "docs" / "interoperability.md"


@contextmanager
def receiving_database(path: Path):
    """Every request and query in the block goes to a second, separate database."""
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(Condition), [{"code": c.code, "name": c.name} for c in CONDITIONS]
        )
    factory = db.session.session_factory
    saved = dict(factory.kw)
    db.session.remove()
    factory.kw = {k: v for k, v in saved.items() if k != "join_transaction_mode"} | {"bind": engine}
    try:
        yield
    finally:
        db.session.remove()
        factory.kw = saved
        engine.dispose()


def _plan_values(plan: CarePlan, patient: Patient) -> dict:
    """What the plan says, as (part, field) -> value."""
    values = {}
    for goal in sorted(plan.goals, key=lambda g: g.title):
        for field in ("title", "why_it_matters", "steps", "target_date", "status", "language"):
            values.setdefault(("Goal", field), []).append(getattr(goal, field))
    for need in sorted(plan.needs, key=lambda n: n.domain):
        values.setdefault(("Need", "text"), []).append((need.domain, need.text))
        values.setdefault(("Need", "language"), []).append(need.language)
    for wish in sorted(plan.wishes, key=lambda w: w.kind):
        values.setdefault(("Wish", "text"), []).append((wish.kind, wish.text))
    for step in plan.crisis_steps:
        for field in ("level", "signs", "actions", "who_to_call"):
            values.setdefault(("Crisis step", field), []).append(getattr(step, field))
    for field in USUAL:
        values[("Usual state of health", field)] = getattr(plan.usual_state, field)
    for contact in sorted(plan.contacts, key=lambda c: c.name):
        for field in ("kind", "name", "relationship_to_patient", "phone", "when_to_call"):
            values.setdefault(("Contact", field), []).append(getattr(contact, field))
    members = [m for m in plan.care_team if m.role != "Named contact"]
    if plan.named_contact:  # in the sending portal: a professional's account
        named = plan.named_contact
        values[("Named contact", "name")] = named.display_name
        values[("Named contact", "phone")] = named.phone
        values[("Named contact", "account")] = named.email
    else:  # where it was imported: a care team member
        named = next((m for m in plan.care_team if m.role == "Named contact"), None)
        values[("Named contact", "name")] = named.name if named else None
        values[("Named contact", "phone")] = named.phone if named else None
        values[("Named contact", "account")] = None
    for member in sorted(members, key=lambda m: m.name):
        for field in ("name", "role", "organisation", "phone", "email", "availability"):
            values.setdefault(("Care team member", field), []).append(getattr(member, field))
    values[("Long-term conditions", "codes")] = sorted(c.code for c in patient.conditions)
    values[("Review", "next review date")] = plan.next_review_date
    values[("Review", "meetings")] = len(
        db.session.scalars(select(ReviewMeeting).where(ReviewMeeting.plan_id == plan.id)).all()
    )
    values[("Review", "agreed versions")] = plan.agreed_version
    values[("Results shared", "results")] = len(
        db.session.scalars(select(SharedResult).where(SharedResult.plan_id == plan.id)).all()
    )
    values[("Sharing", "carers' access")] = len(
        db.session.scalars(select(AccessGrant).where(AccessGrant.patient_id == patient.id)).all()
    )
    return values


def _documented() -> set[tuple[str, str, str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- round-trip table -->")[1]
    rows = set()
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] not in ("Part", "") and not set(cells[0]) <= {"-"}:
            rows.add((cells[0], cells[1].strip("`"), cells[2]))
    return rows


def test_round_trip_between_two_databases(cast, request_as, tmp_path):
    plan = full_plan(cast)
    before = _plan_values(plan, cast.a)
    response = request_as(
        cast.users["professional"], "GET", f"/patients/{cast.a.id}/plan.fhir.json"
    )
    document = response.get_data()
    identity = (cast.a.nhs_number, cast.a.given_name, cast.a.family_name, cast.a.date_of_birth)

    with receiving_database(tmp_path / "receiver.sqlite3"):
        org = make_org("Receiving practice")
        nurse = make_user(Role.PROFESSIONAL, org)
        nhs, given, family, born = identity
        patient = make_patient(
            org,
            nhs_number=nhs,
            given_name=given,
            family_name=family.upper(),
            date_of_birth=born,
        )
        db.session.add(CarePlan(patient_id=patient.id))
        db.session.commit()
        preview = request_as(
            nurse,
            "POST",
            f"/patients/{patient.id}/fhir-import",
            data={"bundle": (io.BytesIO(document), "plan.json")},
            content_type="multipart/form-data",
        ).get_data(as_text=True)
        hidden = dict(re.findall(r'name="(payload|digest)" type="hidden" value="([^"]*)"', preview))
        confirmed = request_as(
            nurse, "POST", f"/patients/{patient.id}/fhir-import/confirm", data=hidden
        )
        assert confirmed.status_code == 302
        received = db.session.get(
            CarePlan,
            db.session.scalar(select(CarePlan.id).where(CarePlan.patient_id == patient.id)),
        )
        after = _plan_values(received, received.patient)
        assert all(g.pending_review for g in received.goals)  # proposals to agree, never agreed

    table = {
        (part, field, "yes" if after.get((part, field)) == value else "no")
        for (part, field), value in before.items()
    }
    documented = _documented()
    assert {row for row in documented if (row[0], row[1]) in before} == table
