"""Bringing in a practice's register: good rows, bad rows, hostile files, transfers, leavers."""

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from portal import nhs_number
from portal.extensions import db
from portal.models import AuditEvent, Patient, RegisterEntry, Role
from portal.permissions import Action, can
from portal.register.csvfile import FileProblem
from portal.register.importer import run_import
from portal.register.rows import parse_date
from tests.factories import make_org, make_patient, make_user
from tests.support import changed_tables, snapshot

TODAY = date(2026, 12, 7)
HEADER = "nhs_number,given_name,family_name,date_of_birth,sex,registered_on,conditions"


def nhs(n: int) -> str:
    return nhs_number.synthetic(n, start=800_000_000)


def row(n: int, given="Ann", family=None, born="1950-01-01", sex="F", registered="2010-01-01",
        conditions="73211009", extra="") -> str:
    family = family or f"Person{n}"
    line = f"{nhs(n)},{given},{family},{born},{sex},{registered},{conditions}"
    return line + extra


def csv_bytes(*rows: str, header: str = HEADER, encoding="utf-8", newline="\n") -> bytes:
    return (newline.join([header, *rows]) + newline).encode(encoding)


def do_import(org, data: bytes, **kw):
    return run_import(io.BytesIO(data), org, today=TODAY, **kw)


def patient(n: int) -> Patient | None:
    return db.session.scalar(select(Patient).where(Patient.nhs_number == nhs(n)))


def reasons(outcome) -> dict[int, str]:
    return {r.line: str(r.reason) for r in outcome.rejections}


def test_good_file_adds_everyone_with_their_conditions(db, english):
    org = make_org()
    data = csv_bytes(row(1), row(2, conditions="44054006;13645005"), row(3, given="Zoë"))
    outcome = do_import(org, data)
    assert (outcome.rows, outcome.new, outcome.rejected) == (3, 3, 0)
    second = patient(2)
    assert second.organisation_id == org.id
    # Type 2 diabetes counts as diabetes (Appendix 1); COPD as itself.
    assert sorted(c.code for c in second.conditions) == ["13645005", "73211009"]
    assert patient(3).given_name == "Zoë"
    assert second.care_team_consent is True  # the practice care team may see the plan
    entry = db.session.get(RegisterEntry, second.id)
    assert entry.registered_on == date(2010, 1, 1) and entry.left_on is None
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("register.added") == 3 and "register.import" in actions


def test_headers_in_any_case_tab_separated_bom_and_date_formats(db, english):
    org = make_org()
    header = HEADER.upper().replace(",", "\t") + "\tPreferred_Language\tInterpreter_Needed"
    rows = [
        "\t".join([nhs(1), "A", "B", "14/03/1946", "female", "01-Mar-2001", "73211009", "ur", "Y"]),
        "\t".join([nhs(2), "C", "D", "1946-03-14", "m", "2001-03-01", "38341003", "", ""]),
    ]
    data = b"\xef\xbb\xbf" + csv_bytes(*rows, header=header, newline="\r\n")
    outcome = do_import(org, data)
    assert (outcome.new, outcome.rejected) == (2, 0)
    first = patient(1)
    assert first.date_of_birth == date(1946, 3, 14)
    assert (first.preferred_language, first.interpreter_needed) == ("ur", True)
    assert db.session.get(RegisterEntry, first.id).registered_on == date(2001, 3, 1)
    assert patient(2).sex == "male"


def test_windows_1252_names_are_read(db, english):
    org = make_org()
    data = csv_bytes(row(1, given="José", family="O’Brien"), encoding="cp1252")
    outcome = do_import(org, data)
    assert outcome.new == 1
    assert patient(1).full_name == "José O’Brien"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (row(1).replace(nhs(1), "9434765918"), "not a valid NHS number"),
        (row(1).replace(nhs(1), ""), "nhs_number is empty"),
        (row(1, born="31/02/1950"), "date_of_birth is not a real date"),
        (row(1, born="2030-01-01"), "date_of_birth is in the future"),
        (row(1, born="1890-01-01"), "more than 120 years ago"),
        (row(1, registered="1940-01-01"), "registered_on is before the date of birth"),
        (row(1, sex="x"), "sex must be"),
        (row(1, given=""), "given_name is empty"),
        (row(1, family="x" * 101), "longer than 100 characters"),
        (row(1, conditions="73211009;999999999"), "condition code 999999999 is not a known"),
        (row(1, conditions=""), "conditions is empty"),
        (row(1, conditions="drop table"), "condition code drop table is not"),
        (row(1) + ",extra", "more values than the first row has columns"),
    ],
)
def test_a_bad_row_is_rejected_with_its_reason_and_good_rows_still_go_in(db, english, line, reason):
    org = make_org()
    outcome = do_import(org, csv_bytes(row(5), line, row(6)))
    assert outcome.new == 2
    assert reason in reasons(outcome)[3]
    assert patient(5) and patient(6)


