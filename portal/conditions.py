"""Long-term conditions from Appendix 1 of the commissioning specification, with SNOMED CT codes.

This list is the one source of the ``conditions`` table (loaded by the initial migration).
"""

from typing import NamedTuple

from flask_babel import lazy_gettext as _l


class ConditionRow(NamedTuple):
    code: str
    name: str
    label: object  # lazy translated name for display


CONDITIONS: tuple[ConditionRow, ...] = (
    ConditionRow("195967001", "Asthma", _l("Asthma")),
    ConditionRow("363346000", "Cancer", _l("Cancer")),
    ConditionRow("709044004", "Chronic kidney disease", _l("Chronic kidney disease")),
    ConditionRow(
        "13645005",
        "Chronic obstructive pulmonary disease",
        _l("Chronic obstructive pulmonary disease"),
    ),
    ConditionRow("53741008", "Coronary heart disease", _l("Coronary heart disease")),
    ConditionRow("52448006", "Dementia", _l("Dementia")),
    ConditionRow("35489007", "Depression", _l("Depression")),
    ConditionRow("73211009", "Diabetes", _l("Diabetes")),
    ConditionRow("84757009", "Epilepsy", _l("Epilepsy")),
    ConditionRow("84114007", "Heart failure", _l("Heart failure")),
    ConditionRow("38341003", "Hypertension", _l("Hypertension")),
    ConditionRow("24700007", "Multiple sclerosis", _l("Multiple sclerosis")),
    ConditionRow("928000", "Musculoskeletal conditions", _l("Musculoskeletal conditions")),
    ConditionRow("49049000", "Parkinson's disease", _l("Parkinson's disease")),
    ConditionRow("58214004", "Schizophrenia", _l("Schizophrenia")),
    ConditionRow(
        "230690007",
        "Stroke and transient ischaemic attack",
        _l("Stroke and transient ischaemic attack"),
    ),
)

BY_CODE = {row.code: row for row in CONDITIONS}


def label_for(code: str) -> object:
    row = BY_CODE.get(code)
    return row.label if row else code


# Common SNOMED CT descendants of the Appendix 1 concepts, as GP systems often code them: each
# counts as the Appendix 1 condition it falls under. Add codes here as practices need them.
DESCENDANTS: dict[str, str] = {
    # Diabetes: type 1, type 2
    "46635009": "73211009",
    "44054006": "73211009",
    # Asthma: allergic asthma
    "389145006": "195967001",
    # COPD: pulmonary emphysema, chronic bronchitis
    "87433001": "13645005",
    "63480004": "13645005",
    # Heart failure: congestive, left ventricular, right
    "42343007": "84114007",
    "85232009": "84114007",
    "367363000": "84114007",
    # Hypertension: essential, secondary
    "59621000": "38341003",
    "31992008": "38341003",
    # Chronic kidney disease stages 1 to 5
    "431855005": "709044004",
    "431856006": "709044004",
    "433144002": "709044004",
    "431857002": "709044004",
    "433146000": "709044004",
    # Dementia: Alzheimer's disease, vascular, Lewy body, frontotemporal
    "26929004": "52448006",
    "429998004": "52448006",
    "312991009": "52448006",
    "230270009": "52448006",
    # Coronary heart disease: angina pectoris, myocardial infarction, old myocardial infarction
    "194828000": "53741008",
    "22298006": "53741008",
    "1755008": "53741008",
    # Stroke and TIA: transient ischaemic attack, cerebral infarction
    "266257000": "230690007",
    "432504007": "230690007",
    # Depression: major depressive disorder
    "370143000": "35489007",
    # Multiple sclerosis: relapsing-remitting
    "426373005": "24700007",
    # Schizophrenia: paranoid
    "35252006": "58214004",
    # Musculoskeletal: rheumatoid arthritis, osteoarthritis, osteoporosis
    "69896004": "928000",
    "396275006": "928000",
    "64859006": "928000",
}


def appendix_code(code: str) -> str | None:
    """The Appendix 1 condition a SNOMED CT code stands for, or None when it is not known."""
    code = code.strip()
    if code in BY_CODE:
        return code
    return DESCENDANTS.get(code)
