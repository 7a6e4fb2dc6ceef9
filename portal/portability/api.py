"""A read-only FHIR R4 REST API at ``/fhir``, under the web's permissions.

Resources are those of the agreed care plan document (``fhir_export``), served with RESTful
ids and relative references. A resource's id starts with its patient's id (``12.<uuid>``), so
a read finds the patient, asks ``permissions.require`` for ``VIEW_PLAN`` exactly as the plan
page does, and answers 404 for anything the reader may not see, whether or not it exists.
Every read and search that returns a patient's data is audited. Errors are OperationOutcomes.

A reader is the portal's own signed-in session, or a SMART on FHIR bearer token
(``portal.portability.smart``): an app acting for a person, or an organisation's system,
whose scopes narrow the resource types it may read.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import Response, abort, json, request
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from portal import audit
from portal.extensions import db
from portal.models import Patient
from portal.nhs_number import normalise
from portal.permissions import Action, can, require
from portal.plans.services import load_plan
from portal.portability import bp, smart
from portal.portability import valuesets as vs
from portal.portability.fhir_export import build_document
from portal.portability.terminology import canonical_base
from portal.security import MAX_ID
from portal.versions.services import get_version

READABLE = (
    "Patient",
    "CarePlan",
    "Goal",
    "Condition",
    "CareTeam",
    "Consent",
    "Provenance",
    "Communication",
)
_ID = re.compile(r"^(\d{1,12})\.([0-9a-f-]{36})$")
FHIR_JSON = "application/fhir+json"


def _answer(resource: dict, status: int = 200) -> Response:
    return Response(json.dumps(resource, ensure_ascii=False), status=status, mimetype=FHIR_JSON)


def outcome(status: int, code: str, text: str) -> Response:
    """An OperationOutcome: the one shape of every error this API returns."""
    return _answer(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}],
        },
        status,
    )


_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}
_WORDS = {403: "The token's scopes do not cover this resource type"}


def api_view(view):
    """Any refusal inside an API view (``abort``, ``require``) becomes an OperationOutcome."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except HTTPException as error:
            db.session.rollback()
            status = error.code or 500
            answer = outcome(
                status, _CODES.get(status, "exception"), _WORDS.get(status, error.name)
            )
            if status == 401:
                answer.headers["WWW-Authenticate"] = 'Bearer realm="fhir"'
            return answer

    # Signed-in readers or SMART tokens; each answer is then decided per patient by
    # ``permissions`` and narrowed by the token's scopes.
    wrapped.required_action = Action.USE_FHIR_API
    return wrapped


@dataclass(frozen=True)
class SessionReader:
    """Someone signed in to the portal itself: what they may see, every resource type."""

    principal: object

    def covers(self, kind: str, search: bool) -> bool:
        return True

    def permits(self, kind: str, patient_id: int, search: bool) -> bool:
        return True

    def audit(self, action: str, patient_id: int, detail: str) -> None:
        audit.record(action, patient_id, detail)


@dataclass(frozen=True)
class BearerReader:
    """A SMART app acting for a person, or an organisation's system, with a token's scopes."""

    token: smart.TokenReader

    @property
    def principal(self):
        return self.token.principal

    def covers(self, kind: str, search: bool) -> bool:
        return any(self.token.permits(kind, pid, search) for pid in (self.token.patient_id, -1))

    def permits(self, kind: str, patient_id: int, search: bool) -> bool:
        return self.token.permits(kind, patient_id, search)

    def audit(self, action: str, patient_id: int, detail: str) -> None:
        if self.token.context == "system":
            audit.record("fhir.system_read", patient_id, self.token.client_name, actor_id=None)
        else:
            audit.record(
                action,
                patient_id,
                f"{detail} ({self.token.client_name})"[:200],
                actor_id=self.token.actor_id,
            )


def _reader():
    """Who reads: the bearer token's app or system when one is sent, else the signed-in
    session; 401 for neither (or a token that is unknown, expired or revoked)."""
    if "Authorization" in request.headers:
        try:
            return BearerReader(smart.bearer_reader())
        except smart.Refused:
            abort(401)
    if not current_user.is_authenticated:
        abort(401)
    return SessionReader(current_user)


def _scoped(reader, kind: str, search: bool) -> None:
    """A token whose scopes never cover ``kind`` is refused whoever the patient is."""
    if not reader.covers(kind, search):
        abort(403)


