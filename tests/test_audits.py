"""Sample audits: only auditors reach them; sampling, checking and the reported summary."""

import re
from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.compliance import CRITERIA
from portal.models import AuditEvent, CarePlan, PlanAudit, PlanAuditItem, Role
from portal.reports.services import monthly_report
from tests.compliance_factories import add_conditions, make_compliant_plan
from tests.factories import CAST_KEYS, make_patient, make_plan, make_user

ALL = CAST_KEYS
AUDITORS = ["auditor", "auditor_other_org"]


@pytest.fixture
def people(cast, db):
    """The cast, plus an auditor in patient A's practice and one in the other practice."""
    users = dict(cast.users)
    users["auditor"] = make_user(Role.PROFESSIONAL, cast.org, can_audit=True)
    users["auditor_other_org"] = make_user(Role.PROFESSIONAL, cast.other_org, can_audit=True)
    # not auditors, whatever the flag says
    users["commissioner_flagged"] = make_user(Role.COMMISSIONER, can_audit=True)
    users["admin_flagged"] = make_user(Role.ADMIN, cast.org, can_audit=True)
    for patient in (cast.a, cast.b, cast.no_consent):
        add_conditions(patient)
    db.session.commit()
    return users


@pytest.fixture
def sample(cast, people, db):
    """An audit in patient A's practice covering A's plan."""
    audit = PlanAudit(organisation_id=cast.org.id, auditor_id=people["auditor"].id)
    db.session.add(audit)
    db.session.flush()
    item = PlanAuditItem(
        audit_id=audit.id,
        plan_id=cast.plan_a.id,
        criteria={key: {"computed": False, "found": None} for key in CRITERIA},
    )
    db.session.add(item)
    db.session.commit()
    return audit, item


def _expected(who: str, readers: set[str], ok: int = 200) -> int:
    if who == "anonymous":
        return 302
    return ok if who in readers else 404


@pytest.mark.parametrize("who", ALL + AUDITORS + ["commissioner_flagged", "admin_flagged"])
@pytest.mark.parametrize("route", ["/audits", "/audits/new"])
def test_only_auditors_reach_audits(people, request_as, route, who):
    response = request_as(people[who], "GET", route)
    assert response.status_code == _expected(who, set(AUDITORS))


@pytest.mark.parametrize("who", ALL + AUDITORS + ["commissioner_flagged", "admin_flagged"])
def test_only_auditors_can_start_an_audit(people, request_as, db, who):
    response = request_as(people[who], "POST", "/audits/new", data={"size": "2"})
    # the other practice's auditor is told there is nothing to sample there
    expected = {"auditor": 302, "auditor_other_org": 200, "anonymous": 302}.get(who, 404)
    assert response.status_code == expected
    audits = db.session.scalars(select(PlanAudit.auditor_id)).all()
    assert audits == ([people["auditor"].id] if who == "auditor" else [])


@pytest.mark.parametrize("who", ALL + AUDITORS + ["commissioner_flagged", "admin_flagged"])
def test_only_auditors_of_the_practice_see_its_audit(people, sample, request_as, who):
    audit, item = sample
    for url in (f"/audits/{audit.id}", f"/audits/{audit.id}/items/{item.id}"):
        assert request_as(people[who], "GET", url).status_code == _expected(who, {"auditor"})


@pytest.mark.parametrize("who", ALL + AUDITORS)
def test_only_auditors_of_the_practice_record_a_check(people, sample, request_as, db, who):
    audit, item = sample
    data = {key: "yes" for key in CRITERIA}
    response = request_as(people[who], "POST", f"/audits/{audit.id}/items/{item.id}", data=data)
    assert response.status_code == _expected(who, {"auditor"}, 302)
    saved = db.session.get(PlanAuditItem, item.id)
    assert (saved.meets_requirements is True) == (who == "auditor")


def test_auditor_draws_a_sample_checks_it_and_the_summary_is_reported(cast, people, login, db):
    auditor = people["auditor"]
    complete = [make_compliant_plan(cast.org, day=date.today()) for _ in range(3)]
    elsewhere = make_compliant_plan(cast.other_org, day=date.today())
    no_condition = make_patient(cast.org)
    make_plan(no_condition)
    db.session.commit()
    client = login(auditor)
    assert "Start a sample audit" in client.get("/audits").get_data(as_text=True)

    response = client.post("/audits/new", data={"size": "50"})
    assert response.status_code == 302
    audit = db.session.scalars(select(PlanAudit)).one()
    assert response.headers["Location"].endswith(f"/audits/{audit.id}")
    items = db.session.scalars(
        select(PlanAuditItem).where(PlanAuditItem.audit_id == audit.id)
    ).all()
    sampled = {item.plan_id for item in items}
    # consenting patients of the practice with a long-term condition only
    assert sampled == {cast.plan_a.id, cast.plan_b.id} | {p.id for p in complete}
    assert elsewhere.id not in sampled
    computed = {item.plan_id: all(c["computed"] for c in item.criteria.values()) for item in items}
    assert computed == {cast.plan_a.id: False, cast.plan_b.id: False} | {
        p.id: True for p in complete
    }
    assert all(item.meets_requirements is None for item in items)

    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "Alice Able" in page and "Not checked yet" in page

    item = next(i for i in items if i.plan_id == complete[0].id)
    form = client.get(f"/audits/{audit.id}/items/{item.id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="named_contact"[^>]*value="yes"', form)
    assert "The records show: met" in form
    overridden = {key: "yes" for key in CRITERIA} | {"copy": "no", "notes": "No copy on file"}
    response = client.post(f"/audits/{audit.id}/items/{item.id}", data=overridden)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(PlanAuditItem, item.id)
    assert saved.meets_requirements is False
    assert saved.criteria["copy"] == {"computed": True, "found": False}
    assert saved.notes == "No copy on file"

    for other in (i for i in items if i.plan_id in {p.id for p in complete[1:]}):
        client.post(f"/audits/{audit.id}/items/{other.id}", data=dict.fromkeys(CRITERIA, "yes"))
    checks = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "plan_audit.check")
    ).all()
    assert len(checks) == 3 and all(e.actor_id == auditor.id for e in checks)

    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    figures = re.findall(r'summary-list__value">(\d+)<', page)
    assert figures == ["5", "3", "2"]
    with force_locale("en"):
        report = monthly_report(date.today())
    assert (report.audited, report.audit_meeting) == (None, None)  # 3 plans: too few to show


