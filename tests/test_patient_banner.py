"""The patient banner: who a staff page is about, on every staff page about one patient."""

from datetime import date

import pytest

from portal.models import Condition

BANNER = 'class="portal-patient-banner"'
# Staff pages about one patient, each a different area's template.
STAFF_PAGES = [
    "/patients/{a}/plan",
    "/patients/{a}/review",
    "/patients/{a}/review/record",
    "/patients/{a}/crisis",
    "/patients/{a}/versions",
]


@pytest.fixture
def described(db, cast):
    cast.a.date_of_birth = date(1947, 3, 12)
    cast.a.preferred_language = "ur"
    cast.a.interpreter_needed = True
    cast.a.interpreter_language = "Urdu"
    cast.a.conditions = [
        db.session.get(Condition, "13645005"),
        db.session.get(Condition, "84114007"),
    ]
    db.session.commit()
    return cast


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_every_staff_page_about_a_patient_says_who_it_is_about(described, login, page):
    response = login(described.users["professional"]).get(page.format(a=described.a.id))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.count(BANNER) == 1
    banner = body.split(BANNER, 1)[1].split("</dl>", 1)[0]
    age = date.today().year - 1947 - ((date.today().month, date.today().day) < (3, 12))
    for text in (
        "Alice Able",
        "12 Mar 1947",
        f"{age} years old",
        described.a.nhs_number[:3] + " ",
        "Chronic obstructive pulmonary disease",
        "Heart failure",
        "Urdu",
        "Needed – Urdu",
    ):
        assert text in banner, text


def test_no_banner_for_the_patient_or_a_carer(described, login):
    for who in ("owner", "carer_view"):
        body = login(described.users[who]).get(f"/patients/{described.a.id}/plan")
        assert BANNER not in body.get_data(as_text=True)


def test_the_banner_says_when_nothing_is_recorded(db, cast, login):
    body = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/plan")
    banner = body.get_data(as_text=True).split(BANNER, 1)[1].split("</dl>", 1)[0]
    assert "None recorded" in banner and "Not needed" in banner


def test_age_counts_whole_years(db, cast):
    cast.a.date_of_birth = date(2000, 2, 29)
    assert cast.a.age_on(date(2001, 2, 28)) == 0
    assert cast.a.age_on(date(2001, 3, 1)) == 1
    assert cast.a.age_on(date(2026, 12, 7)) == 26
