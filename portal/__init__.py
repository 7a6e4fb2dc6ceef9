"""The care plan portal: application factory."""

import importlib
import os

from flask import Flask

from portal import config, outside
from portal.cli import register_cli
from portal.errors import register_error_handlers
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
from portal.i18n import available_locales, select_locale
from portal.jobs import init_jobs
from portal.security import register_security
from portal.templating import register_templating


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(config.ROOT / "templates"),
        static_folder=str(config.ROOT / "static"),
        instance_path=str(config.ROOT / "instance"),
    )
    app.config.from_object(config.Defaults)
    app.config["ENV"] = os.environ.get("PORTAL_ENV", app.config["ENV"])
    config.apply_environment(app)
    if overrides:
        app.config.update(overrides)
    app.config["LOCALES"] = available_locales(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    outside.configure(app)
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    outside.register(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    init_jobs(app)

    register_security(app)
    register_templating(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_cli(app)
    return app


# One package per area of the product, each exposing its blueprint as ``bp``.
AREAS = (
    "health",
    "auth",
    "account",
    "plans",
    "contingency",
    "portability",
    "sharing",
    "goals",
    "needs",
    "preparation",
    "meetings",
    "versions",
    "pdf",
    "reports",
    "surveys",
    "audits",
    "admin",
    "conversations",
    "notifications",
    "register",
    "activation",
    "worklist",
    "drafts",
    "organisations",
)


def register_blueprints(app: Flask) -> None:
    for area in AREAS:
        app.register_blueprint(importlib.import_module(f"portal.{area}").bp)
