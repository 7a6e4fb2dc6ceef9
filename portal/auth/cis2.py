"""What a CIS2 answer means for the portal: which staff account, with which role and where.

CIS2 (NHS Care Identity Service 2) says which of the person's national roles they chose at
sign-in (``selected_roleid``) and lists their roles (``nhsid_nrbac_roles``), each with its
organisation's ODS code. Only a role and organisation that an administrator has mapped
(``Cis2RoleMapping``) opens an account here. Smartcard or authenticator sign-in counts as
two-step verification, so the portal does not ask for its own code as well.
"""

from sqlalchemy import select

from portal import accounts, audit
from portal.auth import identities
from portal.auth.identities import Outcome, Result
from portal.auth.oidc import Answer
from portal.extensions import db
from portal.models import Cis2RoleMapping, IdentityProvider, Organisation, User
from portal.models.user import STAFF_ROLES

CIS2 = IdentityProvider.CIS2
# Authentication levels (``acr``) and methods (``amr``) that include a second factor.
STRONG_ACR_PREFIXES = ("AAL2", "AAL3")
STRONG_AMR = frozenset({"sc", "fido", "hwk", "swk", "mfa", "otp"})


def strong_authentication(claims: dict) -> bool:
    acr, amr = claims.get("acr"), claims.get("amr")
    if isinstance(acr, str) and acr.startswith(STRONG_ACR_PREFIXES):
        return True
    return isinstance(amr, list) and bool(STRONG_AMR & {m for m in amr if isinstance(m, str)})


def selected_role(claims: dict) -> tuple[str, str] | None:
    """The role code (``R8000``) and ODS code of the role the person chose at sign-in."""
    selected = claims.get("selected_roleid")
    roles = claims.get("nhsid_nrbac_roles")
    if not isinstance(selected, str) or not isinstance(roles, list):
        return None
    for role in roles:
        if isinstance(role, dict) and role.get("person_roleid") == selected:
            code, ods = role.get("role_code"), role.get("org_code")
            if isinstance(code, str) and isinstance(ods, str):
                return code.rpartition(":")[2].strip().upper(), ods.strip().upper()
    return None


def mapping_for(claims: dict) -> Cis2RoleMapping | None:
    chosen = selected_role(claims)
    if chosen is None:
        return None
    role_code, ods_code = chosen
    return db.session.scalar(
        select(Cis2RoleMapping)
        .join(Organisation, Organisation.id == Cis2RoleMapping.organisation_id)
        .where(Cis2RoleMapping.role_code == role_code, Organisation.ods_code == ods_code)
    )


def _apply(user: User, mapping: Cis2RoleMapping) -> None:
    """The role chosen at CIS2 decides the role here, as the administrators mapped it."""
    if (user.role, user.organisation_id) != (mapping.role, mapping.organisation_id):
        user.role = mapping.role
        user.organisation_id = mapping.organisation_id
        audit.record("auth.cis2_role_applied", actor_id=user.id, detail=f"mapping {mapping.id}")


def sign_in(answer: Answer) -> Result:
    """The staff account this CIS2 identity opens, created on first sign-in; caller commits."""
    claims = answer.claims
    strong = strong_authentication(claims)
    mapping = mapping_for(claims)
    if mapping is None or mapping.role not in STAFF_ROLES:
        return Result(Outcome.NO_ROLE)
    user = identities.linked_user(CIS2, answer.subject)
    if user is not None:
        if not user.active:
            return Result(Outcome.INACTIVE)
        _apply(user, mapping)
        return Result(Outcome.SIGNED_IN, user, strong)
    email = claims.get("email")
    if not isinstance(email, str) or not email or len(email) > 254:
        return Result(Outcome.EMAIL_IN_USE)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        return Result(Outcome.EMAIL_IN_USE)
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        name = " ".join(str(claims.get(k, "")) for k in ("given_name", "family_name")).strip()
    user = accounts.create_account(
        email, mapping.role, (name or email)[:200], organisation_id=mapping.organisation_id
    )
    audit.record("auth.account_created", actor_id=user.id, detail="cis2")
    identities.link(user, CIS2, answer.subject)
    return Result(Outcome.SIGNED_IN, user, strong)


def link(user: User, answer: Answer) -> Outcome:
    """Link a signed-in staff account to the CIS2 identity just used; the caller commits."""
    if not user.is_staff:
        return Outcome.NO_ROLE
    if (already := identities.already_linked(user, CIS2, answer.subject)) is not None:
        return already
    identities.link(user, CIS2, answer.subject)
    return Outcome.LINKED


def mappings() -> list[Cis2RoleMapping]:
    return list(
        db.session.scalars(
            select(Cis2RoleMapping)
            .join(Organisation, Organisation.id == Cis2RoleMapping.organisation_id)
            .order_by(Organisation.name, Cis2RoleMapping.role_code)
        )
    )


class MappingTaken(ValueError):
    """That role at that organisation is mapped already."""


def add_mapping(organisation: Organisation, role_code: str, role: str) -> Cis2RoleMapping:
    exists = db.session.scalar(
        select(Cis2RoleMapping.id).where(
            Cis2RoleMapping.organisation_id == organisation.id,
            Cis2RoleMapping.role_code == role_code,
        )
    )
    if exists is not None:
        raise MappingTaken
    mapping = Cis2RoleMapping(organisation_id=organisation.id, role_code=role_code, role=role)
    db.session.add(mapping)
    db.session.flush()
    audit.record("admin.cis2_role_added", detail=f"mapping {mapping.id}")
    return mapping


def remove_mapping(mapping: Cis2RoleMapping) -> None:
    audit.record("admin.cis2_role_removed", detail=f"mapping {mapping.id}")
    db.session.delete(mapping)
