"""PDFs in the cache every worker shares (Redis), rendered ahead by the queue, rendered once.

Runs against Redis on 127.0.0.1:6379 (database 14, keys under a prefix of this test's own)
and is skipped, saying so, when Redis does not answer.
"""

import threading
import time
import uuid

import pytest
import redis

from portal import jobs
from portal.pdf import services, shared
from tests.notify_support import free_port

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def store(app, monkeypatch):
    """A shared cache of ten documents under a fresh prefix, installed in the app."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not answering on 127.0.0.1:6379: shared PDF cache tests skipped")
    cache = shared.SharedPdfCache(REDIS_URL, 10, prefix=f"portal-test:{uuid.uuid4().hex}:")
    monkeypatch.setitem(app.extensions, "pdf_shared_cache", cache)
    yield cache
    keys = list(cache.redis.scan_iter(cache.prefix + "*"))
    if keys:
        cache.redis.delete(*keys)


def test_the_store_keeps_only_the_newest_documents(store):
    store.max_entries = 3
    for n in range(4):
        store.put((1, "plan", "en", str(n)), b"pdf %d" % n)
    assert store.get((1, "plan", "en", "0")) is None
    kept = [store.get((1, "plan", "en", str(n))) for n in (1, 2, 3)]
    assert kept == [b"pdf 1", b"pdf 2", b"pdf 3"]
    assert store.redis.zcard(store.index) == 3


def test_two_downloads_at_once_render_once(store):
    calls = []

    def slow_render():
        calls.append(1)
        time.sleep(0.5)
        return b"%PDF rendered once"

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(store.get_or_render(("k",), slow_render)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert results == [b"%PDF rendered once"] * 3


def test_another_worker_serves_the_pdf_without_rendering_it(db, cast, login, renders, store):  # noqa: F811
    client = login(cast.users["owner"])
    first = client.get(f"/patients/{cast.a.id}/plan.pdf")
    assert len(renders) == 1
    services.pdf_cache().clear()  # as in another worker process
    second = client.get(f"/patients/{cast.a.id}/plan.pdf")
    assert len(renders) == 1 and second.data == first.data


def test_a_change_queues_a_prerender_and_a_view_does_not(db, cast, login, monkeypatch):
    published = []
    monkeypatch.setattr(jobs, "uses_broker", lambda: True)
    monkeypatch.setattr(jobs, "publish_many", lambda queued, **kw: published.extend(queued))
    client = login(cast.users["carer_contribute"])
    client.get(f"/patients/{cast.a.id}/crisis")
    assert ("pdf.prerender", (cast.a.id,)) not in published
    client.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"level": "red", "signs": "s", "actions": "a", "who_to_call": ""},
    )
    assert published.count(("pdf.prerender", (cast.a.id,))) == 1


def test_prerendered_in_every_readers_language_then_a_change_renders_afresh(
    db, cast, login, renders, store  # noqa: F811
):
    cast.a.preferred_language = "ur"
    cast.users["carer_view"].preferred_locale = "pl"
    cast.users["carer_revoked"].preferred_locale = "ar"  # no longer a reader
    db.session.commit()
    cast.users["owner"].preferred_locale = None  # no language saved: reads in English
    db.session.commit()
    assert shared.reader_locales(cast.plan_a) == ["en", "pl", "ur"]
    assert shared.prerender(cast.a.id) == 6  # plan and crisis sheet, in each of the three
    assert len(renders) == 6

    services.pdf_cache().clear()
    carer = login(cast.users["carer_view"])
    carer.get(f"/patients/{cast.a.id}/plan.pdf")
    carer.get(f"/patients/{cast.a.id}/crisis.pdf")
    assert len(renders) == 6  # both served from what the queue rendered

    owner = login(cast.users["owner"])
    owner.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"level": "red", "signs": "New sign", "actions": "a", "who_to_call": ""},
    )
    services.pdf_cache().clear()
    carer = login(cast.users["carer_view"])
    carer.get(f"/patients/{cast.a.id}/crisis.pdf")
    assert len(renders) == 7 and "New sign" in renders[-1]  # the old sheet is not served


def test_with_redis_down_a_download_still_works(db, cast, login, renders, app, monkeypatch):  # noqa: F811
    dead = shared.SharedPdfCache(f"redis://127.0.0.1:{free_port()}/14", 3)
    monkeypatch.setitem(app.extensions, "pdf_shared_cache", dead)
    response = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan.pdf")
    assert response.status_code == 200 and len(renders) == 1


def test_without_a_broker_there_is_no_shared_cache(app):
    with app.app_context():
        app.extensions.pop("pdf_shared_cache", None)
        assert shared.shared_cache() is None


def test_a_download_right_after_a_change_waits_for_the_queued_rendering(store):
    """Queued, not yet taken up by a worker: the download waits instead of rendering."""
    key = (7, "plan", "en", "after-change")
    store.mark_queued(70)

    def worker():
        time.sleep(0.3)  # the job is still in the queue meanwhile
        token = store.claim(key)
        store.taken_up(70)
        time.sleep(0.2)
        store.fill(key, token, lambda: b"%PDF from the worker")

    in_request = []
    thread = threading.Thread(target=worker)
    thread.start()
    data = store.get_or_render(key, lambda: in_request.append(1) or b"%PDF here", 70)
    thread.join()
    assert data == b"%PDF from the worker" and in_request == []
    assert not store.redis.exists(store._queued_name(70))


def test_a_queued_rendering_no_worker_takes_up_is_waited_for_only_so_long(store, monkeypatch):
    monkeypatch.setattr(shared, "WAIT_SECONDS", 0.3)
    store.mark_queued(71)
    data = store.get_or_render((8, "plan", "en", "lost"), lambda: b"%PDF here", 71)
    assert data == b"%PDF here"


def test_a_change_marks_a_rendering_queued_and_the_job_serves_the_next_download(
    db, cast, login, renders, store, monkeypatch  # noqa: F811
):
    published = []
    monkeypatch.setattr(jobs, "uses_broker", lambda: True)
    monkeypatch.setattr(jobs, "publish_many", lambda queued, **kw: published.extend(queued))
    owner = login(cast.users["owner"])
    owner.post(
        f"/patients/{cast.a.id}/contingency/steps/new",
        data={"level": "red", "signs": "Queued sign", "actions": "a", "who_to_call": ""},
    )
    assert ("pdf.prerender", (cast.a.id,)) in published
    assert store.redis.get(store._queued_name(cast.a.id)) == b"1"
    rendered = shared.prerender(cast.a.id)
    assert rendered == len(renders) and rendered >= 2
    assert not store.redis.exists(store._queued_name(cast.a.id))
    services.pdf_cache().clear()  # another web worker
    owner.get(f"/patients/{cast.a.id}/crisis.pdf")

    assert len(renders) == rendered  # served from the queue's rendering
    assert shared.prerender(cast.a.id) == 0  # nothing changed since: nothing rendered again
