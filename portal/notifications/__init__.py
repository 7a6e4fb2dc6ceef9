"""Notifications: the outbox, its channels, what triggers each message, and preferences."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/account/messages")

from portal.notifications import triggers, views  # noqa: E402,F401  (listeners and routes)
