"""gunicorn settings, shared by ``make serve`` and the load test (``bench/load.py``).

Sync workers, two per core plus one: each request is short and CPU-bound once the database has
answered. The app is imported once in the master (``preload_app``) so workers share its code
pages; each worker then drops any database connection inherited from the master and warms
itself (templates compiled, catalogues loaded) before it takes traffic. Workers are recycled
after about 1,000 requests, with jitter so they do not all restart at once.

What the master imported and what warming built live as long as the worker, so both are frozen
out of Python's garbage collector: a full collection, which comes every few hundred requests,
otherwise walks those objects too and stops the request it lands in for about 150 ms; frozen,
it looks only at what requests left behind. Freezing before the fork also keeps collections
from writing to the memory pages the workers share with the master.
"""

import atexit
import gc
import os

wsgi_app = "portal:create_app()"
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 0)) or (os.cpu_count() or 1) * 2 + 1
worker_class = "sync"
preload_app = True
max_requests = 1000
max_requests_jitter = 100
timeout = 30
graceful_timeout = 30
keepalive = 2


def post_worker_init(worker) -> None:
    from portal.extensions import db
    from portal.warmup import warm

    app = worker.wsgi
    with app.app_context():
        db.engine.dispose(close=False)  # never share a connection across fork
    warm(app)
    gc.freeze()
    atexit.register(_say_how_the_plan_page_was_served, worker, app)


def _say_how_the_plan_page_was_served(worker, app) -> None:
    """At the worker's end, how many plan page views its kept bodies served (the load test
    adds these up; portal.plans.page_cache)."""
    cache = app.extensions.get("plan_page_cache")
    if cache is not None:
        worker.log.info("plan page bodies: %d views kept, %d built", cache.hits, cache.misses)


def pre_fork(server, worker) -> None:
    gc.freeze()
