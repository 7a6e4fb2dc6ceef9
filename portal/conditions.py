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