def api_id(patient_id: int, logical: str) -> str:
    return f"{patient_id}.{logical}"


def _restful(document: dict, patient_id: int) -> list[dict]:
    """The document's resources with RESTful ids and relative references."""
    urls = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/"
        f"{api_id(patient_id, entry['resource']['id'])}"
        for entry in document["entry"]
    }

    def rewrite(node):
        if isinstance(node, dict):
            return {
                key: urls.get(value, value) if key == "reference" else rewrite(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    resources = []
    for entry in document["entry"]:
        resource = rewrite(entry["resource"])
        resource["id"] = api_id(patient_id, resource["id"])
        resources.append(resource)
    return resources


def _patient_resources(
    reader,
    patient_id: int,
    version_number: int | None = None,
    readable_only: bool = True,
    search: bool = False,
) -> list[dict]:
    """Everything the reader may see of one patient's plan (as agreed at ``version_number``
    when given), narrowed to the types a token's scopes allow; 404 if nothing."""
    access = require(reader.principal, Action.VIEW_PLAN, patient_id)
    plan = load_plan(patient_id)
    if plan is None:
        abort(404)
    version = None
    if version_number is not None and version_number != plan.agreed_version:
        # The latest agreed version is what a read serves now (with what was agreed since).
        version = get_version(plan.id, version_number)
        if version is None:
            abort(404)
    conversations = access.allows(Action.READ_CONVERSATIONS)
    document = build_document(plan, version=version, conversations=conversations)
    # Scopes cover every type, those reached only through _include (the plan's people and
    # organisations) as well.
    resources = [
        r
        for r in _restful(document, patient_id)
        if reader.permits(r["resourceType"], patient_id, search)
    ]
    if not readable_only:  # what _include may add: the plan's people and organisations too
        return [r for r in resources if r["resourceType"] != "Composition"]
    return [r for r in resources if r["resourceType"] in READABLE]


def _searchset(resources: Iterable[dict], included: Iterable[dict] = ()) -> Response:
    base = canonical_base()
    matches = [(r, "match") for r in resources]
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": mode},
        }
        for r, mode in [*matches, *((r, "include") for r in included)]
    ]
    return _answer(
        {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "entry": entries}
    )


# _include=<Type>:<parameter> -> the element whose references are followed.
INCLUDES = {
    "goal": "goal",
    "subject": "subject",
    "patient": "patient",
    "care-team": "careTeam",
    "author": "author",
    "addresses": "addresses",
    "expressed-by": "expressedBy",
    "managing-organization": "managingOrganization",
}
REVINCLUDES = {"Provenance:target": ("Provenance", "target")}


def _includes(kind: str, matches: list[dict], everything: list[dict]) -> list[dict]:
    """Resources named by ``_include`` and ``_revinclude``; ``ValueError`` for unknown ones."""
    by_ref = {f"{r['resourceType']}/{r['id']}": r for r in everything}
    wanted: list[dict] = []
    for include in request.args.getlist("_include"):
        source, _colon, parameter = include.partition(":")
        element = INCLUDES.get(parameter)
        if source != kind or element is None:
            raise ValueError(include)
        for resource in matches:
            value = resource.get(element) or []
            for ref in value if isinstance(value, list) else [value]:
                found = by_ref.get(ref.get("reference", "")) if isinstance(ref, dict) else None
                if found is not None:
                    wanted.append(found)
    for revinclude in request.args.getlist("_revinclude"):
        if revinclude not in REVINCLUDES:
            raise ValueError(revinclude)
        source, element = REVINCLUDES[revinclude]
        targets = {f"{r['resourceType']}/{r['id']}" for r in matches}
        wanted += [
            r
            for r in everything
            if r["resourceType"] == source
            and any(ref.get("reference") in targets for ref in r.get(element) or [])
        ]
    seen = {id(r) for r in matches}
    unique = []
    for resource in wanted:
        if id(resource) not in seen:
            seen.add(id(resource))
            unique.append(resource)
    return unique


_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T.+)?)?)?)$")


