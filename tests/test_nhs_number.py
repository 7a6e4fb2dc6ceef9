import pytest

from portal.nhs_number import formatted, is_valid


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "9434765870"])
def test_valid_numbers(value):
    assert is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "9434765918",  # wrong check digit
        "943476591",  # too short
        "94347659190",  # too long
        "",
        "abcdefghij",
        "١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits are not NHS numbers
        "1000000010",  # check digit would be 10: never issued
    ],
)
def test_invalid_numbers(value):
    assert not is_valid(value)


def test_formatted_groups_three_three_four():
    assert formatted("9434765919") == "943 476 5919"


def test_synthetic_numbers_are_valid_and_distinct():
    from portal.nhs_number import synthetic

    numbers = [synthetic(n) for n in range(500)]
    assert all(is_valid(number) for number in numbers)
    assert len(set(numbers)) == len(numbers)
