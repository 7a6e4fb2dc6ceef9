"""The main journeys, clicked and typed as a person would, with screenshots of key pages.

Each journey is a small function: start from ``page`` (a fresh browser, not signed in), sign
in with ``harness.sign_in``, use accessible locators (``get_by_role``, ``get_by_label``),
check what the person would see, ``harness.screenshot`` the pages worth looking at, and end
with ``assert harness.console_errors(page) == []`` and ``harness.assert_accessible(page)``
where a page state is new (an error message, an expanded section).
"""

import csv
import re
from datetime import date

from babel.dates import format_date
from playwright.sync_api import expect

from tests.browser import harness

RTL_LOCALES = [code for code in ("ur", "ar") if code in harness.LOCALES]


def test_patient_reviews_plan_switches_language_and_signs_out(page, portal_server):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    harness.screenshot(page, "patient-01-sign-in")
    harness.sign_in(page, "patient")

    expect(page.get_by_role("heading", level=1, name="My care plan")).to_be_visible()
    review = portal_server.demo.margaret_next_review
    card = page.locator(".portal-glance")
    expect(card.get_by_role("heading", name="Your plan at a glance")).to_be_visible()
    expect(card).to_contain_text("Your review meeting is on")
    expect(card).to_contain_text(format_date(review, "MMMM", locale="en"))
    expect(card).to_contain_text(str(review.year))
    for section in (
        "If things get worse",
        "Named contact",
        "My goals",
        "My wishes and preferences",
        "About me: my whole life, not just my conditions",
    ):
        expect(page.get_by_role("heading", level=2, name=section)).to_be_visible()
    expect(
        page.get_by_role("heading", name="Walk to the corner shop and back twice a week")
    ).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("See the full crisis plan"))).to_be_visible()
    harness.screenshot(page, "patient-02-plan")

    switcher = page.get_by_role("form", name="Language")
    offered = switcher.get_by_role("combobox", name="Language").locator("option")
    expect(offered).to_have_count(len(harness.LOCALES))
    other = (RTL_LOCALES or [c for c in harness.LOCALES if c != "en"] or [None])[0]
    if other:
        switcher.get_by_role("combobox", name="Language").select_option(other)
        switcher.get_by_role("button", name="Change language").click()
        html = page.locator("html")
        expect(html).to_have_attribute("lang", other.replace("_", "-"))
        expect(page).to_have_url(re.compile(rf"/patients/{portal_server.demo.margaret}/plan$"))
        if other in RTL_LOCALES:
            expect(html).to_have_attribute("dir", "rtl")
        harness.screenshot(page, f"patient-03-plan-{other}")
        harness.switch_language(page, "en")
        expect(page.locator("html")).to_have_attribute("dir", "ltr")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    harness.screenshot(page, "patient-04-signed-out")
    page.go_back()
    expect(page.get_by_role("heading", level=1, name="My care plan")).to_have_count(0)
    assert harness.console_errors(page) == []


def test_carer_reaches_the_crisis_page_in_one_tap(page):
    harness.sign_in(page, "carer")
    expect(page.get_by_role("heading", level=1, name="People you care for")).to_be_visible()
    harness.screenshot(page, "carer-01-home")

    page.get_by_role("link", name="Crisis plan for Margaret").click()  # the one tap

    expect(
        page.get_by_role("heading", level=1, name="Crisis plan for Margaret Hughes")
    ).to_be_visible()
    calls = page.locator('a[href^="tel:"]')
    expect(calls.first).to_have_attribute("href", "tel:999")
    expect(page.get_by_role("link", name=re.compile("Call David Hughes"))).to_have_attribute(
        "href", "tel:+447700900123"
    )
    # After the practice closes the page also offers 111 beside the usual contact.
    expect(page.get_by_role("link", name=re.compile("Call NHS 111")).first).to_have_attribute(
        "href", "tel:111"
    )
    assert calls.count() >= 5  # 999 and the four demo contacts
    for heading in ("Signs to look for", "What to do", "Usual state of health"):
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    expect(page.get_by_text("Penicillin (rash).")).to_be_visible()
    harness.screenshot(page, "carer-02-crisis")
    assert harness.console_errors(page) == []