def _moment_range(value: str) -> tuple[datetime, datetime]:
    """The instants a FHIR date or dateTime of any precision stands for: ``[start, end)``.

    A time without a zone is read as UTC, the zone every ``lastUpdated`` is written in.
    """
    parts = value.split("-", 2)
    if len(value) == 4:
        start = datetime(int(value), 1, 1, tzinfo=UTC)
        return start, start.replace(year=start.year + 1)
    if len(value) == 7:
        start = datetime(int(parts[0]), int(parts[1]), 1, tzinfo=UTC)
        following = start.replace(day=28) + timedelta(days=4)
        return start, following.replace(day=1)
    if len(value) == 10:
        start = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return start, start + timedelta(days=1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    precision = timedelta(seconds=1) if moment.microsecond == 0 else timedelta(microseconds=1)
    return moment, moment + precision


def _last_updated_filter():
    """A test for ``meta.lastUpdated`` from every ``_lastUpdated`` given (all must hold);
    ``ValueError`` for a value that is not a FHIR date or dateTime with a known prefix."""
    tests = []
    for raw in request.args.getlist("_lastUpdated"):
        match = _PREFIX.fullmatch(raw.strip())
        if not match:
            raise ValueError(raw)
        prefix, value = match.group(1) or "eq", match.group(2)
        try:
            start, end = _moment_range(value)
        except OverflowError as past_the_calendar:  # the end of 9999-12-31 is no datetime
            raise ValueError(raw) from past_the_calendar
        tests.append(
            {
                "eq": lambda t, s=start, e=end: s <= t < e,
                "ne": lambda t, s=start, e=end: not s <= t < e,
                "gt": lambda t, e=end: t >= e,
                "sa": lambda t, e=end: t >= e,
                "ge": lambda t, s=start: t >= s,
                "lt": lambda t, s=start: t < s,
                "eb": lambda t, s=start: t < s,
                "le": lambda t, e=end: t < e,
            }[prefix]
        )
    return lambda moment: all(test(moment) for test in tests)


@bp.route("/fhir/metadata")
def fhir_metadata():
    """What this server can do (public: it holds no one's data)."""
    return _answer(capability_statement())


def capability_statement() -> dict:
    resources = [
        {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "vread"}, {"code": "search-type"}],
            "versioning": "versioned",
            "searchParam": [
                (
                    {
                        "name": "identifier",
                        "type": "token",
                        "documentation": f"NHS number: {vs.NHS_NUMBER_SYSTEM}|<number>",
                    }
                    if kind == "Patient"
                    else {"name": "patient", "type": "reference"}
                ),
                {
                    "name": "_lastUpdated",
                    "type": "date",
                    "documentation": "Prefixes eq, ne, gt, ge, lt, le, sa, eb; may be repeated",
                },
            ],
            "searchInclude": [f"{kind}:{parameter}" for parameter in INCLUDES],
            "searchRevInclude": list(REVINCLUDES),
        }
        for kind in READABLE
    ]
    resources[0]["operation"] = [
        {
            "name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        }
    ]
    resources.append({"type": "CodeSystem", "interaction": [{"code": "read"}]})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "kind": "instance",
        "implementation": {
            "description": "Personalised care plan portal: read-only access to agreed plans",
            "url": canonical_base(),
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Signed-in portal sessions, or SMART on FHIR tokens (App "
                "Launch for apps a person allows, Backend Services for an organisation's "
                "systems); the same per-patient permissions as the web pages (the whole plan: "
                "the patient, carers who may see the plan, the patient's practice unless they "
                "objected), narrowed by the token's scopes.",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/"
                            "oauth-uris",
                            "extension": [
                                {"url": "token", "valueUri": smart.token_endpoint()},
                                {"url": "authorize", "valueUri": smart.authorize_endpoint()},
                            ],
                        }
                    ],
                },
                "resource": resources,
            }
        ],
    }


@bp.route("/fhir/<kind>")
@api_view
def fhir_search(kind: str):
    if kind not in READABLE:
        abort(404)
    reader = _reader()
    _scoped(reader, kind, search=True)
    allowed = {"identifier", "patient", "_format", "_include", "_revinclude", "_lastUpdated"}
    unknown = set(request.args) - allowed
    if unknown:
        return outcome(400, "not-supported", f"Unknown search parameter: {sorted(unknown)[0]}")
    try:
        _last_updated_filter()
    except ValueError as bad:
        return outcome(400, "invalid", f"_lastUpdated: {str(bad)[:80]}")
    if kind == "Patient":
        return _search_patients(reader, request.args.get("identifier"))
    reference = request.args.get("patient", "")
    match = re.fullmatch(
        r"(?:Patient/)?(\d{1,12})\.[0-9a-f-]{36}|(?:Patient/)?(\d{1,12})", reference
    )
    if not match:
        return outcome(400, "required", "Search by patient: patient=Patient/<id>")
    patient_id = int(match.group(1) or match.group(2))
    if patient_id > MAX_ID or not _may_see(reader, patient_id, kind):
        return _searchset([])
    return _search_within(reader, patient_id, kind)


