"""Conversations with the care team: access, starting, replying, closing, the team inbox."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.conversations import services
from portal.models import AuditEvent, Conversation, Message, ReviewMeeting, Role
from portal.models.base import utcnow
from tests.factories import CAST_KEYS, make_user

READERS = {"owner", "carer_contribute", "professional"}
WRITERS = READERS
MANAGERS = {"professional"}


def _start(client, patient_id, **fields):
    data = {"about": "", "subject": "My inhaler", "message": "Should I use it before walks?"}
    data.update(fields)
    return client.post(f"/patients/{patient_id}/conversations/new", data=data)


def _conversation(db, cast, user=None, subject="Breathing") -> Conversation:
    from portal.permissions import Relation

    conversation = services.start(
        cast.a, user or cast.a.user, Relation.OWNER, subject, "A question", None, "en"
    )
    db.session.commit()
    return conversation


def _expected(who, allowed, ok=200):
    if who == "anonymous":
        return 302
    return ok if who in allowed else 404


@pytest.mark.parametrize("who", CAST_KEYS)
def test_who_can_read_the_conversations(db, cast, request_as, who):
    conversation = _conversation(db, cast)
    base = f"/patients/{cast.a.id}/conversations"
    for url in (base, f"{base}/{conversation.id}"):
        assert request_as(cast.users[who], "GET", url).status_code == _expected(who, READERS)


@pytest.mark.parametrize("who", CAST_KEYS)
def test_who_can_start_a_conversation(db, cast, request_as, who):
    url = f"/patients/{cast.a.id}/conversations/new"
    data = {"about": "", "subject": "Hello", "message": "A question"}
    response = request_as(cast.users[who], "POST", url, data=data)
    assert response.status_code == _expected(who, WRITERS, ok=302)
    started = db.session.scalars(select(Conversation)).all()
    assert len(started) == (1 if who in WRITERS else 0)


@pytest.mark.parametrize("who", CAST_KEYS)
def test_who_can_reply(db, cast, request_as, who):
    conversation = _conversation(db, cast)
    url = f"/patients/{cast.a.id}/conversations/{conversation.id}"
    response = request_as(cast.users[who], "POST", url, data={"message": "Reply"})
    assert response.status_code == _expected(who, WRITERS, ok=302)
    count = len(db.session.scalars(select(Message)).all())
    assert count == (2 if who in WRITERS else 1)


@pytest.mark.parametrize("who", CAST_KEYS)
@pytest.mark.parametrize("action", ["close", "urgent", "routine", "take-on"])
def test_only_the_care_team_manages_a_conversation(db, cast, request_as, who, action):
    conversation = _conversation(db, cast)
    url = f"/patients/{cast.a.id}/conversations/{conversation.id}/{action}"
    response = request_as(cast.users[who], "POST", url, data={"outcome": "Sorted"})
    assert response.status_code == _expected(who, MANAGERS, ok=302)


def test_another_patients_conversation_id_is_not_found(db, cast, login):
    conversation = _conversation(db, cast)
    client = login(cast.b.user)
    assert client.get(f"/patients/{cast.b.id}/conversations/{conversation.id}").status_code == 404
    reply = client.post(
        f"/patients/{cast.b.id}/conversations/{conversation.id}", data={"message": "Hi"}
    )
    assert reply.status_code == 404


def test_inbox_only_for_professionals(db, cast, request_as):
    _conversation(db, cast)
    for who in CAST_KEYS:
        response = request_as(cast.users[who], "GET", "/conversations")
        expected = 302 if who == "anonymous" else (200 if "professional" in who else 404)
        assert response.status_code == expected, who
    other = request_as(cast.users["professional_other_org"], "GET", "/conversations")
    assert "Breathing" not in other.text  # another organisation's nurse sees none of it
    own = request_as(cast.users["professional"], "GET", "/conversations")
    assert "Breathing" in own.text


def test_patient_starts_about_a_goal_and_the_goal_shows_it(db, cast, login):
    client = login(cast.a.user)
    goal = cast.plan_a.goals[0]
    form = client.get(f"/patients/{cast.a.id}/conversations/new?about=goal-{goal.id}")
    assert f'<option selected value="goal-{goal.id}">' in form.text
    response = _start(client, cast.a.id, about=f"goal-{goal.id}")
    assert response.status_code == 302
    conversation = db.session.scalars(select(Conversation)).one()
    assert (conversation.about_kind, conversation.about_id) == ("goal", goal.id)
    assert conversation.awaiting_reply_since is not None
    page = client.get(response.location)
    assert "Not for emergencies" in page.text and "999" in page.text
    assert f"About: {goal.title}" in page.text
    plan = client.get(f"/patients/{cast.a.id}/plan").text
    assert "1 conversation" in plan


def test_a_forged_plan_item_is_refused_with_a_message(db, cast, login):
    client = login(cast.a.user)
    other_goal = cast.plan_b.goals[0]
    response = _start(client, cast.a.id, about=f"goal-{other_goal.id}")
    assert response.status_code == 200
    assert "Choose a part of the plan from the list" in response.text
    assert "Should I use it before walks?" in response.text  # what was typed is kept
    assert db.session.scalars(select(Conversation)).first() is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subject": ""}, "Enter a subject, in a few words"),
        ({"message": "   "}, "Write your message"),
        ({"message": "x" * 2001}, "Your message must be 2000 characters or fewer"),
        ({"subject": "s" * 121}, "Subject must be 120 characters or fewer"),
    ],
)
def test_bad_messages_get_a_clear_message(db, cast, login, fields, message):
    response = _start(login(cast.a.user), cast.a.id, **fields)
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert db.session.scalars(select(Conversation)).first() is None


def test_hostile_text_is_shown_as_text_and_direction_controls_are_removed(db, cast, login):
    client = login(cast.a.user)
    hostile = "<script>alert(1)</script> \u202eevil\u202c zero\u200bwidth کی\u200cبات"
    response = _start(client, cast.a.id, subject="\u2067Subject\u2069", message=hostile)
    page = client.get(response.location).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    message = db.session.scalars(select(Message)).one()
    assert "\u202e" not in message.body and "\u200b" not in message.body
    assert "\u200c" in message.body  # the non-joiner Urdu needs is kept
    assert db.session.scalars(select(Conversation)).one().subject == "Subject"


def test_messages_keep_their_language(db, cast, login):
    client = login(cast.a.user)
    client.post("/account/language", data={"language": "ur", "next": "/"})
    _start(client, cast.a.id, subject="سوال", message="میری سانس")
    message = db.session.scalars(select(Message)).one()
    assert message.language == "ur"
    nurse = login(cast.users["professional"])
    nurse.post("/account/language", data={"language": "en", "next": "/"})
    conversation = db.session.scalars(select(Conversation)).one()
    page = nurse.get(f"/patients/{cast.a.id}/conversations/{conversation.id}").text
    assert 'lang="ur"' in page and "میری سانس" in page
    assert "Interpreter needed" in page  # the nurse sees the patient's language needs


def test_carer_messages_are_marked_as_the_carers(db, cast, login):
    conversation = _conversation(db, cast)
    carer = login(cast.users["carer_contribute"])
    carer.post(
        f"/patients/{cast.a.id}/conversations/{conversation.id}", data={"message": "From me"}
    )
    message = db.session.scalars(select(Message).where(Message.body == "From me")).one()
    assert message.written_as == "carer"
    nurse_view = login(cast.users["professional"]).get(
        f"/patients/{cast.a.id}/conversations/{conversation.id}"
    )
    assert "(carer)" in nurse_view.text


def test_reply_closes_the_wait_and_close_keeps_the_outcome(db, cast, login):
    conversation = _conversation(db, cast)
    url = f"/patients/{cast.a.id}/conversations/{conversation.id}"
    nurse = login(cast.users["professional"])
    nurse.post(url, data={"message": "Yes, ten minutes before."})
    db.session.refresh(conversation)
    assert conversation.awaiting_reply_since is None
    empty = nurse.post(f"{url}/close", data={"outcome": ""})
    assert empty.status_code == 200 and "Write the outcome" in empty.text
    nurse.post(f"{url}/close", data={"outcome": "Inhaler timing explained"})
    db.session.refresh(conversation)
    assert conversation.status == "closed"
    patient = login(cast.a.user)
    page = patient.get(url).text
    assert "Inhaler timing explained" in page and "Send reply" not in page
    late = patient.post(url, data={"message": "One more thing"})
    assert late.status_code == 200
    assert "has been closed" in late.text and "One more thing" in late.text
    assert len(db.session.scalars(select(Message)).all()) == 2


def test_revoking_a_carer_ends_their_part_at_once(db, cast, login):
    conversation = _conversation(db, cast)
    carer = cast.users["carer_contribute"]
    url = f"/patients/{cast.a.id}/conversations/{conversation.id}"
    assert login(carer).get(url).status_code == 200
    from portal.models import AccessGrant

    grant = db.session.scalars(select(AccessGrant).where(AccessGrant.grantee_id == carer.id)).one()
    grant.revoked_at = utcnow()
    db.session.commit()
    assert login(carer).get(url).status_code == 404
    assert login(carer).post(url, data={"message": "Still here"}).status_code == 404


def test_patients_cannot_flood(db, cast, login, monkeypatch):
    monkeypatch.setattr(services, "MESSAGES_PER_HOUR", 2)
    client = login(cast.a.user)
    assert _start(client, cast.a.id).status_code == 302
    assert _start(client, cast.a.id).status_code == 302
    third = _start(client, cast.a.id)
    assert third.status_code == 200 and "Wait an hour" in third.text
    assert len(db.session.scalars(select(Conversation)).all()) == 2


def test_every_read_and_write_is_audited_and_shown_to_the_patient(db, cast, login):
    client = login(cast.a.user)
    response = _start(client, cast.a.id)
    nurse = login(cast.users["professional"])
    nurse.get(response.location)
    nurse.post(response.location, data={"message": "Answer"})
    actions = [
        (e.action, e.actor_id)
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]
    nurse_id = cast.users["professional"].id
    assert ("conversation.start", cast.a.user_id) in actions
    assert ("conversation.view", nurse_id) in actions
    assert ("conversation.reply", nurse_id) in actions
    activity = login(cast.a.user).get(f"/patients/{cast.a.id}/activity").text
    assert "Read a conversation with the care team" in activity
    assert "Nurse Named" in activity


def test_inbox_puts_urgent_then_longest_waiting_first_and_flags_overdue(db, cast, login):
    from portal.permissions import Relation

    def started(subject, waited_days, urgent=False):
        conversation = services.start(
            cast.a, cast.a.user, Relation.OWNER, subject, "Q", None, "en"
        )
        conversation.awaiting_reply_since = utcnow() - timedelta(days=waited_days)
        conversation.urgent = urgent
        return conversation

    started("Recent", 0)
    started("Old", 9)
    started("Urgent one", 0, urgent=True)
    answered = started("Answered", 20)
    answered.awaiting_reply_since = None
    db.session.commit()
    page = login(cast.users["professional"]).get("/conversations").text
    order = [page.index(s) for s in ("Urgent one", "Old", "Recent", "Answered")]
    assert order == sorted(order)
    assert page.count("Overdue") == 1  # only the one waiting 9 days, past 2 working days


def test_working_days_skip_the_weekend():
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert services.add_working_days(friday, 2) == datetime(2026, 12, 8, 16, 0, tzinfo=UTC)


def test_review_page_lists_conversations_since_the_last_review(db, cast, login):
    _conversation(db, cast, subject="About my feet")
    page = login(cast.users["professional"]).get(f"/patients/{cast.a.id}/review").text
    assert "Conversations since the last review" in page and "About my feet" in page


def _record_talking_about(client, cast, *ids) -> object:
    from tests.support import as_date_boxes
    from tests.test_meetings import meeting_payload

    data = meeting_payload(client, cast.a.id, conversations=[str(i) for i in ids])
    return client.post(f"/patients/{cast.a.id}/review/record", data=as_date_boxes(data))


def test_the_meeting_record_refers_to_the_conversations_talked_about(db, cast, login):
    feet = _conversation(db, cast, subject="About my feet")
    _conversation(db, cast, subject="Not talked about")
    nurse = login(cast.users["professional"])
    form = nurse.get(f"/patients/{cast.a.id}/review/record").text
    assert "Conversations talked about at the meeting (optional)" in form
    assert "About my feet (open, last message" in form
    assert _record_talking_about(nurse, cast, feet.id).status_code == 302

    meeting = db.session.scalars(select(ReviewMeeting)).one()
    assert [c.subject for c in meeting.conversations] == ["About my feet"]
    audited = db.session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "meeting.conversations")
    ).all()
    assert audited == [f"meeting {meeting.id}: {feet.id}"]
    # Shown with the meeting's record and on the conversation, to the patient and the nurse.
    for who in ("owner", "professional"):
        client = login(cast.users[who])
        version = client.get(f"/patients/{cast.a.id}/versions/1").text
        assert "Conversations talked about" in version and "About my feet" in version
        assert "Not talked about" not in version
        thread = client.get(f"/patients/{cast.a.id}/conversations/{feet.id}").text
        assert "Talked about at the review meeting on" in thread
    # A carer who may only view the plan does not read the patient's conversations.
    version = login(cast.users["carer_view"]).get(f"/patients/{cast.a.id}/versions/1").text
    assert "About my feet" not in version
    data = login(cast.a.user).get(f"/patients/{cast.a.id}/my-data.json").get_json()
    assert data["review_meetings"][0]["conversation_ids"] == [feet.id]


def test_closed_conversations_stay_in_the_plans_history(db, cast, login):
    closed = _conversation(db, cast, subject="Answered long ago")
    _conversation(db, cast, subject="Still open")
    services.close(closed, cast.users["professional"], "Explained", "en")
    db.session.commit()
    url = f"/patients/{cast.a.id}/versions"
    page = login(cast.a.user).get(url).text
    assert "Closed conversations with the care team" in page
    assert "Answered long ago" in page and "Still open" not in page
    assert "Answered long ago" not in login(cast.users["carer_view"]).get(url).text


def test_another_patients_conversation_cannot_be_referred_to(db, cast, login):
    from portal.permissions import Relation

    bobs = services.start(cast.b, cast.b.user, Relation.OWNER, "Bob's", "Hi", None, "en")
    db.session.commit()
    nurse = login(cast.users["professional"])
    response = _record_talking_about(nurse, cast, bobs.id)
    assert response.status_code == 200
    assert "Choose conversations from the list" in response.text
    assert db.session.scalars(select(ReviewMeeting)).all() == []
    response = _record_talking_about(nurse, cast, "not-a-number")
    assert "Choose conversations from the list" in response.text


def test_subject_access_copy_holds_the_conversations(db, cast, login):
    _conversation(db, cast, subject="Kept for me")
    data = login(cast.a.user).get(f"/patients/{cast.a.id}/my-data.json").get_json()
    assert data["conversations"][0]["subject"] == "Kept for me"
    assert data["conversation_messages"][0]["body"] == "A question"


def test_inbox_answers_in_a_fixed_number_of_queries(db, cast, login, count_queries, monkeypatch):
    from portal.permissions import Relation

    monkeypatch.setattr(services, "CONVERSATIONS_PER_DAY", 100)
    client = login(cast.users["professional"])
    counts = []
    for n in (1, 10):
        for i in range(n):
            services.start(cast.a, cast.a.user, Relation.OWNER, f"S{i}", "Q", None, "en")
        db.session.commit()
        with count_queries() as counter:
            assert client.get("/conversations").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_a_professional_of_another_organisation_is_not_in_the_team(db, cast, login):
    conversation = _conversation(db, cast)
    outsider = make_user(Role.PROFESSIONAL, cast.other_org)
    db.session.commit()
    url = f"/patients/{cast.a.id}/conversations/{conversation.id}"
    assert login(outsider).get(url).status_code == 404


# --- notifications: the other side is told, without the words ---------------------------------


def _told(db) -> list[int]:
    from portal.models import Notification

    return list(
        db.session.scalars(
            select(Notification.user_id)
            .where(Notification.kind == "conversation_message")
            .order_by(Notification.id)
        )
    )


def test_a_patients_message_tells_the_named_contact_and_a_reply_tells_the_patient(
    db, cast, login
):
    from portal.models import Notification
    from portal.notifications.messages import render

    response = _start(login(cast.a.user), cast.a.id, message="My ankles are swollen again")
    assert _told(db) == [cast.users["professional"].id]
    row = db.session.scalars(select(Notification)).one()
    message = render(row)
    assert "ankles" not in message.body and "ankles" not in message.short
    assert "999" in message.body and "/conversations/" in message.body
    login(cast.users["professional"]).post(response.location, data={"message": "Ring us"})
    assert _told(db) == [cast.users["professional"].id, cast.a.user_id]


def test_a_carers_message_is_not_sent_back_to_them_and_a_revoked_carer_hears_nothing(
    db, cast, login
):
    from portal.models import AccessGrant

    carer = cast.users["carer_contribute"]
    response = _start(login(carer), cast.a.id)
    assert carer.id not in _told(db)
    grant = db.session.scalars(select(AccessGrant).where(AccessGrant.grantee_id == carer.id)).one()
    grant.revoked_at = utcnow()
    db.session.commit()
    login(cast.users["professional"]).post(response.location, data={"message": "Answer"})
    assert carer.id not in _told(db)
    assert cast.a.user_id in _told(db)