def test_professional_sees_their_patients_and_opens_a_plan(page):
    harness.sign_in(page, "professional")  # answers a security-code step if one is asked
    expect(page.get_by_role("heading", level=1, name="Your patients")).to_be_visible()
    harness.screenshot(page, "professional-01-patients")
    page.get_by_label("Search by name, NHS number or date of birth").fill("Khan")
    page.get_by_role("button", name="Search").click()
    patients = page.get_by_role("table", name="Your patients")
    expect(patients.get_by_role("link", name="Arif Khan", exact=True)).to_be_visible()
    page.get_by_label("Search by name, NHS number or date of birth").fill("hughes")
    page.get_by_role("button", name="Search").click()
    expect(patients.get_by_role("link", name="Margaret Hughes", exact=True)).to_be_visible()

    patients.get_by_role("link", name="Margaret Hughes", exact=True).click()
    expect(
        page.get_by_role("heading", level=1, name="Care plan for Margaret Hughes")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Goals", exact=True)).to_be_visible()
    harness.screenshot(page, "professional-02-plan")
    assert harness.console_errors(page) == []


def test_commissioner_sees_their_home_page_and_nobody_s_plan(page):
    harness.sign_in(page, "commissioner")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    body = page.locator("main")
    for someone in ("Margaret", "Hughes", "Arif", "Khan", "943 476"):
        expect(body).not_to_contain_text(someone)
    harness.screenshot(page, "commissioner-01-home")
    assert harness.console_errors(page) == []


def test_commissioner_reads_a_month_s_report_and_downloads_it(page, tmp_path):
    harness.sign_in(page, "commissioner")  # two-step verification, answered with the demo key
    page.get_by_role("link", name="Care planning report").click()
    expect(page.get_by_role("heading", level=1, name="Care planning report")).to_be_visible()

    first_of_month = date.today().replace(day=1)
    month = first_of_month.replace(  # three months ago
        year=first_of_month.year - (first_of_month.month <= 3),
        month=(first_of_month.month - 4) % 12 + 1,
    )
    page.get_by_label("Month", exact=True).fill(month.strftime("%Y-%m"))
    page.get_by_label("Organisation").select_option(label="Riverside Medical Practice")
    page.get_by_role("button", name="Show report").click()

    month_name = format_date(month, "MMMM yyyy", locale="en_GB")
    expect(
        page.get_by_role("heading", level=2, name=f"{month_name}: Riverside Medical Practice")
    ).to_be_visible()
    expect(page.get_by_label("Month", exact=True)).to_have_value(month.strftime("%Y-%m"))
    figures = page.locator(".nhsuk-summary-list").first

    def figure(name: str):
        row = figures.locator(".nhsuk-summary-list__row").filter(
            has=page.get_by_role("term").filter(has_text=name)
        )
        return row.get_by_role("definition")

    # The demo practice has brought in its register: every figure divides by it, and the
    # demo register is large enough for real figures (counts rounded to the nearest 5).
    expect(page.locator("#denominator")).to_contain_text(
        "people who have left a register are not counted"
    )
    expect(figure("On the register")).to_have_text(re.compile(r"^\d[\d,]*[05]$"))
    expect(figure("With a care plan that meets the requirements")).to_have_text(
        re.compile(r"^\d*[05]$")
    )
    expect(figure("Share with such a plan")).to_have_text(re.compile(r"^\d+\.\d%$"))
    # The trajectory is held at 90% from March 2012.
    expect(figure(f"Trajectory target for {month_name}")).to_have_text(re.compile(r"^\s*90\.00%"))
    expect(figure("Against the target")).to_have_text(
        re.compile(r"(On|Below) target \d+\.\d percentage points (above|below)")
    )

    chart_name = "Share of people with a plan that meets the requirements, by month, against"
    chart = page.get_by_role("img", name=f"{chart_name} the trajectory")
    expect(chart).to_be_visible()
    expect(chart).to_have_accessible_description(
        "The same figures are in the table beside the chart."
    )
    table = page.get_by_role("table", name="Uptake by month")
    expect(table.get_by_role("columnheader")).to_have_text(["Month", "Share", "Target"])
    months = table.get_by_role("rowheader")
    # British English abbreviates September as "Sept", as the page does
    expect(months.last).to_have_text(format_date(month, "MMM yyyy", locale="en_GB"))
    assert months.count() > 1
    harness.screenshot(page, "commissioner-02-report")
    harness.assert_accessible(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these figures (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"care-planning-{month:%Y-%m}-organisation-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as sheet:
        rows = list(csv.reader(sheet))
    assert rows[0] == [
        "month",
        "organisation",
        "section",
        "group_code",
        "group",
        "measure",
        "value",
    ]
    summary = {row[5]: row[6] for row in rows[1:] if row[2] == "summary"}
    assert rows[1][:2] == [month.strftime("%Y-%m"), "Riverside Medical Practice"]
    assert summary["target"] == "90.00"
    assert harness.console_errors(page) == []


def test_sign_in_errors_are_summarised_and_linked_to_the_fields(page):
    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in").click()
    summary = page.get_by_role("heading", name="There is a problem")
    expect(summary).to_be_visible()
    expect(page).to_have_title(re.compile("^Error:"))
    page.get_by_role("link", name="Enter your email address").click()
    expect(page.get_by_label("Email address")).to_be_focused()
    harness.screenshot(page, "sign-in-errors")
    harness.assert_accessible(page)

    page.get_by_label("Email address").fill(harness.ACCOUNTS["patient"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("link", name="Enter a correct email address and password")
    ).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value(harness.ACCOUNTS["patient"])
    harness.assert_accessible(page)