def test_summary_reaches_the_commissioner_as_totals_only(cast, people, db, login):
    audit = PlanAudit(organisation_id=cast.org.id, auditor_id=people["auditor"].id)
    db.session.add(audit)
    db.session.flush()
    for i in range(12):
        plan = make_compliant_plan(cast.org, given_name=f"Audited{i}")
        db.session.add(
            PlanAuditItem(
                audit_id=audit.id, plan_id=plan.id, meets_requirements=i < 9, notes="Note X"
            )
        )
    db.session.commit()
    month = date.today().strftime("%Y-%m")
    body = login(cast.users["commissioner"]).get(f"/reports?month={month}").get_data(as_text=True)
    assert "Plans audited" in body
    assert "Audited1" not in body and "Note X" not in body
    with force_locale("en"):
        report = monthly_report(date.today())
    assert (report.audited, report.audit_meeting, report.audit_percent) == (10, 10, 100.0)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("", "Enter how many plans to sample"),
        ("0", "Enter a number from 1 to 50"),
        ("51", "Enter a number from 1 to 50"),
        ("ten", "Enter a number from 1 to 50"),
        ("1234", "Enter a number from 1 to 50"),
        ("-3", "Enter a number from 1 to 50"),
    ],
)
def test_sample_size_is_checked(people, login, db, size, message):
    response = login(people["auditor"]).post("/audits/new", data={"size": size})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in body and "nhsuk-error-summary" in body
    assert f'value="{size}"' in body
    assert db.session.scalar(select(PlanAudit.id)) is None


def test_nothing_to_sample_is_explained(people, login, db):
    response = login(people["auditor_other_org"]).post("/audits/new", data={"size": "5"})
    assert "There are no plans to sample in your organisation yet" in response.get_data(
        as_text=True
    )


def test_a_sample_is_random_and_no_bigger_than_asked(cast, people, login, db):
    for _ in range(12):
        make_compliant_plan(cast.org)
    db.session.commit()
    client = login(people["auditor"])
    samples = []
    for _ in range(4):
        client.post("/audits/new", data={"size": "4"})
    for audit in db.session.scalars(select(PlanAudit)):
        plan_ids = db.session.scalars(
            select(PlanAuditItem.plan_id).where(PlanAuditItem.audit_id == audit.id)
        ).all()
        assert len(plan_ids) == 4
        samples.append(frozenset(plan_ids))
    assert len(set(samples)) > 1  # four draws of 4 from 14 plans are not all the same


def test_missing_answers_are_explained_and_notes_kept(people, sample, login, db):
    audit, item = sample
    response = login(people["auditor"]).post(
        f"/audits/{audit.id}/items/{item.id}", data={"notes": "Half done", "consent": "maybe"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose whether the plan meets this requirement" in body
    assert "Half done" in body
    assert db.session.get(PlanAuditItem, item.id).meets_requirements is None


def test_notes_are_limited(people, sample, login, db):
    audit, item = sample
    data = dict.fromkeys(CRITERIA, "yes") | {"notes": "n" * 2001}
    body = login(people["auditor"]).post(f"/audits/{audit.id}/items/{item.id}", data=data)
    assert "Notes must be 2000 characters or fewer" in body.get_data(as_text=True)


def test_withdrawn_consent_closes_the_item(cast, people, sample, login, db):
    audit, item = sample
    cast.a.care_team_consent = False
    db.session.commit()
    client = login(people["auditor"])
    assert client.get(f"/audits/{audit.id}/items/{item.id}").status_code == 404
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "Alice" not in page and cast.a.nhs_number[:3] + " " not in page
    assert "No longer shares their plan with the care team" in page


def test_forged_ids_are_404(cast, people, sample, login, db):
    audit, item = sample
    other = PlanAudit(organisation_id=cast.other_org.id, auditor_id=people["auditor_other_org"].id)
    db.session.add(other)
    db.session.commit()
    client = login(people["auditor"])
    assert client.get(f"/audits/{other.id}").status_code == 404
    assert client.get(f"/audits/{other.id}/items/{item.id}").status_code == 404
    assert client.get(f"/audits/{audit.id}/items/999999").status_code == 404
    assert client.get("/audits/999999").status_code == 404


def test_audit_page_queries_do_not_grow_with_the_sample(cast, people, login, db, count_queries):
    for _ in range(10):
        make_compliant_plan(cast.org)
    db.session.commit()
    client = login(people["auditor"])
    counts = []
    for size in ("2", "10"):
        client.post("/audits/new", data={"size": size})
        audit_id = db.session.scalar(select(PlanAudit.id).order_by(PlanAudit.id.desc()))
        with count_queries() as counter:
            assert client.get(f"/audits/{audit_id}").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    plan_ids = db.session.scalars(select(CarePlan.id)).all()
    assert len(plan_ids) >= 10


def test_professional_home_links_to_surveys_and_for_auditors_to_audits(people, login):
    body = login(people["auditor"]).get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/surveys"' in body and 'href="/audits"' in body
    body = login(people["professional"]).get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/surveys"' in body and 'href="/audits"' not in body