def test_duplicates_in_the_file_are_rejected_after_the_first(db, english):
    org = make_org()
    outcome = do_import(org, csv_bytes(row(1), row(2), row(1, given="Again")))
    assert outcome.new == 2
    assert reasons(outcome) == {4: "The NHS number is already on line 2"}
    assert patient(1).given_name == "Ann"


def test_names_are_stored_as_given_even_when_they_look_like_formulas(db, english):
    org = make_org()
    hostile = "=cmd|' /C calc'!A0"
    outcome = do_import(org, csv_bytes(row(1, given=f'"{hostile}"', family="<b>Bold</b>")))
    assert outcome.new == 1
    assert (patient(1).given_name, patient(1).family_name) == (hostile, "<b>Bold</b>")


def test_optional_columns_are_checked(db, english):
    org = make_org()
    header = HEADER + ",email,mobile,postcode,ethnicity,existing_plan_reviewed_on"
    good = row(1, extra=",a@example.org,07700 900123,ls1 4ap,J,2026-01-05")
    bad = [
        row(2, extra=",not-an-email,,,,"),
        row(3, extra=",,12,,,"),
        row(4, extra=",,,NOWHERE,,"),
        row(5, extra=",,,,Q,"),
        row(6, extra=",,,,,2027-01-01"),
    ]
    outcome = do_import(org, csv_bytes(good, *bad, header=header))
    assert outcome.new == 1
    assert sorted(reasons(outcome)) == [3, 4, 5, 6, 7]
    entry = db.session.get(RegisterEntry, patient(1).id)
    assert (entry.email, entry.postcode) == ("a@example.org", "LS1 4AP")
    assert entry.existing_plan_reviewed_on == date(2026, 1, 5)
    assert patient(1).ethnicity_category == "asian_pakistani"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        ("nhs_number,given_name\n".encode("utf-16"), "saved as UTF-16"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), "spreadsheet file"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)), "not a CSV file"),
        (",".join(f"c{i}" for i in range(1000)).encode() + b"\n1,2\n", "has 1000 columns"),
        (b"nhs_number,given_name\n1,2\n", "These are missing: family_name"),
        (b"nhs_number,NHS_number,given_name\n", "more than once: nhs_number"),
        (b"x" * (10 * 1024 * 1024) + b"\n", "first row is too long"),
    ],
)
def test_files_that_cannot_be_a_register_are_refused_whole(db, english, data, message):
    org = make_org()
    with pytest.raises(FileProblem) as refused:
        do_import(org, data)
    assert message in str(refused.value.message)


def test_a_10_mb_line_is_rejected_and_the_rest_imported(db, english):
    org = make_org()
    data = csv_bytes(row(1), "9" * (10 * 1024 * 1024), row(2))
    outcome = do_import(org, data)
    assert outcome.new == 2
    assert "too long" in reasons(outcome)[3]


def test_a_line_in_neither_encoding_is_rejected(db, english):
    org = make_org()
    data = csv_bytes(row(1, given="Zoë")) + row(2, given="Jos\xe9").encode("cp1252") + b"\n"
    outcome = do_import(org, data)
    assert outcome.new == 1
    assert "encoding" in reasons(outcome)[3]


def test_importing_the_same_file_again_changes_nothing(db, english):
    org = make_org()
    data = csv_bytes(row(1), row(2), row(3, conditions="46635009"))
    do_import(org, data)
    db.session.flush()
    before = snapshot()
    outcome = do_import(org, data)
    assert (outcome.new, outcome.updated, outcome.unchanged, outcome.left) == (0, 0, 3, 0)
    assert changed_tables(before, snapshot()) == []


