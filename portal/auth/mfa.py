"""Two-step verification: codes from an authenticator app (TOTP) and single-use recovery codes.

A TOTP code is accepted once: the time step it belongs to is stored (``mfa_last_step``) and a
code from that step or an earlier one is refused, so a code seen over someone's shoulder cannot
be replayed. Recovery codes are stored as SHA-256 hashes (they are long random values, so a
fast hash is enough) and each is removed when used.

Both are spent with a conditional UPDATE (the step only moves forward; the list only changes
from what this request read), so of several sessions sending the same code at the same moment
exactly one is let in.
"""

import base64
import hashlib
import hmac
import io
import json
import secrets

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import security
from portal.extensions import db
from portal.models import User

ISSUER = "My care plan (NHS)"
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(text: str) -> str:
    """A QR code as an SVG ``data:`` URI: no inline markup, allowed by the CSP's img-src."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _digits(code: str) -> str:
    return "".join(c for c in code if not c.isspace() and c != "-")


def matching_step(secret: str, code: str, last_step: int | None, at: int | None = None):
    """The time step ``code`` belongs to (one step of clock drift allowed either way), or None.

    Steps at or before ``last_step`` are never accepted again.
    """
    code = _digits(code)
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = (security.now() if at is None else at) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(user: User, code: str) -> bool:
    if not user.mfa_secret:
        return False
    step = matching_step(user.mfa_secret, code, user.mfa_last_step)
    if step is None:
        return False
    return _spend(
        user,
        "mfa_last_step",
        step,
        or_(User.mfa_last_step.is_(None), User.mfa_last_step < step),
    )


def _spend(user: User, column: str, value, still_unspent) -> bool:
    """Set ``column`` only where ``still_unspent`` holds: False if another session got there."""
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, still_unspent)
        .values({column: value})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(user, column, value)
    return True


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(_digits(code).lower().encode("utf-8", "replace")).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes (the old ones stop working); the plain codes are returned to show once."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    user.recovery_codes = json.dumps([_recovery_hash(c) for c in codes])
    return codes


def recovery_codes_left(user: User) -> int:
    return len(json.loads(user.recovery_codes or "[]"))


def use_recovery_code(user: User, code: str) -> bool:
    code = _digits(code)
    if not 8 <= len(code) <= 12:
        return False
    stored = json.loads(user.recovery_codes or "[]")
    digest = _recovery_hash(code)
    for known in stored:
        if hmac.compare_digest(known, digest):
            left = [other for other in stored if other is not known]
            read = user.recovery_codes
            return _spend(user, "recovery_codes", json.dumps(left), User.recovery_codes == read)
    return False


def verify_second_factor(user: User, code: str) -> str | None:
    """``"totp"`` or ``"recovery"`` for an accepted code (now used up), None otherwise."""
    if verify_totp(user, code):
        return "totp"
    if use_recovery_code(user, code):
        return "recovery"
    return None


def enable(user: User, secret: str, step: int) -> list[str]:
    """Turn on (or move to a new app) with a confirmed secret; returns new recovery codes."""
    user.mfa_secret = secret
    user.mfa_enabled = True
    user.mfa_last_step = step
    security.end_every_session(user)
    return new_recovery_codes(user)


def disable(user: User) -> None:
    user.mfa_secret = None
    user.mfa_enabled = False
    user.mfa_last_step = None
    user.recovery_codes = None
    security.end_every_session(user)
