"""gunicorn settings for ``bench.pdf_load``: the portal's own (``gunicorn.conf.py``), with
every PDF rendered inside a web request counted, and each PDF download's time in the worker
(wall clock and CPU) recorded, in Redis (keys ``BENCH_RENDER_COUNTER`` and ``...:times`` in
the broker's database). The server's own times, beside locust's, separate the work of a
download from the waiting for a CPU on a shared machine.
"""

import os
import runpy
import time
from pathlib import Path

_portal = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({name: value for name, value in _portal.items() if not name.startswith("__")})


class _Timed:
    """WSGI wrapper: wall and CPU milliseconds of each PDF download, and which kind it was."""

    def __init__(self, app, store, name: str):
        self.app, self.store, self.name = app, store, name

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").endswith(".pdf"):
            return self.app(environ, start_response)
        wall, cpu = time.perf_counter(), time.thread_time()
        body = list(self.app(environ, start_response))
        kind = "after a change" if environ.get("HTTP_X_BENCH_AFTER_CHANGE") else "cached"
        self.store.rpush(
            self.name,
            f"{kind},{(time.perf_counter() - wall) * 1000:.2f},"
            f"{(time.thread_time() - cpu) * 1000:.2f}",
        )
        return body


def post_worker_init(worker) -> None:
    """The portal's own start (warming included, not counted), then the counting wrappers."""
    _portal["post_worker_init"](worker)
    import redis

    from portal.pdf import services

    store = redis.Redis.from_url(os.environ["PORTAL_CELERY_BROKER_URL"])
    name = os.environ["BENCH_RENDER_COUNTER"]
    render = services.render_pdf

    def counted(html: str, **options) -> bytes:
        store.incr(name)
        return render(html, **options)

    services.render_pdf = counted
    worker.wsgi = _Timed(worker.wsgi, store, name + ":times")
