"""The register pages: upload, preview, confirm, rejected rows, one person added by hand."""

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Patient, RegisterEntry, RegisterImport, Role
from tests.factories import make_org, make_patient, make_user
from tests.test_register_import import HEADER, csv_bytes, nhs, row


@pytest.fixture
def uploads(app, monkeypatch, tmp_path):
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "REGISTER_UPLOAD_DIR", str(path))
    return path


@pytest.fixture
def practice(db):
    org = make_org("Riverside Surgery")
    admin = make_user(Role.PRACTICE_ADMIN, org)
    db.session.commit()
    return org, admin


def patients(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Patient))


def upload(client, data: bytes, name="register.csv"):
    """Upload, then open the page the upload leads to once its check has run (without a
    broker the job runs in the web process after the answer)."""
    answer = client.post(
        "/register/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    if answer.status_code != 302:
        return answer
    answer.close()
    return client.get(answer.headers["Location"])


def test_upload_previews_then_imports_only_when_confirmed(db, login, practice, uploads):
    org, admin = practice
    client = login(admin)
    data = csv_bytes(row(1), row(2), row(3, born="31/02/1950"))
    page = upload(client, data).get_data(as_text=True)
    assert "Nothing has changed yet" in page
    assert "date_of_birth is not a real date" in page
    assert patients(db) == 0
    record = db.session.scalars(select(RegisterImport)).one()
    assert (record.new, record.rejected, record.status) == (2, 1, "previewed")
    assert len(list(uploads.iterdir())) == 1

    answer = client.post(f"/register/imports/{record.id}/confirm")
    answer.close()
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The register is being imported." in page  # queued, then run by the worker
    assert "Imported" in page and "Nothing has changed yet" not in page
    assert patients(db) == 2
    assert list(uploads.iterdir()) == []  # the uploaded copy is not kept
    page = client.post(
        f"/register/imports/{record.id}/confirm", follow_redirects=True
    ).get_data(as_text=True)
    assert "no longer waiting" in page
    assert patients(db) == 2


def test_the_rejected_rows_download_is_safe_in_a_spreadsheet(db, login, practice, uploads):
    _org, admin = practice
    client = login(admin)
    upload(client, csv_bytes(row(1), row(2, given="=HYPERLINK(\"http://x\")", born="soon")))
    record = db.session.scalars(select(RegisterImport)).one()
    response = client.get(f"/register/imports/{record.id}/rejected.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["line", "problem", *HEADER.split(",")]
    assert rows[1][0] == "3"
    assert rows[1][3] == "'=HYPERLINK(\"http://x\")"  # read as text, never run
    assert rows[1][2] == nhs(2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("a,b\n".encode("utf-16"), "saved as UTF-16"),
        (b"\x00\x01\x02binary", "not a CSV file"),
        (b"", "The file is empty"),
    ],
)
def test_a_file_that_is_not_a_register_gets_a_clear_message(
    db, login, practice, uploads, data, message
):
    _org, admin = practice
    response = upload(login(admin), data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert list(uploads.iterdir()) == []


def test_a_register_larger_than_a_form_may_be_uploaded(db, login, practice, uploads):
    _org, admin = practice
    header = HEADER + ",notes"
    rows = [row(n, extra="," + "x" * 10_000) for n in range(1, 301)]  # about 3 MB
    response = upload(login(admin), csv_bytes(*rows, header=header))
    assert response.status_code == 200
    assert db.session.scalars(select(RegisterImport)).one().new == 300


def test_a_hostile_file_name_is_kept_as_text(db, login, practice, uploads):
    _org, admin = practice
    page = upload(login(admin), csv_bytes(row(1)), name="<b>reg\x00ister</b>.csv")
    assert page.status_code == 200
    assert "&lt;b&gt;register&lt;/b&gt;.csv" in page.get_data(as_text=True)


def test_no_file_is_asked_for_again(db, login, practice, uploads):
    _org, admin = practice
    page = login(admin).post("/register/import", data={}).get_data(as_text=True)
    assert "Choose the register file" in page


def test_names_are_shown_escaped_on_the_register(db, login, practice):
    org, admin = practice
    make_patient(org, given_name="<script>alert(1)</script>", family_name="Zed")
    from portal.models import RegisterEntry as Entry

    person = db.session.scalars(select(Patient).where(Patient.family_name == "Zed")).one()
    db.session.add(Entry(patient_id=person.id, registered_on=person.date_of_birth))
    db.session.commit()
    page = login(admin).get("/register/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def _person(**changes):
    data = {
        "nhs_number": nhs(40),
        "given_name": "Grace",
        "family_name": "Hopper",
        "date_of_birth-day": "9",
        "date_of_birth-month": "12",
        "date_of_birth-year": "1946",
        "sex": "female",
        "conditions": ["73211009", "38341003"],
        "registered_on-day": "1",
        "registered_on-month": "1",
        "registered_on-year": "2020",
    }
    data.update(changes)
    return data


def test_staff_add_one_patient_by_hand(db, login, practice):
    org, _admin = practice
    nurse = make_user(Role.PROFESSIONAL, org)
    db.session.commit()
    client = login(nurse)
    page = client.post("/register/patients/new", data=_person(), follow_redirects=True)
    assert "Grace has been added to the register." in page.get_data(as_text=True)
    person = db.session.scalars(select(Patient).where(Patient.nhs_number == nhs(40))).one()
    assert person.organisation_id == org.id
    assert sorted(c.code for c in person.conditions) == ["38341003", "73211009"]
    assert db.session.get(RegisterEntry, person.id).left_on is None
    again = client.post("/register/patients/new", data=_person()).get_data(as_text=True)
    assert "already on your register" in again


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nhs_number": "9434765918"}, "Enter a valid 10-digit NHS number"),
        ({"nhs_number": "x" * 5000}, "Enter a valid 10-digit NHS number"),
        ({"date_of_birth-year": "2999"}, "Date of birth must be a real date in the past"),
        ({"conditions": []}, "Select at least one long-term condition"),
        ({"conditions": ["not-a-code"]}, "Select long-term conditions from the list"),
        ({"sex": "<b>"}, "Select their sex"),
        ({"given_name": ""}, "Enter their given name"),
    ],
)
def test_a_patient_added_by_hand_is_checked(db, login, practice, changes, message):
    _org, admin = practice
    page = login(admin).post("/register/patients/new", data=_person(**changes))
    assert message in page.get_data(as_text=True)
    assert patients(db) == 0


def test_the_same_nhs_number_with_another_date_of_birth_is_refused(db, login, practice):
    org, admin = practice
    make_patient(make_org(), nhs_number=nhs(40), date_of_birth=date(1950, 1, 1))
    db.session.commit()
    page = login(admin).post("/register/patients/new", data=_person()).get_data(as_text=True)
    assert "different date of birth" in page
    assert db.session.scalars(
        select(Patient.organisation_id).where(Patient.nhs_number == nhs(40))
    ).one() != org.id


def test_looking_at_a_register_record_is_audited_for_the_patient(db, login, practice):
    org, admin = practice
    person = make_patient(org)
    db.session.commit()
    assert login(admin).get(f"/register/patients/{person.id}").status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.patient_id == person.id)).one()
    assert (event.action, event.actor_id) == ("register.view", admin.id)


def test_the_file_is_checked_and_imported_by_the_job_queue_not_the_request(
    db, login, practice, uploads, monkeypatch
):
    from portal import jobs
    from portal.register import services

    monkeypatch.setattr(jobs, "run_due", lambda: 0)  # as with a broker: not in the request
    _org, admin = practice
    client = login(admin)
    page = upload(client, csv_bytes(row(1), row(2))).get_data(as_text=True)
    record = db.session.scalars(select(RegisterImport)).one()
    assert record.status == "checking" and record.rows == 0  # nothing read in the request
    assert "The file is being checked" in page and "See how far it has got" in page
    assert client.post(f"/register/imports/{record.id}/confirm").status_code == 302
    assert patients(db) == 0  # not confirmable before the check has run

    services.check(record.id)  # what the worker runs
    db.session.refresh(record)
    assert (record.status, record.new) == ("previewed", 2) and patients(db) == 0
    client.post(f"/register/imports/{record.id}/confirm")
    client.post(f"/register/imports/{record.id}/confirm")  # a double click imports once
    db.session.refresh(record)
    assert record.status == "importing" and patients(db) == 0
    services.run(record.id, admin.id)
    db.session.refresh(record)
    assert record.status == "completed" and patients(db) == 2
