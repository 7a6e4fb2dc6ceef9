"""The text of account emails, built in the recipient's language (``notify`` sets it).

Plain text only, and never health information: these go to an inbox the portal cannot protect.
"""

from flask_babel import gettext as _
from flask_babel import ngettext


def password_reset(link: str, hours: int) -> tuple[str, str]:
    return _("Reset your password"), "\n\n".join(
        [
            _("Someone asked to reset the password for your My care plan account."),
            ngettext(
                "To choose a new password, open this link within %(num)d hour:",
                "To choose a new password, open this link within %(num)d hours:",
                hours,
            ),
            link,
            _(
                "The link works once. If you did not ask for this, you can ignore this email: "
                "your password has not been changed."
            ),
        ]
    )


def password_changed() -> tuple[str, str]:
    return _("Your password has been changed"), "\n\n".join(
        [
            _(
                "The password for your My care plan account has just been changed, and you have "
                "been signed out on your other devices."
            ),
            _(
                "If you did not do this, reset your password straight away using \"Forgotten "
                "your password?\" on the sign-in page, and tell your GP practice."
            ),
        ]
    )


def email_changed() -> tuple[str, str]:
    return _("The email address for your account has changed"), "\n\n".join(
        [
            _(
                "The email address for your My care plan account has just been changed from "
                "this address to another one."
            ),
            _("If you did not do this, contact your GP practice straight away."),
        ]
    )


def mfa_disabled() -> tuple[str, str]:
    return _("Two-step verification is off"), "\n\n".join(
        [
            _("Two-step verification has been turned off for your My care plan account."),
            _(
                "If you did not do this, reset your password straight away and tell your GP "
                "practice."
            ),
        ]
    )
