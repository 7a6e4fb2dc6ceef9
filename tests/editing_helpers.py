"""Helpers for tests of pages where patients and carers propose changes to the plan."""

import re

from tests.conftest import sign_in
from tests.factories import CAST_KEYS

EVERYONE = CAST_KEYS

# Who may propose changes to patient A's plan: the patient and a carer with contribute scope.
PROPOSERS = {"owner", "carer_contribute"}
# Who may write the plan's sections: those who propose, and the care team with the patient.
WRITERS = PROPOSERS | {"professional"}
# A professional's save "agreed with the patient now", read back and confirmed (hazard H14):
# what a form posts from the read-back page. Others' forms ignore these fields.
IN_CLINIC = {"recorded_as": "agreed", "read_back": "confirm", "patient_agrees": "y"}


def expected_status(who: str, method: str, allowed=PROPOSERS) -> int:
    """Page shown (GET), saved and redirected (POST), sign-in redirect, or 404 to everyone else."""
    if who == "anonymous":
        return 302
    if who in allowed:
        return 200 if method == "GET" else 302
    return 404


def check_matrix_response(
    response, who: str, method: str, saved_location: str, allowed=PROPOSERS
) -> None:
    assert response.status_code == expected_status(who, method, allowed)
    if response.status_code == 302:
        target = "/sign-in" if who == "anonymous" else saved_location
        assert response.headers["Location"].startswith(target)


def hidden_value(body: str, name: str) -> str:
    """The value of a hidden form field in a page."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', body) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', body
    )
    assert match, f"no hidden field {name}"
    return match.group(1)


def second_client(app, user):
    """Another browser, signed in separately, for two people editing at once."""
    client = app.test_client()
    sign_in(client, user)
    return client
