"""The care plan document: only the agreed plan, UK Core shaped, stable and correct codes."""

import pytest
from sqlalchemy import select

from portal.models import CrisisStep, Goal
from portal.portability.fhir_export import DocumentBuilder


def test_debug(app, cast):
    with app.test_request_context():
        doc = DocumentBuilder(cast.plan_a).build()
        from fhir.resources.R4B.bundle import Bundle
        try:
            Bundle.model_validate(doc)
        except Exception as e:
            print(str(e)[:3000])
            raise