def _search_within(reader, patient_id: int, kind: str) -> Response:
    """One patient's resources of ``kind``, with what ``_include``/``_revinclude`` ask for."""
    everything = _patient_resources(reader, patient_id, readable_only=False, search=True)
    updated = _last_updated_filter()
    resources = [
        r
        for r in everything
        if r["resourceType"] == kind and updated(datetime.fromisoformat(r["meta"]["lastUpdated"]))
    ]
    try:
        included = _includes(kind, resources, everything)
    except ValueError as unknown:
        return outcome(400, "not-supported", f"Not supported: {str(unknown)[:80]}")
    reader.audit("fhir.api_search", patient_id, kind)
    db.session.commit()
    return _searchset(resources, included)


def _may_see(reader, patient_id: int, kind: str) -> bool:
    patient = db.session.get(Patient, patient_id)
    return (
        patient is not None
        and can(reader.principal, Action.VIEW_PLAN, patient)
        and reader.permits(kind, patient_id, search=True)
    )


def _search_patients(reader, identifier: str | None) -> Response:
    system, _bar, value = (identifier or "").rpartition("|")
    if not value or (system and system != vs.NHS_NUMBER_SYSTEM):
        return outcome(
            400, "required", f"Search by NHS number: identifier={vs.NHS_NUMBER_SYSTEM}|<number>"
        )
    patient = db.session.scalar(select(Patient).where(Patient.nhs_number == normalise(value)))
    if patient is None or not _may_see(reader, patient.id, "Patient"):
        return _searchset([])  # not found and not allowed look the same
    return _search_within(reader, patient.id, "Patient")


def _one(reader, kind: str, resource_id: str, version: int | None = None) -> tuple[int, dict]:
    """The patient's id and the resource ``kind``/``resource_id`` (as in ``version``); 404 for
    anything the reader may not see, 403 for a type the token's scopes never cover."""
    match = _ID.fullmatch(resource_id)
    if kind not in READABLE or not match:
        abort(404)
    _scoped(reader, kind, search=False)
    patient_id = int(match.group(1))
    if patient_id > MAX_ID:  # no such patient: the database could not even be asked
        abort(404)
    found = next(
        (
            r
            for r in _patient_resources(reader, patient_id, version)
            if r["resourceType"] == kind and r["id"] == resource_id
        ),
        None,
    )
    if found is None:
        abort(404)
    return patient_id, found


@bp.route("/fhir/<kind>/<resource_id>")
@api_view
def fhir_read(kind: str, resource_id: str):
    reader = _reader()
    patient_id, found = _one(reader, kind, resource_id)
    reader.audit("fhir.api_read", patient_id, kind)
    db.session.commit()
    return _answer(found)


@bp.route("/fhir/Patient/<resource_id>/$everything")
@api_view
def fhir_everything(resource_id: str):
    """Everything readable of one patient's plan (that the scopes allow), in one searchset."""
    reader = _reader()
    patient_id, _patient = _one(reader, "Patient", resource_id)
    resources = _patient_resources(reader, patient_id)
    reader.audit("fhir.api_read", patient_id, "Patient/$everything")
    db.session.commit()
    return _searchset(resources)


@bp.route("/fhir/<kind>/<resource_id>/_history/<int:number>")
@api_view
def fhir_vread(kind: str, resource_id: str, number: int):
    """A resource as it was in one agreed version of the plan (``meta.versionId``).

    Messages never change once their conversation is closed: a Communication has version 1.
    """
    if number > 2**31 or (kind == "Communication" and number != 1):
        abort(404)
    reader = _reader()
    version = None if kind == "Communication" else number
    patient_id, found = _one(reader, kind, resource_id, version)
    if found["meta"]["versionId"] != str(number):
        abort(404)
    reader.audit("fhir.api_read", patient_id, f"{kind}/_history/{number}")
    db.session.commit()
    return _answer(found)
