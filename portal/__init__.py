"""The care plan portal: application factory."""

import os

from flask import Flask

from portal import config
from portal.cli import register_cli
from portal.errors import register_error_handlers
from portal.extensions import babel, csrf, db, limiter, login_manager, migrate
from portal.i18n import available_locales, select_locale
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
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)

    register_security(app)
    register_templating(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_cli(app)
    return app


def register_blueprints(app: Flask) -> None:
    from portal.account import bp as account_bp
    from portal.auth import bp as auth_bp
    from portal.contingency import bp as contingency_bp
    from portal.plans import bp as plans_bp

    for bp in (auth_bp, account_bp, plans_bp, contingency_bp):
        app.register_blueprint(bp)

    from portal.audits import bp as audits_bp
    from portal.reports import bp as reports_bp
    from portal.surveys import bp as surveys_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(audits_bp)
