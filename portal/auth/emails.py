"""The text of account emails, built in the recipient's language (``notify`` sets it).

Plain text only, and never health information: these go to an inbox the portal cannot protect.
"""

from flask_babel import gettext as _
from flask_babel import ngettext

# The emails the outbox may build by name (``portal.auth.services.notify``).
ACCOUNT_EMAILS = frozenset(
    {
        "password_reset",
        "password_changed",
        "confirm_new_email",
        "email_changed",
        "mfa_disabled",
        "account_created",
        "account_deactivated",
        "mfa_reset",
        "mfa_set_up",
        "recovery_code_used",
    }
)


def _email(subject: str, *paragraphs: str) -> tuple[str, str]:
    return subject, "\n\n".join(paragraphs)


def password_reset(link: str, hours: int) -> tuple[str, str]:
    return _email(
        _("Reset your password"),
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
    )


def password_changed() -> tuple[str, str]:
    return _email(
        _("Your password has been changed"),
        _(
            "The password for your My care plan account has just been changed, and you have "
            "been signed out on your other devices."
        ),
        _(
            'If you did not do this, reset your password straight away using "Forgotten '
            'your password?" on the sign-in page, and tell your GP practice.'
        ),
    )


def confirm_new_email(link: str, hours: int) -> tuple[str, str]:
    return _email(
        _("Confirm your new email address"),
        _("Someone asked to use this email address for a My care plan account."),
        ngettext(
            "To confirm the change, open this link within %(num)d hour:",
            "To confirm the change, open this link within %(num)d hours:",
            hours,
        ),
        link,
        _("If you did not ask for this, you can ignore this email."),
    )


def email_changed() -> tuple[str, str]:
    return _email(
        _("The email address for your account has changed"),
        _(
            "The email address for your My care plan account has just been changed from "
            "this address to another one."
        ),
        _("If you did not do this, contact your GP practice straight away."),
    )


def mfa_disabled() -> tuple[str, str]:
    return _email(
        _("Two-step verification is off"),
        _("Two-step verification has been turned off for your My care plan account."),
        _("If you did not do this, reset your password straight away and tell your GP practice."),
    )


def account_created(link: str, hours: int) -> tuple[str, str]:
    """Sent to new staff, and again when an administrator sends a fresh link."""
    return _email(
        _("Set up your My care plan account"),
        _("An administrator has set up a My care plan account for you."),
        ngettext(
            "To choose your password, open this link within %(num)d hour:",
            "To choose your password, open this link within %(num)d hours:",
            hours,
        ),
        link,
        _(
            "The link works once. When you first sign in, you will set up two-step "
            "verification with an authenticator app."
        ),
    )


def account_deactivated() -> tuple[str, str]:
    return _email(
        _("Your My care plan account has been deactivated"),
        _(
            "An administrator has deactivated your My care plan account. You have been "
            "signed out and cannot sign in until it is reactivated."
        ),
        _("If you think this is a mistake, speak to your manager."),
    )


def mfa_reset() -> tuple[str, str]:
    return _email(
        _("Set up two-step verification again"),
        _(
            "An administrator has reset two-step verification for your My care plan "
            "account, and you have been signed out."
        ),
        _(
            "The next time you sign in, you will set up two-step verification again with "
            "your authenticator app."
        ),
        _("If you did not ask for this, tell your manager straight away."),
    )


def mfa_set_up() -> tuple[str, str]:
    """After an administrator's reset too: the first sign-in that follows sets it up again, so
    the owner hears of a sign-in by whoever did it."""
    return _email(
        _("Two-step verification was set up"),
        _(
            "Two-step verification was set up for your My care plan account, and the account "
            "was signed in to."
        ),
        _("If you did not do this, reset your password straight away and tell your GP practice."),
    )


def recovery_code_used() -> tuple[str, str]:
    return _email(
        _("Someone signed in with a recovery code"),
        _(
            "Your My care plan account was signed in to with one of your recovery codes "
            "instead of a code from your authenticator app."
        ),
        _("If you did not do this, reset your password straight away and tell your GP practice."),
    )
