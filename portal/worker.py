"""Celery's entry point: ``celery -A portal.worker worker`` (and ``beat``), see ``make worker``.

The worker builds the same app as the web servers, from the same ``PORTAL_*`` settings, so a
job sees the same database, mail server and GOV.UK Notify key. (Celery looks for ``app``
first, so the Flask app goes by another name here.)
"""

from portal import create_app

flask_app = create_app()
app = celery = flask_app.extensions["celery"]
