"""Celery's entry point: ``celery -A portal.worker worker`` (and ``beat``), see ``make worker``.

The worker builds the same app as the web servers, from the same ``PORTAL_*`` settings, so a
job sees the same database, mail server and GOV.UK Notify key. (Celery looks for ``app``
first, so the Flask app goes by another name here.)
"""

import os

from celery.signals import worker_init

from portal import create_app

flask_app = create_app()
app = celery = flask_app.extensions["celery"]


@worker_init.connect
def _yield_to_page_views(**_kwargs) -> None:
    """Lower the worker's CPU priority before its pool starts (the pool inherits it): on a
    machine shared with the web server, background jobs then wait for page views, not the
    other way round. Measured in ``bench.load``: see docs/performance.md."""
    if nice := flask_app.config["WORKER_NICE"]:
        os.nice(nice)
