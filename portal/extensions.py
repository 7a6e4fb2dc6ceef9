"""Extension singletons, bound to the app in ``create_app``."""

import sqlite3
from functools import cached_property

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from portal.i18n import RequestDomain
from portal.models.base import Base

# Objects stay loaded after the commit that records an audit event, so a page renders
# from what it already read instead of reloading every collection.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()


class _Babel(Babel):
    """Flask-Babel with the message domain that finds each request's catalogue once."""

    @cached_property
    def domain_instance(self):
        return RequestDomain(domain=self.domain)


babel = _Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys like PostgreSQL does, and let readers run beside a writer."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
