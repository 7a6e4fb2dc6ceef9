"""Warming a worker before it takes traffic (``portal.warmup`` via ``gunicorn.conf.py``)."""

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

from flask_babel import get_babel

from portal.warmup import warm

ROOT = Path(__file__).resolve().parent.parent


def test_warm_compiles_every_template_and_loads_every_catalogue(app, db):
    templates = list((ROOT / "templates").rglob("*.html"))
    assert warm(app) == len(templates)
    loaded = {locale for locale, _domain in get_babel(app).instance.domain_instance.cache}
    assert loaded >= {"en_GB", *[c for c in app.config["LOCALES"] if c != "en"]}


def test_gunicorn_warms_each_worker_and_the_worker_then_serves_pages(app, db, cast, login):
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["preload_app"] is True
    try:
        settings["post_worker_init"](SimpleNamespace(wsgi=app))
        # The warmed worker's objects are out of the collector's full sweeps.
        assert gc.get_freeze_count() > 0
        body = login(cast.users["owner"]).get(f"/patients/{cast.a.id}/plan").text
    finally:
        gc.unfreeze()
    assert "My care plan" in body
