"""The professional's worklist: who is on it, what each filter holds, search, pages, access."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, CarePlan, CrisisStep, Goal, PlanOffer, Role
from portal.worklist.services import PAGE_SIZE, Filter, Search, Whose, parse_search, worklist
from tests.factories import make_org, make_patient, make_plan, make_user

TODAY = date.today()


@pytest.fixture
def practice(db):
    """One patient for each thing that can need doing, at one practice, and a stranger."""
    org = make_org("Riverside")
    nurse = make_user(Role.PROFESSIONAL, org, display_name="Nurse Priya")
    colleague = make_user(Role.PROFESSIONAL, org, display_name="Doctor Jones")

    def patient(name, plan=True, contact=nurse, **kw):
        given, family = name.split()
        p = make_patient(org, given_name=given, family_name=family, **kw)
        made = make_plan(p, goals=0, named_contact=contact) if plan else None
        if made:
            made.agreed_version = 1
            for item in (*made.needs, *made.wishes, *made.crisis_steps, *made.contacts):
                item.pending_review = False
            made.usual_state.pending_review = False
        return p, made

    people = {}
    people["settled"], plan = patient("Sally Settled")
    plan.next_review_date = TODAY + timedelta(days=200)
    people["overdue"], plan = patient("Olive Overdue")
    plan.next_review_date = TODAY - timedelta(days=1)
    people["due"], plan = patient("Dora Due")
    plan.next_review_date = TODAY + timedelta(days=56)
    people["later"], plan = patient("Larry Later")
    plan.next_review_date = TODAY + timedelta(days=57)
    people["proposal"], plan = patient("Percy Proposal")
    plan.next_review_date = TODAY + timedelta(days=300)
    db.session.add(Goal(plan_id=plan.id, title="Walk to the shop", status="proposed"))
    people["crisis"], plan = patient("Cora Crisis")
    plan.next_review_date = TODAY + timedelta(days=300)
    db.session.add(CrisisStep(plan_id=plan.id, level="amber", signs="Cough", actions="Ring"))
    people["contact"], plan = patient("Connie Contact", contact=colleague)
    plan.next_review_date = TODAY + timedelta(days=300)
    plan.named_contact_request = "I would like to see a nurse who speaks Welsh"
    people["new"], _ = patient(
        "Nora New", plan=False, initial_assessment_date=TODAY - timedelta(days=20)
    )
    people["new_with_draft"], plan = patient(
        "Nat Newdraft", initial_assessment_date=TODAY - timedelta(days=27)
    )
    plan.agreed_version = 0
    plan.next_review_date = TODAY + timedelta(days=300)
    people["old_new"], _ = patient(
        "Otto Late", plan=False, initial_assessment_date=TODAY - timedelta(days=28)
    )
    people["no_plan"], _ = patient("Nell Noplan", plan=False)
    people["declined"], _ = patient("Dee Declined", plan=False)
    people["reoffered"], _ = patient("Rory Reoffered", plan=False)
    for who, answers in (("declined", ["declined"]), ("reoffered", ["declined", None])):
        for n, outcome in enumerate(answers):
            db.session.add(
                PlanOffer(
                    patient_id=people[who].id,
                    organisation_id=org.id,
                    offered_on=TODAY - timedelta(days=400 - 370 * n),
                    method="letter",
                    outcome=outcome,
                )
            )
    people["implied"], plan = patient("Ivy Implied", consent=None)
    plan.next_review_date = TODAY + timedelta(days=200)
    people["objected"], plan = patient("Oscar Objected", consent=False)
    plan.next_review_date = TODAY - timedelta(days=10)  # overdue, but hidden from the practice
    db.session.add(Goal(plan_id=plan.id, title="Hidden", status="proposed"))
    stranger_org = make_org("Elsewhere")
    people["stranger"], plan = (
        make_patient(stranger_org, given_name="Stan", family_name="Stranger"),
        None,
    )
    make_plan(people["stranger"])
    db.session.commit()
    from types import SimpleNamespace

    return SimpleNamespace(org=org, nurse=nurse, colleague=colleague, people=people)


def _person(db, practice, who: str):
    """Someone standing in relation ``who`` to the practice, for the access rows."""
    made = {
        "nurse": lambda: practice.nurse,
        "other_practice": lambda: make_user(Role.PROFESSIONAL, make_org()),
        "patient": lambda: practice.people["settled"].user,
        "carer": lambda: make_user(Role.CARER),
        "commissioner": lambda: make_user(Role.COMMISSIONER),
        "admin": lambda: make_user(Role.ADMIN, practice.org),
        "anonymous": lambda: None,
    }[who]()
    db.session.commit()
    return made


def _ids(result) -> set[int]:
    return {row.patient.id for row in result.rows}


def _who(practice, *keys) -> set[int]:
    return {practice.people[k].id for k in keys}


EXPECTED = {
    Filter.OVERDUE: ("overdue",),
    Filter.DUE_SOON: ("due",),
    Filter.PROPOSALS: ("proposal", "crisis"),
    Filter.CRISIS: ("crisis",),
    Filter.CONTACT_REQUEST: ("contact",),
    Filter.NEW_PATIENT: ("new", "new_with_draft"),
    Filter.NO_PLAN: ("new", "old_new", "no_plan", "declined", "reoffered"),
    Filter.NOT_OFFERED: ("new", "old_new", "no_plan"),
    Filter.DECLINED: ("declined",),  # offered again since: waiting for the new answer
}


@pytest.mark.parametrize("chosen", list(EXPECTED), ids=str)
def test_each_filter_holds_exactly_its_patients_and_counts_them(db, practice, chosen):
    result = worklist(practice.nurse, Whose.PRACTICE, chosen)
    assert _ids(result) == _who(practice, *EXPECTED[chosen])
    assert result.counts[chosen] == len(EXPECTED[chosen])


def test_all_the_practice_is_everyone_on_its_register_and_no_one_else(db, practice):
    result = worklist(practice.nurse, Whose.PRACTICE, Filter.ALL)
    everyone = set(practice.people) - {"stranger"}
    assert _ids(result) == _who(practice, *everyone)
    assert result.counts[Filter.ALL] == len(everyone)


def test_my_patients_are_those_i_am_named_contact_for(db, practice):
    mine = worklist(practice.nurse, Whose.MINE, Filter.ALL)
    assert practice.people["contact"].id not in _ids(mine)  # the colleague's patient
    assert practice.people["no_plan"].id not in _ids(mine)
    assert practice.people["objected"].id not in _ids(mine)
    assert practice.people["overdue"].id in _ids(mine)
    theirs = worklist(practice.colleague, Whose.MINE, Filter.ALL)
    assert _ids(theirs) == _who(practice, "contact")


def test_what_needs_doing_first_comes_first(db, practice):
    order = [row.patient.id for row in worklist(practice.nurse).rows]
    ranks = {pid: i for i, pid in enumerate(order)}
    p = practice.people
    assert ranks[p["crisis"].id] < ranks[p["new"].id] < ranks[p["overdue"].id]
    assert ranks[p["overdue"].id] < ranks[p["contact"].id] < ranks[p["proposal"].id]
    assert ranks[p["proposal"].id] < ranks[p["no_plan"].id] < ranks[p["due"].id]
    assert ranks[p["due"].id] < ranks[p["settled"].id]


def test_an_objection_hides_what_waits_in_the_plan(db, practice):
    row = next(
        r for r in worklist(practice.nurse).rows if r.patient.id == practice.people["objected"].id
    )
    assert row.objected and row.flags == ()


@pytest.mark.parametrize(
    ("typed", "who"),
    [
        ("overdue", "overdue"),
        ("OLIVE", "overdue"),
        ("olive over", "overdue"),
        ("  cora   crisis ", "crisis"),
    ],
)
def test_search_by_name(db, practice, typed, who):
    result = worklist(practice.nurse, search=parse_search(typed))
    assert _ids(result) == _who(practice, who)


def test_search_by_nhs_number_with_or_without_spaces(db, practice):
    number = practice.people["due"].nhs_number
    for typed in (
        number,
        f"{number[:3]} {number[3:6]} {number[6:]}",
        f"{number[:3]}-{number[3:6]}",
    ):
        assert practice.people["due"].id in _ids(
            worklist(practice.nurse, search=parse_search(typed))
        )
    assert _ids(worklist(practice.nurse, search=parse_search(number))) == _who(practice, "due")


def test_search_by_date_of_birth(db, practice):
    practice.people["later"].date_of_birth = date(1947, 3, 12)
    db.session.commit()
    for typed in ("12/03/1947", "12-03-1947", "1947-03-12", "12.03.1947"):
        assert _ids(worklist(practice.nurse, search=parse_search(typed))) == _who(practice, "later")


def test_search_counts_only_what_matches(db, practice):
    result = worklist(practice.nurse, search=parse_search("Olive"))
    assert result.counts[Filter.ALL] == 1 and result.counts[Filter.OVERDUE] == 1
    assert result.counts[Filter.PROPOSALS] == 0


@pytest.mark.parametrize(
    "typed",
    ["%", "_", "%%%", "\\", "'; DROP TABLE patients; --", "<script>", "zz\x00\u202eq", "x" * 5000],
)
def test_odd_searches_find_nothing_and_do_not_fail(db, practice, login, typed):
    assert worklist(practice.nurse, search=parse_search(typed)).rows == []
    response = login(practice.nurse).get("/worklist", query_string={"q": typed})
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True).split("<main", 1)[1]


def test_search_reads_its_kinds():
    assert Search("943 476 5919").nhs_digits == "9434765919"
    assert Search("12/03/1947").date_of_birth == date(1947, 3, 12)
    assert Search("31/02/1947").date_of_birth is None
    assert Search("Hughes").nhs_digits is None
    assert parse_search("  a\tb  ").text == "a b"


def test_pages_hold_every_patient_once(db, login):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    made = {make_patient(org, family_name=f"Page{i:03d}").id for i in range(PAGE_SIZE * 2 + 3)}
    db.session.commit()
    seen = []
    for number in (1, 2, 3):
        result = worklist(nurse, page=number)
        assert result.page.pages == 3
        seen += [row.patient.id for row in result.rows]
    assert len(seen) == len(set(seen)) == len(made) and set(seen) == made
    assert worklist(nurse, page=99).page.page == 3  # past the end: the last page
    body = login(nurse).get("/worklist?page=2&filter=no_plan").get_data(as_text=True)
    assert 'href="/worklist?whose=practice&amp;filter=no_plan&amp;page=3"' in body


def test_the_page_costs_a_fixed_number_of_queries(db, login, count_queries):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    client = login(nurse)

    def add(n):
        for _ in range(n):
            p = make_patient(org)
            plan = make_plan(p, named_contact=nurse)
            db.session.add(Goal(plan_id=plan.id, title="New", status="proposed"))
        db.session.commit()

    counts = []
    for n in (3, 40):
        add(n)
        with count_queries() as counter:
            assert client.get("/worklist?filter=proposals").status_code == 200
        counts.append(counter.count)
    # A filter or a search with nobody in it costs no more: the counts come back
    # with the page's rows, or alone when there are none.
    for path in ("/worklist?filter=declined", "/worklist?q=nobody+by+this+name"):
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        counts.append(counter.count)
    assert len(set(counts)) == 1
    assert counts[0] <= 6


def test_the_page_links_each_row_to_a_page_that_works(db, practice, login):
    client = login(practice.nurse)
    body = client.get("/worklist").get_data(as_text=True)
    for key in ("settled", "overdue", "implied"):
        url = f"/patients/{practice.people[key].id}/plan"
        assert f'href="{url}"' in body
        assert client.get(url).status_code == 200
    objected = practice.people["objected"]
    assert f'href="/patients/{objected.id}/plan"' not in body
    assert "Objected to sharing with the practice" in body
    no_plan = practice.people["no_plan"]
    assert f'action="/patients/{no_plan.id}/plan/start"' in body
    assert f'href="/patients/{no_plan.id}/plan"' not in body


def test_starting_a_plan_makes_one_records_it_and_opens_it(db, practice, login):
    client = login(practice.nurse)
    patient = practice.people["no_plan"]
    response = client.post(f"/patients/{patient.id}/plan/start")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{patient.id}/plan")
    assert client.get(response.headers["Location"]).status_code == 200
    client.post(f"/patients/{patient.id}/plan/start")  # a second click
    plans = db.session.scalars(select(CarePlan).where(CarePlan.patient_id == patient.id)).all()
    assert len(plans) == 1
    events = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.patient_id == patient.id, AuditEvent.actor_id == practice.nurse.id
        )
    ).all()
    assert events.count("plan.start") == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nurse", 302),
        ("other_practice", 404),
        ("patient", 404),
        ("carer", 404),
        ("commissioner", 404),
        ("admin", 404),
        ("anonymous", 302),
    ],
)
def test_who_may_start_a_plan(db, practice, request_as, who, status):
    patient = practice.people["no_plan"]
    response = request_as(_person(db, practice, who), "POST", f"/patients/{patient.id}/plan/start")
    assert response.status_code == status
    made = db.session.scalar(select(CarePlan.id).where(CarePlan.patient_id == patient.id))
    assert (made is not None) == (who == "nurse")
    if who == "anonymous":
        assert "/sign-in" in response.headers["Location"]


def test_nobody_can_start_a_plan_for_a_patient_who_objected(db, practice, login):
    objected = practice.people["objected"]
    assert login(practice.nurse).post(f"/patients/{objected.id}/plan/start").status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [("patient", 404), ("carer", 404), ("commissioner", 404), ("admin", 404), ("anonymous", 302)],
)
def test_only_professionals_have_a_worklist(db, practice, request_as, who, status):
    assert request_as(_person(db, practice, who), "GET", "/worklist").status_code == status


def test_a_professional_at_another_practice_sees_only_their_own(db, practice, login):
    other = make_user(Role.PROFESSIONAL, practice.people["stranger"].organisation)
    db.session.commit()
    body = login(other).get("/worklist").get_data(as_text=True)
    assert "Stan Stranger" in body
    assert "Olive Overdue" not in body


@pytest.mark.parametrize(
    "args", [{"filter": "nonsense"}, {"whose": "x"}, {"page": "abc"}, {"page": "-4"}]
)
def test_forged_choices_fall_back_to_the_defaults(db, practice, login, args):
    response = login(practice.nurse).get("/worklist", query_string=args)
    assert response.status_code == 200
    assert "Olive Overdue" in response.get_data(as_text=True)


def test_filter_links_show_their_counts(db, practice, login):
    body = login(practice.nurse).get("/worklist?whose=practice").get_data(as_text=True)
    assert "Review overdue (1)" in body
    assert "No plan yet (5)" in body
    assert "Changes waiting for review (2)" in body


def test_a_page_stays_small_however_large_the_practice(db, login):
    org = make_org()
    nurse = make_user(Role.PROFESSIONAL, org)
    for i in range(PAGE_SIZE * 3):
        patient = make_patient(org, given_name="Bartholomew-Alexander" * 2, family_name=f"W{i}")
        make_plan(patient, goals=0, named_contact=nurse)
    db.session.commit()
    body = login(nurse).get("/worklist").get_data()
    assert body.count(b'class="nhsuk-table__row">') == PAGE_SIZE + 1  # the heading row
    assert len(body) < 100_000