def test_a_later_file_updates_what_changed_and_marks_leavers(db, english):
    org = make_org()
    do_import(org, csv_bytes(row(1), row(2), row(3)))
    later = csv_bytes(row(1), row(2, family="Married", conditions="84114007"), row(4))
    outcome = do_import(org, later)
    assert (outcome.new, outcome.updated, outcome.unchanged, outcome.left) == (1, 1, 1, 1)
    assert patient(2).family_name == "Married"
    assert [c.code for c in patient(2).conditions] == ["84114007"]
    leaver = patient(3)
    assert leaver is not None  # never deleted
    assert db.session.get(RegisterEntry, leaver.id).left_on == TODAY
    left_events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "register.left")
    ).all()
    assert [e.patient_id for e in left_events] == [leaver.id]
    # Back on a later register: on it again.
    outcome = do_import(org, csv_bytes(row(1), row(2, family="Married", conditions="84114007"),
                                       row(3), row(4)))
    assert (outcome.updated, outcome.left) == (1, 0)
    assert db.session.get(RegisterEntry, leaver.id).left_on is None


def test_a_rejected_row_does_not_make_its_person_a_leaver(db, english):
    org = make_org()
    do_import(org, csv_bytes(row(1), row(2)))
    outcome = do_import(org, csv_bytes(row(1), row(2, born="not a date")))
    assert (outcome.left, outcome.rejected) == (0, 1)
    assert db.session.get(RegisterEntry, patient(2).id).left_on is None


def test_a_person_from_another_practice_moves_with_their_record(db, english):
    old, new = make_org(), make_org()
    existing = make_patient(old, nhs_number=nhs(1))
    do_import(old, csv_bytes(row(1), row(2)))
    outcome = do_import(new, csv_bytes(row(1)))
    assert (outcome.updated, outcome.transferred, outcome.left) == (1, 1, 0)
    db.session.refresh(existing)
    assert existing.organisation_id == new.id
    assert existing.user_id is not None  # the account and plan stay with the person
    events = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.patient_id == existing.id)
    ).all()
    assert "register.transferred_out" in events and "register.transferred_in" in events
    # The old practice's staff lose the plan; the new practice's staff have it.
    before, after = make_user(Role.PROFESSIONAL, old), make_user(Role.PROFESSIONAL, new)
    assert not can(before, Action.VIEW_PLAN, existing)
    assert can(after, Action.VIEW_PLAN, existing)
    # The old practice's register no longer counts them; its next import does not either.
    assert do_import(old, csv_bytes(row(2))).left == 0


def test_the_cli_dry_run_changes_nothing_and_lists_rejections(app, db, tmp_path):
    org = make_org()
    db.session.commit()
    path = tmp_path / "register.csv"
    path.write_bytes(csv_bytes(row(1), row(2, born="soon")))
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["register-import", str(path), "--organisation", org.ods_code.lower(), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was changed." in result.output
    assert "new                  1" in result.output
    assert "line 3: date_of_birth is not a real date" in result.output
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 0
    result = runner.invoke(args=["register-import", str(path), "--organisation", org.ods_code])
    assert "Imported." in result.output
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 1


def test_the_cli_explains_a_refused_file(app, db, tmp_path):
    org = make_org()
    db.session.commit()
    path = tmp_path / "register.csv"
    path.write_bytes("a,b\n".encode("utf-16"))
    result = app.test_cli_runner().invoke(
        args=["register-import", str(path), "--organisation", org.ods_code]
    )
    assert result.exit_code == 1
    assert "saved as UTF-16" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-31", date(2024, 3, 31)),
        ("31/03/2024", date(2024, 3, 31)),
        ("31-mar-2024", date(2024, 3, 31)),
        ("31-Mär-2024", None),
        ("2024-02-30", None),
        ("03/31/2024", None),
        ("٣١/٠٣/٢٠٢٤", None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_the_nhs_number_status_is_taken_from_the_register(db, english):
    org = make_org()
    header = HEADER + ",nhs_number_status"
    rows = [row(1, extra=",01"), row(2, extra=",Trace required"), row(3, extra=","),
            row(4, extra=",07"), row(5, extra=",5")]
    outcome = do_import(org, csv_bytes(*rows, header=header))
    assert outcome.new == 4
    assert reasons(outcome) == {
        5: "nhs_number_status is not an NHS number status code (01 to 06, or 08)"
    }
    statuses = [patient(n).nhs_number_status for n in (1, 2, 3, 5)]
    assert statuses == ["verified", "trace_required", "not_traced", "needs_resolving"]
    # A later file without the column keeps what the portal holds.
    do_import(org, csv_bytes(row(1, given="Anne")))
    assert patient(1).nhs_number_status == "verified"
