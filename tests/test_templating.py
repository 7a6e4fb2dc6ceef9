import pytest

from portal.models import Goal


def test_own_words_carry_their_language_on_plan_and_crisis_pages(db, cast, login):
    """Text written in another language is marked with it (macros reach ``lang_attr``)."""
    db.session.add(
        Goal(plan_id=cast.plan_a.id, title="Walk", why_it_matters="ہر روز", language="ur")
    )
    for step in cast.plan_a.crisis_steps:
        step.language = "cy"
    db.session.commit()
    client = login(cast.users["owner"])
    plan = client.get(f"/patients/{cast.a.id}/plan")
    assert plan.status_code == 200
    assert '<p class="portal-own-words" dir="auto" lang="ur">ہر روز</p>' in plan.get_data(
        as_text=True
    )
    crisis = client.get(f"/patients/{cast.a.id}/crisis")
    assert crisis.status_code == 200
    assert 'class="portal-own-words" dir="auto" lang="cy"' in crisis.get_data(as_text=True)

# Rendered text and layout only: the same on every database, so checked on SQLite alone.
pytestmark = pytest.mark.rendering
