"""The demo data loads once, and every demo account can use its pages without an error."""

import pytest
from sqlalchemy import func, select

from portal.demo import ACCOUNTS, load_demo_data
from portal.models import Patient, User


def _by_email(db, email):
    return db.session.scalars(select(User).where(User.email == email)).one()


def test_demo_data_is_idempotent(db):
    assert load_demo_data() is True
    counts = db.session.scalar(select(func.count(User.id)))
    assert load_demo_data() is False
    assert db.session.scalar(select(func.count(User.id))) == counts


def test_every_demo_account_reaches_its_pages(db, login):
    load_demo_data()
    patients = db.session.scalars(select(Patient)).all()
    for key, email in ACCOUNTS.items():
        client = login(_by_email(db, email))
        response = client.get("/", follow_redirects=True)
        assert response.status_code == 200, key
        assert client.get("/account/").status_code == 200, key
        for patient in patients:
            for path in (f"/patients/{patient.id}/plan", f"/patients/{patient.id}/crisis"):
                assert client.get(path).status_code in (200, 404), (key, path)
    register = login(_by_email(db, ACCOUNTS["practice_admin"])).get("/register/?q=Hughes")
    assert "Hughes" in register.get_data(as_text=True)  # the register screens have people


def test_demo_patient_sees_their_plan_in_full(db, login):
    load_demo_data()
    client = login(_by_email(db, ACCOUNTS["patient"]))
    body = client.get("/", follow_redirects=True).get_data(as_text=True)
    for text in ("Walk to the corner shop", "Priya Shah", "Practice nurse", "Ring 999"):
        assert text in body
    arif = login(_by_email(db, ACCOUNTS["patient_urdu"]))
    body = arif.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'lang="ur"' in body


def test_the_demo_data_command_lists_every_demo_account(db, app):
    output = app.test_cli_runner().invoke(args=["demo-data"]).output
    for email in ACCOUNTS.values():
        assert email in output
    marked = [line for line in output.splitlines() if "(two-step verification)" in line]
    for user in db.session.scalars(select(User).where(User.email.in_(ACCOUNTS.values()))):
        if user.is_staff:  # every staff account says it needs a code
            assert any(user.email in line for line in marked), user.email


@pytest.mark.usefixtures("english")
def test_the_demo_report_shows_figures_against_the_registers(db, login):
    """The demo registers are large enough that the commissioner sees figures, not stars."""
    from datetime import date

    from portal.reports.register import register_figures
    from portal.reports.services import add_months, monthly_report

    load_demo_data()
    last_month = add_months(date.today().replace(day=1), -1)
    report = monthly_report(last_month)
    assert report.denominator == "register"
    assert report.people >= 100 and report.percent is not None
    assert all(point.people for point in report.series)
    total = register_figures(report.as_of)[0]
    for figure in ("on_register", "offered", "accepted", "declined", "baseline", "compliant"):
        assert getattr(total, figure), figure
    commissioner = _by_email(db, ACCOUNTS["commissioner"])
    page = login(commissioner).get("/reports").get_data(as_text=True)
    assert "people who have left a register are not counted" in page
