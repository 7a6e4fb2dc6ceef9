"""Activation codes: issued by staff, typed once by the patient to create their account.

A code is 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B),
about 54 bits, printed in groups of four. Only an HMAC of it (keyed with the secret key) is
stored, so a copy of the database does not give codes away; changing the secret key makes
outstanding codes unusable (issue new letters).
"""

import hashlib
import hmac
import secrets
from datetime import date, timedelta

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import delete, select, update

from portal import audit, jobs, mail
from portal.accounts import email_link as external_url
from portal.auth.services import hash_password
from portal.extensions import db
from portal.models import ActivationCode, Patient, PrintSize, RegisterEntry, Role, User
from portal.models.base import utcnow
from portal.security import new_session_token

ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
LENGTH = 12
# An unused code is deleted this long after it expired (``clean_up``): long enough for a
# practice to answer "my code did not work" from the register, short enough that hashes of
# dead codes do not pile up for ever.
KEEP_EXPIRED = timedelta(days=30)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def printed(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(typed: str) -> str:
    """What a person typed, as the code: case, spaces and dashes do not matter."""
    # Spaces, dashes and the invisible direction marks a right-to-left email puts around it.
    skipped = " -\u2010\u2011\u2013\u2066\u2067\u2068\u2069\u200e\u200f"
    return "".join(ch for ch in (typed or "").upper() if ch not in skipped)[:40]


def code_hash(code: str) -> str:
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else b""
    return hmac.new(key, normalise(code).encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def issue(patient: Patient, channel: str, issued_by: User) -> str:
    """A new code for ``patient`` (earlier ones revoked); returns it: it is never stored."""
    db.session.execute(
        update(ActivationCode)
        .where(
            ActivationCode.patient_id == patient.id,
            ActivationCode.used_at.is_(None),
            ActivationCode.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    code = new_code()
    days = current_app.config["ACTIVATION_DAYS"]
    db.session.add(
        ActivationCode(
            patient_id=patient.id,
            code_hash=code_hash(code),
            channel=channel,
            issued_by_id=issued_by.id,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    audit.record("activation.issued", patient.id, channel)
    return code


def usable(code: str, nhs: str, born: date | None) -> ActivationCode | None:
    """The code if it is live and belongs to the person with this NHS number and date of birth.

    One answer for every way of being wrong, so nothing is learnt from trying.
    """
    if not code or born is None:
        return None
    found = db.session.scalars(
        select(ActivationCode).where(ActivationCode.code_hash == code_hash(code))
    ).first()
    if found is None or found.used_at or found.revoked_at or found.expires_at <= utcnow():
        return None
    patient = db.session.get(Patient, found.patient_id)
    if patient is None or patient.user_id is not None:
        return None
    if not hmac.compare_digest(patient.nhs_number, nhs) or patient.date_of_birth != born:
        return None
    return found


def create_patient_account(patient: Patient, email: str, password: str, locale: str) -> User:
    """The patient's own account, linked to their record. The caller commits."""
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=Role.PATIENT,
        display_name=patient.full_name,
        preferred_locale=locale,
        session_token=new_session_token(),
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    patient.user_id = user.id
    return user


def use(code: ActivationCode, email: str, password: str, locale: str) -> User:
    patient = db.session.get(Patient, code.patient_id)
    user = create_patient_account(patient, email, password, locale)
    code.used_at = utcnow()
    audit.record("activation.used", patient.id, actor_id=user.id)
    db.session.commit()
    current_app.logger.info("account created from an activation code (user %s)", user.id)
    return user


def letter_language(patient: Patient) -> str:
    locales = current_app.config["LOCALES"]
    return patient.preferred_language if patient.preferred_language in locales else "en"


def large_print(patient: Patient) -> bool:
    return patient.print_size in (PrintSize.LARGE, PrintSize.EASY_READ)


def letter_texts(patient: Patient, code: str) -> dict[str, str]:
    """The words of the letter and email in the current locale."""
    link = external_url("activation.start")
    days = current_app.config["ACTIVATION_DAYS"]
    return {
        "title": gettext("Your care plan: create your account"),
        "greeting": gettext("Dear %(name)s,", name=patient.full_name),
        "intro": gettext(
            "Your GP practice uses the My care plan portal. You can read and prepare your "
            "personalised care plan there, and choose who else may see it."
        ),
        "steps": gettext("To create your account:"),
        "step1": gettext("Go to %(link)s", link=link),
        "step2": gettext("Enter the code below, your NHS number and your date of birth."),
        "step3": gettext("Choose the email address and password you will sign in with."),
        "code_label": gettext("Your activation code"),
        "expiry": gettext(
            "The code works once and only for you. It stops working after %(days)d days; "
            "your practice can send a new one.",
            days=days,
        ),
        "code": printed(code),
    }


def letter_pdf(patient: Patient, code: str) -> bytes:
    """The printable letter in the patient's language with the English beside it."""
    from flask import render_template

    from portal.i18n import html_lang, text_direction
    from portal.pdf.services import render_pdf

    language = letter_language(patient)
    with force_locale(language):
        own = letter_texts(patient, code)
        lang_tag, direction = html_lang(), text_direction()
    english = None
    if language != "en":
        with force_locale("en"):
            english = letter_texts(patient, code)
    html = render_template(
        "pdf/activation_letter.html",
        own=own,
        english=english,
        lang_tag=lang_tag,
        direction=direction,
        large=large_print(patient),
        patient=patient,
    )
    return render_pdf(html)


def email_address(patient: Patient) -> str | None:
    entry = db.session.get(RegisterEntry, patient.id)
    return entry.email if entry else None


def send_email(patient: Patient, to: str, code: str) -> bool:
    """The same words by email (patient's language, then English); True if handed over."""
    def compose(_language: str) -> tuple[str, str]:
        texts = letter_texts(patient, code)
        return texts["title"], _email_body(texts)

    subject, body = mail.in_language_and_english(letter_language(patient), compose)
    delivery = mail.send(to, subject, body)
    return delivery.sent or delivery.outbox_file is not None


def _email_body(t: dict[str, str]) -> str:
    return (
        f"{t['greeting']}\n\n{t['intro']}\n\n{t['steps']}\n1. {t['step1']}\n2. {t['step2']}\n"
        f"3. {t['step3']}\n\n{t['code_label']}: {t['code']}\n\n{t['expiry']}"
    )


def patient_name(code: ActivationCode) -> str:
    patient = db.session.get(Patient, code.patient_id)
    return patient.full_name if patient else ""


@jobs.job("activation.clean_up")
def clean_up() -> int:
    """Delete the codes never used that expired more than ``KEEP_EXPIRED`` ago (nightly), the
    revoked ones included; the number deleted.

    No table refers to a code, and the audit trail keeps its own record of each one
    (``activation.issued``: who sent it, to whom, by letter or email, when; ``activation.used``
    when an account was made), so nothing an audit needs goes. A used code is kept: it is one
    row per patient account, the record of which code made it."""
    result = db.session.execute(
        delete(ActivationCode).where(
            ActivationCode.used_at.is_(None),
            ActivationCode.expires_at < utcnow() - KEEP_EXPIRED,
        )
    )
    db.session.commit()
    return result.rowcount
