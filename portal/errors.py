"""Friendly error pages in the reader's language that reveal nothing about the system.

Unexpected errors are logged with the exception type, the code location and the account id,
but not the exception's message: messages can quote what was typed (names, NHS numbers).
"""

import traceback

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from portal.extensions import db

MESSAGES = {
    400: (_l("Something was wrong with that request"), _l("Go back and try again.")),
    403: (_l("You cannot do that"), _l("You do not have permission to do that.")),
    404: (
        _l("Page not found"),
        _l("If you typed the web address, check it is correct. The page may also have moved."),
    ),
    405: (_l("Something was wrong with that request"), _l("Go back and try again.")),
    413: (_l("That was too much to send"), _l("Send less text at once and try again.")),
    423: (
        _l("This care plan can no longer be changed"),
        _l("The patient has left the practice's register. Their plan and its history are "
           "kept, and can still be read, but not changed."),
    ),
    429: (
        _l("Too many attempts"),
        _l("Wait a few minutes and try again. Your account is not locked."),
    ),
    500: (
        _l("Sorry, there is a problem with the service"),
        _l("Try again later. Nothing you saved before this has been lost."),
    ),
    503: (
        _l("Sorry, please try again"),
        _l("The service lost its connection for a moment. Go back and try again. "
           "If you were saving something, check whether it was saved."),
    ),
}


def connection_lost(error: Exception) -> bool:
    """The database went away (restarted, backend killed, statement timed out): worth a retry."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def render_error(code: int):
    title, body = MESSAGES.get(code, MESSAGES[400])
    return render_template("errors/error.html", title=title, body=body, code=code), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        title = _l("This form has expired")
        body = _l("For your security the form timed out. Go back, reload the page and try again.")
        return render_template("errors/error.html", title=title, body=body, code=400), 400

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return render_error(e.code or 500)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        if connection_lost(e):
            return _try_again(app, e)
        db.session.rollback()
        app.logger.error(
            "Unhandled %s at %s (user %s)\n%s",
            type(e).__name__,
            request.endpoint,
            _user_id(),
            "".join(traceback.format_tb(e.__traceback__)),
        )
        return render_error(500)


def _try_again(app: Flask, e: Exception):
    """503 "please try again", in the reader's language, with the portal's headers."""
    try:
        db.session.rollback()  # the next query takes a fresh connection (checked by pre-ping)
    except Exception:  # noqa: BLE001 - the connection may be gone for good
        db.session.remove()
    app.logger.error("Database connection lost (%s) at %s", type(e).__name__, request.endpoint)
    headers = {"Retry-After": "5"}
    try:
        page, code = render_error(503)
    except Exception:  # noqa: BLE001 - the page itself needed the database: plain words
        db.session.remove()
        title, body = MESSAGES[503]
        page = f"<!DOCTYPE html><title>{escape(title)}</title><h1>{escape(title)}</h1>" \
            f"<p>{escape(body)}</p>"
        code = 503
    return page, code, headers


def _user_id() -> str:
    """The account id only: logs never name a person."""
    try:
        return str(current_user.id) if current_user.is_authenticated else "anonymous"
    except Exception:  # noqa: BLE001 - the loader itself may be what failed
        return "unknown"
