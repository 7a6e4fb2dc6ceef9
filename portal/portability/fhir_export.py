"""The agreed care plan as a FHIR R4 ``document`` Bundle, laid out as the PRSB Personalised Care
and Support Plan and claiming the UK Core profiles.

Only the **agreed** plan is the document: every section comes from the snapshot of what was
agreed (``portal.versions.services.snapshot`` over the latest agreed version), never from a
patient's or carer's unreviewed change. Proposals are added only when asked for, in a separate
CarePlan with ``intent = proposal`` and Goals with ``lifecycleStatus = proposed``, and the
Composition is then ``preliminary``.

Logical ids are UUIDs derived from the plan and the item, so the same plan exports the same ids,
and every resource carries a business identifier in the portal's own identifier systems.
"""

import json
import uuid
from datetime import UTC, datetime
from html import escape

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import (
    AboutKind,
    AccessGrant,
    CarePlan,
    ConsentRecord,
    ContactKind,
    Conversation,
    ConversationStatus,
    Goal,
    GoalStatus,
    Message,
    Organisation,
    Patient,
    PlanVersion,
    ReviewMeeting,
    Role,
    SharedResult,
    User,
    WrittenAs,
)
from portal.permissions import active_grants_query
from portal.portability import terminology as term
from portal.portability import valuesets as vs
from portal.sections import BY_KEY
from portal.versions.services import latest_version, snapshot

# Portal goal status -> (FHIR lifecycleStatus, achievementStatus code or None)
GOAL_STATUS_TO_FHIR = {
    GoalStatus.PROPOSED: ("proposed", None),
    GoalStatus.AGREED: ("active", "in-progress"),
    GoalStatus.ACHIEVED: ("completed", "achieved"),
    GoalStatus.NOT_ACHIEVED: ("completed", "not-achieved"),
    GoalStatus.WITHDRAWN: ("cancelled", None),
}
GENDER = {"female": "female", "male": "male", "other": "other"}
_SINGLE_ID = frozenset({"Composition", "Bundle"})  # identifier 0..1 rather than 0..*
_ID_NAMESPACE = uuid.UUID("6f1c2a55-1f0e-4d43-9a55-1c2a0b7e9d10")

# PRSB Personalised Care and Support Plan sections, in order: (key, title).
SECTIONS = (
    ("about_me", "About me"),
    ("what_matters", "What matters to me"),
    ("goals", "Goals and outcomes"),
    ("crisis", "Contingency and crisis plan"),
    ("usual_state", "Usual state of health"),
    ("contacts", "Contacts"),
    ("care_team", "Care team"),
    ("review", "Review"),
)


def _crisis_line(values: dict) -> str:
    """One agreed crisis step in the section's narrative: its fields, as sections.py lists
    them, with the level in words."""
    level = term.CRISIS_LEVELS.get(values.get("level"), ("",))[0]
    parts = (level if f == "level" else values.get(f) or "" for f in BY_KEY["crisis_steps"].fields)
    return " / ".join(part for part in parts if part)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def _narrative(*lines: str, lang: str | None = None) -> dict:
    """Generated XHTML narrative from plain lines (escaped: patients' words are not markup)."""
    attr = f' lang="{escape(lang)}" xml:lang="{escape(lang)}"' if lang else ""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line) or "<p>No entries.</p>"
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"{attr}>{body}</div>',
    }


def _bcp47(code: str | None) -> str | None:
    return code.replace("_", "-") if code else None


def _ref(url: str, display: str | None = None) -> dict:
    return {"reference": url, **({"display": display} if display else {})}


def _profile(name: str) -> dict:
    return {"profile": [f"https://fhir.hl7.org.uk/StructureDefinition/UKCore-{name}"]}


class DocumentBuilder:
    """Collects the resources of one document; each is added once, under a stable id."""

    def __init__(
        self,
        plan: CarePlan,
        proposals: bool = False,
        version: PlanVersion | None = None,
        conversations: bool = True,
    ):
        """``version``: the plan as agreed at that version, as stored (for versioned reads);
        ``conversations``: whether the reader may read the patient's conversations."""
        self.plan = plan
        self.conversations = conversations and version is None
        self.patient: Patient = plan.patient
        self.proposals = proposals and version is None
        self.entries: dict[str, dict] = {}
        self.sections: dict[str, list[dict]] = {key: [] for key, _title in SECTIONS}
        self.section_text: dict[str, list[str]] = {key: [] for key, _title in SECTIONS}
        # The live rows say who wrote an entry with the patient only for the plan as it is now.
        self.live = version is None
        if version is not None:
            self.version, self.agreed = version, version.snapshot
        else:
            self.version = latest_version(plan.id)
            self.agreed = snapshot(plan, self.version.snapshot if self.version else None)
        self.carer_refs: dict[int, str] = {}

    # --- ids --------------------------------------------------------------------------------

    def logical_id(self, kind: str, key) -> str:
        return str(uuid.uuid5(_ID_NAMESPACE, f"care-plan/{self.plan.id}/{kind}/{key}"))

    def identifier(self, kind: str, key) -> dict:
        return {"system": term.identifier_system(kind), "value": f"{self.plan.id}-{key}"}

    def add(self, resource: dict, kind: str, key, *, identifier: bool = True) -> str:
        """Add ``resource`` with a stable id; returns its full URL (``urn:uuid:...``)."""
        logical = self.logical_id(kind, key)
        url = f"urn:uuid:{logical}"
        if url not in self.entries:
            resource = {"resourceType": resource.pop("resourceType"), "id": logical, **resource}
            if identifier and "identifier" not in resource:
                ident = self.identifier(kind, key)
                single = resource["resourceType"] in _SINGLE_ID
                resource["identifier"] = ident if single else [ident]
            self.entries[url] = resource
        return url

    # --- people and organisations -----------------------------------------------------------

    def patient_ref(self) -> str:
        p = self.patient
        verification = vs.NHS_NUMBER_VERIFICATION[p.nhs_number_status or "not_traced"]
        resource = {
            "resourceType": "Patient",
            "meta": _profile("Patient"),
            "text": _narrative(
                f"{p.given_name} {p.family_name.upper()}",
                f"Born {p.date_of_birth.isoformat()}, NHS number {p.nhs_number}",
            ),
            "identifier": [
                {
                    "extension": [
                        {
                            "url": vs.NHS_NUMBER_VERIFICATION_EXTENSION,
                            "valueCodeableConcept": {
                                "coding": [
                                    {
                                        "system": vs.NHS_NUMBER_VERIFICATION_SYSTEM,
                                        "code": verification[0],
                                        "display": verification[1],
                                    }
                                ]
                            },
                        }
                    ],
                    "system": vs.NHS_NUMBER_SYSTEM,
                    "value": p.nhs_number,
                }
            ],
            "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
            "gender": GENDER.get(p.sex, "unknown"),
            "birthDate": p.date_of_birth.isoformat(),
            "communication": [
                {
                    "language": {
                        "coding": [
                            {"system": "urn:ietf:bcp:47", "code": _bcp47(p.preferred_language)}
                        ]
                    },
                    "preferred": True,
                }
            ],
        }
        if p.organisation:
            org = self.organisation_ref(p.organisation)
            resource["generalPractitioner"] = [_ref(org, p.organisation.name)]
            resource["managingOrganization"] = _ref(org, p.organisation.name)
        return self.add(resource, "patient", "patient", identifier=False)

    def organisation_ref(self, org: Organisation) -> str:
        telecom = [{"system": "phone", "value": org.phone}] if org.phone else []
        resource = {
            "resourceType": "Organization",
            "meta": _profile("Organization"),
            "text": _narrative(f"{org.name} ({org.ods_code})", org.phone or "", org.address or ""),
            "identifier": [{"system": vs.ODS_SYSTEM, "value": org.ods_code}],
            "active": True,
            "name": org.name,
            **({"telecom": telecom} if telecom else {}),
            **({"address": [{"text": org.address}]} if org.address else {}),
        }
        return self.add(resource, "organisation", org.ods_code, identifier=False)

    def practitioner_role_ref(
        self,
        key: str,
        name: str,
        role: str,
        org_name: str,
        phone: str,
        email: str,
        availability: str = "",
    ) -> str:
        practitioner = self.add(
            {
                "resourceType": "Practitioner",
                "meta": _profile("Practitioner"),
                "text": _narrative(name),
                "name": [{"text": name}],
            },
            "practitioner",
            key,
        )
        telecom = [{"system": "phone", "value": phone, "use": "work"}] if phone else []
        if email:
            telecom.append({"system": "email", "value": email, "use": "work"})
        resource = {
            "resourceType": "PractitionerRole",
            "meta": _profile("PractitionerRole"),
            "text": _narrative(f"{name}: {role}" if role else name, org_name, phone, email),
            "active": True,
            "practitioner": _ref(practitioner, name),
            **({"code": [{"text": role}]} if role else {}),
            **({"telecom": telecom} if telecom else {}),
            **({"availabilityExceptions": availability} if availability else {}),
        }
        user_org = self.patient.organisation
        if org_name and user_org and user_org.name == org_name:
            resource["organization"] = _ref(self.organisation_ref(user_org), org_name)
        elif org_name:
            resource["organization"] = {"display": org_name}
        return self.add(resource, "practitioner-role", key)

    def named_contact_ref(self) -> dict:
        """The agreed named contact (as the snapshot keeps them), as a PractitionerRole."""
        named = self.agreed["named_contact"]
        url = self.practitioner_role_ref(
            f"user-{named['id']}",
            named["name"],
            named.get("job_title", ""),
            named.get("organisation", ""),
            named.get("phone", ""),
            named.get("email", ""),
        )
        return _ref(url, named["name"])

    def written_with(self, live) -> dict | None:
        """The ``written-with-patient`` extension for an agreed entry a professional wrote
        with the patient in clinic (``author``: who, ``date``: when), else ``None``."""
        by = getattr(live, "updated_by", None) if self.live else None
        if by is None or not live.written_with_patient or live.pending_review:
            return None
        parts = []
        author = self.user_ref(by)
        if author and "reference" in author:
            parts.append({"url": "author", "valueReference": author})
        parts.append({"url": "date", "valueDateTime": _instant(live.updated_at)})
        return {"url": term.written_with_patient_extension(), "extension": parts}

    @staticmethod
    def written_with_text(written: dict | None) -> tuple[str, ...]:
        """The narrative line for the extension, in the document's English."""
        if not written:
            return ()
        parts = {p["url"]: p for p in written["extension"]}
        who = parts.get("author", {}).get("valueReference", {}).get("display", "a professional")
        return (f"Written with the patient by {who} on {parts['date']['valueDateTime'][:10]}",)

    def user_ref(self, user: User | None) -> dict | None:
        """A reference to whoever a portal user is in this document."""
        if user is None:
            return None
        if user.id == self.patient.user_id:
            return _ref(self.patient_ref(), self.patient.full_name)
        if user.id in self.carer_refs:
            return _ref(self.carer_refs[user.id], user.display_name)
        if user.role == Role.PROFESSIONAL:
            org = user.organisation.name if user.organisation else ""
            url = self.practitioner_role_ref(
                f"user-{user.id}",
                user.display_name,
                user.job_title or "",
                org,
                user.phone or "",
                user.email,
            )
            return _ref(url, user.display_name)
        return {"display": user.display_name}

    # --- sections ---------------------------------------------------------------------------

    def observation(
        self, section: str, key: str, entry: str, value: str, lang, status="final", live=None
    ):
        """One entry in the person's own words (a need, a wish, a part of the usual state)."""
        code = term.entry_code(entry, key)
        display = term.PLAN_ENTRIES[code]
        written = self.written_with(live)
        resource = {
            "resourceType": "Observation",
            **({"language": _bcp47(lang)} if lang else {}),
            "text": _narrative(
                f"{display}: {value}", *self.written_with_text(written), lang=_bcp47(lang)
            ),
            **({"extension": [written]} if written else {}),
            "status": status,
            "code": {
                "coding": [{"system": term.plan_entry_system(), "code": code, "display": display}],
                "text": display,
            },
            "subject": _ref(self.patient_ref()),
            "valueString": value,
        }
        url = self.add(resource, "observation", code + ("-proposal" if status != "final" else ""))
        self.sections[section].append(_ref(url, display))
        return url

    def conditions(self) -> None:
        for condition in self.patient.conditions:
            concepts = term.condition_concepts(condition.code)
            code = {"text": condition.name}
            if concepts:
                code["coding"] = [
                    {"system": vs.SNOMED, "code": c.code, "display": c.display} for c in concepts
                ]
            url = self.add(
                {
                    "resourceType": "Condition",
                    "meta": _profile("Condition"),
                    "text": _narrative(condition.name),
                    "clinicalStatus": {
                        "coding": [{"system": vs.CONDITION_CLINICAL_SYSTEM, "code": "active"}]
                    },
                    "verificationStatus": {
                        "coding": [
                            {"system": vs.CONDITION_VERIFICATION_SYSTEM, "code": "confirmed"}
                        ]
                    },
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": vs.CONDITION_CATEGORY_SYSTEM,
                                    "code": "problem-list-item",
                                    "display": "Problem List Item",
                                }
                            ]
                        }
                    ],
                    "code": code,
                    "subject": _ref(self.patient_ref()),
                },
                "condition",
                condition.code,
            )
            self.sections["usual_state"].append(_ref(url, condition.name))

    def goal(self, key: str, values: dict, live: Goal | None, proposal: str | None = None) -> str:
        status = GoalStatus(values["status"])
        lifecycle, achievement = GOAL_STATUS_TO_FHIR[status]
        if proposal:
            lifecycle, achievement = "proposed", None
        lang = _bcp47(values.get("language"))
        written = None if proposal else self.written_with(live)
        resource: dict = {
            "resourceType": "Goal",
            **({"language": lang} if lang else {}),
            "text": _narrative(
                values["title"],
                values.get("why_it_matters") or "",
                *self.written_with_text(written),
                lang=lang,
            ),
            **({"extension": [written]} if written else {}),
            "lifecycleStatus": lifecycle,
            "description": {"text": values["title"]},
            "subject": _ref(self.patient_ref()),
        }
        if proposal:
            resource["statusReason"] = proposal
        if achievement:
            resource["achievementStatus"] = {
                "coding": [{"system": vs.GOAL_ACHIEVEMENT_SYSTEM, "code": achievement}]
            }
        if values.get("target_date"):
            resource["target"] = [{"dueDate": values["target_date"]}]
        if values.get("why_it_matters"):
            resource["note"] = [{"text": values["why_it_matters"]}]
        expressed = self.user_ref(live.proposed_by) if live else None
        if expressed and "reference" in expressed:
            resource["expressedBy"] = expressed
        if live and live.created_at:
            resource["startDate"] = live.created_at.date().isoformat()
        kind = "goal-proposal" if proposal else "goal"
        url = self.add(resource, kind, key)
        if not proposal and live is not None:
            self.provenance(url, key, live)
        return url

    def provenance(self, target: str, key: str, goal: Goal) -> None:
        """Who proposed the goal, and who agreed it and when."""
        agents = []
        proposer = self.user_ref(goal.proposed_by)
        if proposer and "reference" in proposer:
            agents.append({"type": _participant("author", "Author"), "who": proposer})
        agreer = self.user_ref(goal.agreed_by)
        if agreer and "reference" in agreer:
            agents.append({"type": _participant("attester", "Attester"), "who": agreer})
        if not agents:
            return
        recorded = goal.agreed_at or goal.created_at
        lines = [
            f"{a['type']['coding'][0]['display']}: {a['who'].get('display', '')}" for a in agents
        ]
        self.add(
            {
                "resourceType": "Provenance",
                "meta": _profile("Provenance"),
                "text": _narrative(*lines),
                "target": [_ref(target)],
                "recorded": _instant(recorded) or _instant(_now()),
                "agent": agents,
            },
            "provenance-goal",
            key,
            identifier=False,
        )

    def crisis_activity(
        self, values: dict, status: str = "not-started", reason: str = "", live=None
    ) -> dict:
        level = values.get("level")
        display = term.CRISIS_LEVELS.get(level, (level, ""))[0]
        detail: dict = {
            "status": status,
            "code": {
                "coding": [
                    {"system": term.crisis_level_system(), "code": level, "display": display}
                ],
                "text": display,
            },
        }
        if reason:
            detail["statusReason"] = {"text": reason}
        if (values.get("signs") or "").strip():
            detail["reasonCode"] = [{"text": values["signs"]}]
        if (values.get("actions") or "").strip():
            detail["description"] = values["actions"]
        if (values.get("who_to_call") or "").strip():
            detail["performer"] = [{"display": values["who_to_call"]}]
        written = self.written_with(live)
        return {**({"extension": [written]} if written else {}), "detail": detail}

    def contact(self, key: str, values: dict, proposal: bool = False, live=None) -> str:
        kind = values.get("kind")
        label = term.CONTACT_KINDS.get(kind, kind or "")
        telecom = [{"system": "phone", "value": values["phone"]}] if values.get("phone") else []
        # The name, then what kind of contact, then the rest as ``portal.sections`` lists it.
        rest = (f for f in BY_KEY["contacts"].fields if f not in ("kind", "name"))
        lines = (values.get("name", ""), label, *(values.get(f, "") for f in rest))
        suffix = "-proposal" if proposal else ""
        when = values.get("when_to_call") or ""
        extension = [{"url": term.when_to_call_extension(), "valueString": when}] if when else []
        written = None if proposal else self.written_with(live)
        if written:
            extension.append(written)
            lines = (*lines, *self.written_with_text(written))
        if kind in (ContactKind.PRACTICE, ContactKind.OUT_OF_HOURS, ContactKind.SPECIALIST):
            resource = {
                "resourceType": "Organization",
                "meta": _profile("Organization"),
                "text": _narrative(*lines),
                **({"extension": extension} if extension else {}),
                "active": True,
                "type": [{"text": label}],
                "name": values.get("name") or label,
                **({"telecom": telecom} if telecom else {}),
            }
            return self.add(resource, "contact", key + suffix)
        relationship = []
        if kind in term.CONTACT_RELATIONSHIP:
            system, code, display = term.CONTACT_RELATIONSHIP[kind]
            relationship.append({"coding": [{"system": system, "code": code, "display": display}]})
        if values.get("relationship_to_patient"):
            relationship.append({"text": values["relationship_to_patient"]})
        lang = _bcp47(values.get("language"))
        resource = {
            "resourceType": "RelatedPerson",
            "meta": _profile("RelatedPerson"),
            **({"language": lang} if lang else {}),
            "text": _narrative(*lines, lang=lang),
            **({"extension": extension} if extension else {}),
            "active": not proposal,
            "patient": _ref(self.patient_ref()),
            **({"relationship": relationship} if relationship else {}),
            "name": [{"text": values.get("name") or label}],
            **({"telecom": telecom} if telecom else {}),
        }
        return self.add(resource, "contact", key + suffix)

    def carers(self) -> None:
        """People the patient shares the plan with, as RelatedPerson with a coded relationship."""
        grants = db.session.scalars(
            active_grants_query().where(AccessGrant.patient_id == self.patient.id)
        ).all()
        system, code, display = term.CARER_RELATIONSHIP
        for grant in grants:
            name = grant.grantee.display_name if grant.grantee else grant.invited_email
            relationship = [{"coding": [{"system": system, "code": code, "display": display}]}]
            if grant.relationship_to_patient:
                relationship.append({"text": grant.relationship_to_patient})
            url = self.add(
                {
                    "resourceType": "RelatedPerson",
                    "meta": _profile("RelatedPerson"),
                    "text": _narrative(name, grant.relationship_to_patient or display),
                    "active": True,
                    "patient": _ref(self.patient_ref()),
                    "relationship": relationship,
                    "name": [{"text": name}],
                    "telecom": [{"system": "email", "value": grant.invited_email}],
                },
                "carer",
                grant.id,
            )
            if grant.grantee_id:
                self.carer_refs[grant.grantee_id] = url
            self.sections["contacts"].append(_ref(url, name))

    def care_team(self) -> str:
        participants = []
        named = self.agreed.get("named_contact")
        if named:
            participant = {"role": [{"text": "Named contact"}], "member": self.named_contact_ref()}
            if self.patient.organisation:
                participant["onBehalfOf"] = _ref(
                    self.organisation_ref(self.patient.organisation), self.patient.organisation.name
                )
            participants.append(participant)
            self.section_text["care_team"].append(f"Named contact: {named['name']}")
        telecom = []
        for member in self.plan.care_team:
            url = self.practitioner_role_ref(
                f"member-{member.id}",
                member.name,
                member.role,
                member.organisation,
                member.phone,
                member.email,
                member.availability,
            )
            participants.append({"role": [{"text": member.role}], "member": _ref(url, member.name)})
            self.section_text["care_team"].append(f"{member.name}, {member.role} {member.phone}")
        if named and named.get("phone"):
            telecom.append({"system": "phone", "value": named["phone"], "use": "work"})
        resource = {
            "resourceType": "CareTeam",
            "meta": _profile("CareTeam"),
            "text": _narrative(*self.section_text["care_team"]),
            "status": "active",
            "name": "Care team",
            "subject": _ref(self.patient_ref()),
            "participant": participants,
            **({"telecom": telecom} if telecom else {}),
        }
        if self.patient.organisation:
            resource["managingOrganization"] = [
                _ref(self.organisation_ref(self.patient.organisation))
            ]
        url = self.add(resource, "care-team", "team")
        self.sections["care_team"].append(_ref(url, "Care team"))
        return url

    def consent(self) -> None:
        record = db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.patient_id == self.patient.id)
            .order_by(ConsentRecord.id.desc())
        ).first()
        if record is None:
            return
        share = record.share_with_care_team
        self.add(
            {
                "resourceType": "Consent",
                "meta": _profile("Consent"),
                "text": _narrative(
                    "Share my care plan with my care team: " + ("yes" if share else "no")
                ),
                "status": "active",
                "scope": {
                    "coding": [{"system": vs.CONSENT_SCOPE_SYSTEM, "code": "patient-privacy"}]
                },
                "category": [
                    {
                        "coding": [
                            {"system": vs.LOINC, "code": "59284-0", "display": "Consent Document"}
                        ]
                    }
                ],
                "patient": _ref(self.patient_ref()),
                "dateTime": _instant(record.created_at),
                "organization": [_ref(self.organisation_ref(self.patient.organisation))]
                if self.patient.organisation
                else [],
                "policyRule": {
                    "coding": [
                        {
                            "system": vs.ACT_CODE_SYSTEM,
                            "code": "OPTIN" if share else "OPTOUT",
                            "display": "opt-in" if share else "opt-out",
                        }
                    ]
                },
                "provision": {"type": "permit" if share else "deny"},
            },
            "consent",
            record.id,
        )

    # --- the whole document -----------------------------------------------------------------

    def build(self) -> dict:
        patient = self.patient_ref()
        self.carers()
        agreed = self.agreed
        about = self.section_text["about_me"]
        about.append(f"Preferred language: {self.patient.preferred_language}")
        if self.patient.interpreter_needed:
            about.append(f"Needs an interpreter: {self.patient.interpreter_language or ''}")
        if self.patient.communication_needs:
            about.append(f"Communication needs: {self.patient.communication_needs}")
        live_needs = {n.domain: n for n in self.plan.needs}
        for domain, values in (agreed.get("needs") or {}).items():
            if domain in term.NEEDS and (values.get("text") or "").strip():
                self.observation(
                    "about_me",
                    domain,
                    "need",
                    values["text"],
                    values.get("language"),
                    live=live_needs.get(domain),
                )
        live_wishes = {w.kind: w for w in self.plan.wishes}
        for kind, values in (agreed.get("wishes") or {}).items():
            if kind in term.WISHES and (values.get("text") or "").strip():
                self.observation(
                    "what_matters",
                    kind,
                    "wish",
                    values["text"],
                    values.get("language"),
                    live=live_wishes.get(kind),
                )
        live_goals = {str(g.id): g for g in self.plan.goals}
        goal_refs, activities = [], []
        for key, values in (agreed.get("goals") or {}).items():
            url = self.goal(key, values, live_goals.get(key))
            goal_refs.append(_ref(url, values["title"]))
            self.sections["goals"].append(_ref(url, values["title"]))
            if (values.get("steps") or "").strip():
                activities.append(
                    {
                        "detail": {
                            "status": "in-progress"
                            if values["status"] == GoalStatus.AGREED
                            else "completed",
                            "description": values["steps"],
                            "goal": [_ref(url)],
                        }
                    }
                )
        steps = sorted(
            (agreed.get("crisis_steps") or {}).items(),
            key=lambda kv: (kv[1].get("position") or 0, int(kv[0]) if kv[0].isdigit() else 0),
        )
        live_steps = {str(step.id): step for step in self.plan.crisis_steps}
        for key, values in steps:
            activities.append(self.crisis_activity(values, live=live_steps.get(key)))
            self.section_text["crisis"].append(_crisis_line(values))
        usual = agreed.get("usual_state") or {}
        for field in BY_KEY["usual_state"].fields:
            if (usual.get(field) or "").strip():
                self.observation(
                    "usual_state",
                    field,
                    "usual",
                    usual[field],
                    usual.get("language"),
                    live=self.plan.usual_state,
                )
        self.conditions()
        live_contacts = {str(c.id): c for c in self.plan.contacts}
        for key, values in (agreed.get("contacts") or {}).items():
            url = self.contact(key, values, live=live_contacts.get(key))
            self.sections["contacts"].append(_ref(url, values.get("name")))
        team = self.care_team()
        self.consent()
        activities.extend(self.meetings())
        self.results()
        careplan = self.careplan(patient, team, goal_refs, activities)
        self.sections["crisis"].append(_ref(careplan, "Personalised care and support plan"))
        self.sections["goals"].insert(0, _ref(careplan, "Personalised care and support plan"))
        if self.conversations:
            self.communications(careplan, team)
        if self.proposals:
            self.add_proposals(careplan)
        self.version_provenance(careplan)
        composition = self.composition(patient)
        self.stamp()
        entries = [{"fullUrl": composition, "resource": self.entries.pop(composition)}]
        entries += [{"fullUrl": url, "resource": res} for url, res in self.entries.items()]
        return {
            "resourceType": "Bundle",
            "id": self.logical_id("bundle", self.version.number if self.version else 0),
            "meta": {
                **_profile("Bundle"),
                "lastUpdated": _instant(self.plan.updated_at or _now()),
            },
            "identifier": {
                "system": term.identifier_system("care-plan-document"),
                "value": f"{self.plan.id}-{self.version.number if self.version else 0}"
                + ("-with-proposals" if self.proposals else ""),
            },
            "type": "document",
            "timestamp": _instant(_now()),
            "entry": entries,
        }

    def stamp(self) -> None:
        """``meta.versionId`` and ``meta.lastUpdated`` on every resource.

        A resource's version is the agreed version of the plan it was read from (messages never
        change: always version 1). Its last update is the latest change the portal keeps a time
        for anywhere in the plan, so a client asking for what changed since a moment never
        misses a change; it may be sent something that did not change.
        """
        number = str(self.version.number if self.version else 0)
        last = _instant(self.last_changed())
        for resource in self.entries.values():
            meta = resource.setdefault("meta", {})
            meta.setdefault("versionId", number)
            meta.setdefault("lastUpdated", last)
            resource["meta"] = {
                "versionId": meta.pop("versionId"),
                "lastUpdated": meta.pop("lastUpdated"),
                **meta,
            }

    def last_changed(self) -> datetime:
        """The latest moment anything in the plan, its sharing or its reviews changed."""
        if self.version is not None and self.agreed is self.version.snapshot:
            return self.version.agreed_at
        plan = self.plan
        moments = [plan.updated_at, plan.created_at]
        if self.version is not None:
            moments.append(self.version.agreed_at)
        items = [*plan.goals, *plan.needs, *plan.wishes, *plan.crisis_steps, *plan.contacts]
        if plan.usual_state is not None:
            items.append(plan.usual_state)
        moments += [item.updated_at for item in items]
        patient_id = self.patient.id
        for model, columns in (
            (AccessGrant, ("created_at", "accepted_at", "revoked_at")),
            (ConsentRecord, ("created_at",)),
        ):
            moments += db.session.execute(
                select(*(func.max(getattr(model, c)) for c in columns)).where(
                    model.patient_id == patient_id
                )
            ).one()
        for model in (ReviewMeeting, SharedResult):
            moments.append(
                db.session.scalar(
                    select(func.max(model.created_at)).where(model.plan_id == plan.id)
                )
            )
        if self.conversations:
            moments.append(
                db.session.scalar(
                    select(func.max(Conversation.closed_at)).where(
                        Conversation.patient_id == patient_id
                    )
                )
            )
        known = [m.replace(tzinfo=UTC) if m.tzinfo is None else m for m in moments if m]
        return max(known)

    def careplan(self, patient: str, team: str, goal_refs, activities) -> str:
        period = {"start": self.plan.created_at.date().isoformat()}
        if self.plan.next_review_date:
            period["end"] = self.plan.next_review_date.isoformat()
        conditions = [
            _ref(url, res["code"]["text"])
            for url, res in self.entries.items()
            if res["resourceType"] == "Condition"
        ]
        author = self.agreed.get("named_contact")
        resource = {
            "resourceType": "CarePlan",
            "meta": {
                **_profile("CarePlan"),
                "versionId": str(self.version.number if self.version else 0),
            },
            "text": _narrative(
                "Personalised care and support plan",
                f"Agreed version {self.version.number}" if self.version else "Not yet agreed",
                f"Next review: {self.plan.next_review_date.isoformat()}"
                if self.plan.next_review_date
                else "",
            ),
            "status": "active" if self.plan.status == "active" else "draft",
            "intent": "plan",
            "category": [
                {"coding": [{"system": vs.SNOMED, "code": "734163000", "display": "Care plan"}]}
            ],
            "title": "Personalised care and support plan",
            "subject": _ref(patient),
            "period": period,
            "careTeam": [_ref(team)],
            **({"addresses": conditions} if conditions else {}),
            **({"goal": goal_refs} if goal_refs else {}),
            **({"activity": activities} if activities else {}),
        }
        if self.version:
            resource["created"] = _instant(self.version.agreed_at)
        if author:
            resource["author"] = self.named_contact_ref()
        elif self.patient.organisation:
            resource["author"] = _ref(self.organisation_ref(self.patient.organisation))
        return self.add(resource, "care-plan", "plan")

    def meetings(self) -> list[dict]:
        rows = db.session.scalars(
            select(ReviewMeeting)
            .where(ReviewMeeting.plan_id == self.plan.id)
            .order_by(ReviewMeeting.id)
        ).all()
        activities = []
        for meeting in rows:
            held = meeting.status == "held"
            when = (
                meeting.held_on.isoformat() if meeting.held_on else _instant(meeting.scheduled_for)
            )
            detail: dict = {
                "kind": "Appointment",
                "status": "completed" if held else "scheduled",
                "description": "Care plan review",
            }
            if held and meeting.held_on:
                detail["scheduledString"] = meeting.held_on.isoformat()
            elif meeting.scheduled_for:
                detail["scheduledPeriod"] = {"start": _instant(meeting.scheduled_for)}
            if meeting.location:
                detail["location"] = {"display": meeting.location}
            activities.append({"detail": detail})
            self.section_text["review"].append(
                f"Review {'held' if held else 'planned'} {when or ''} {meeting.location}".strip()
            )
        review = self.agreed.get("review") or {}
        if review.get("last_review_date"):
            self.section_text["review"].append(f"Last review: {review['last_review_date']}")
        if review.get("next_review_date"):
            self.section_text["review"].append(f"Next review due: {review['next_review_date']}")
        return activities

    def results(self) -> None:
        rows = db.session.scalars(
            select(SharedResult)
            .where(SharedResult.plan_id == self.plan.id)
            .order_by(SharedResult.id)
        ).all()
        for result in rows:
            url = self.add(
                {
                    "resourceType": "Observation",
                    "meta": _profile("Observation"),
                    "text": _narrative(f"{result.name}: {result.value}", result.explanation),
                    "status": "final",
                    "code": {"text": result.name},
                    "subject": _ref(self.patient_ref()),
                    **(
                        {"effectiveDateTime": result.taken_on.isoformat()}
                        if result.taken_on
                        else {}
                    ),
                    "valueString": result.value,
                    **({"note": [{"text": result.explanation}]} if result.explanation else {}),
                },
                "result",
                result.id,
            )
            self.sections["review"].append(_ref(url, result.name))

    def communications(self, careplan: str, team: str) -> None:
        """Closed conversations with the care team, one Communication per message.

        They document the two-way dialogue about the plan; open ones are still under way in
        the portal. UK Core has no Communication profile, so these are plain R4 (as Goals are).
        """
        rows = db.session.scalars(
            select(Conversation)
            .where(
                Conversation.patient_id == self.patient.id,
                Conversation.status == ConversationStatus.CLOSED,
            )
            .options(selectinload(Conversation.messages).joinedload(Message.author))
            .order_by(Conversation.id)
        ).all()
        for conversation in rows:
            about = self.conversation_about(conversation, careplan)
            previous = None
            for message in conversation.messages:
                patient_side = message.written_as != WrittenAs.PROFESSIONAL
                lang = _bcp47(message.language)
                sender = self.user_ref(message.author) or {"display": "Unknown"}
                sent = _instant(message.created_at)
                resource: dict = {
                    "resourceType": "Communication",
                    "meta": {"versionId": "1", "lastUpdated": sent},
                    **({"language": lang} if lang else {}),
                    "text": _narrative(f"{sender.get('display', '')}: {message.body}", lang=lang),
                    "status": "completed",
                    "category": [{"text": "Conversation with the care team about the plan"}],
                    "subject": _ref(self.patient_ref()),
                    "topic": {"text": conversation.subject},
                    "about": [about],
                    "sent": sent,
                    "sender": sender,
                    "recipient": [
                        _ref(team, "Care team")
                        if patient_side
                        else _ref(self.patient_ref(), self.patient.full_name)
                    ],
                    "payload": [{"contentString": message.body}],
                }
                if previous:
                    resource["inResponseTo"] = [_ref(previous)]
                if message is conversation.messages[-1] and conversation.outcome:
                    closed = _instant(conversation.closed_at)
                    resource["note"] = [
                        {
                            "text": f"Closed with this outcome: {conversation.outcome}",
                            **({"time": closed} if closed else {}),
                        }
                    ]
                    resource["meta"]["lastUpdated"] = closed or sent
                previous = self.add(resource, "communication", message.id)
            self.sections["review"].append(_ref(previous, conversation.subject))

    def conversation_about(self, conversation: Conversation, careplan: str) -> dict:
        """The part of the plan a conversation is about, when the document holds it."""
        kinds = {AboutKind.GOAL: "goal", AboutKind.RESULT: "result"}
        kind = kinds.get(AboutKind(conversation.about_kind))
        if kind and conversation.about_id is not None:
            url = f"urn:uuid:{self.logical_id(kind, conversation.about_id)}"
            if url in self.entries:
                return _ref(url)
        return _ref(careplan, "Personalised care and support plan")

    def add_proposals(self, careplan: str) -> None:
        """Unreviewed changes, marked as proposals: never part of the agreed plan."""
        agreed_goals = self.agreed.get("goals") or {}
        goal_refs, activities, lines = [], [], []
        for goal in self.plan.goals:
            if not goal.pending_review:
                continue
            key = str(goal.id)
            if goal.status == GoalStatus.WITHDRAWN:
                if key not in agreed_goals:
                    continue
                reason = "Asked to withdraw this goal, to be agreed at the review"
            elif key in agreed_goals:
                reason = "Asked to change this goal, to be agreed at the review"
            else:
                reason = "New goal, to be agreed at the review"
            values = {
                "title": goal.title,
                "why_it_matters": goal.why_it_matters,
                "target_date": goal.target_date.isoformat() if goal.target_date else None,
                "status": goal.status,
                "language": goal.language,
            }
            url = self.goal(key, values, goal, proposal=reason)
            goal_refs.append(_ref(url, goal.title))
            if goal.steps.strip() and goal.status != GoalStatus.WITHDRAWN:
                activities.append(
                    {
                        "detail": {
                            "status": "not-started",
                            "description": goal.steps,
                            "goal": [_ref(url)],
                        }
                    }
                )
            lines.append(f"{reason}: {goal.title}")
        for step in self.plan.crisis_steps:
            if not step.pending_review:
                continue
            values = {f: getattr(step, f) for f in BY_KEY["crisis_steps"].fields}
            if step.removal_proposed:
                reason = "Asked to remove this step, to be agreed at the review"
                activities.append(self.crisis_activity(values, "cancelled", reason))
            else:
                reason = "New or changed step, to be agreed at the review"
                activities.append(self.crisis_activity(values, "not-started", reason))
            lines.append(f"{reason}: {step.signs}")
        for contact in self.plan.contacts:
            if contact.removal_proposed:
                lines.append(f"Asked to remove this contact: {contact.name}")
        if not (goal_refs or activities or lines):
            return
        url = self.add(
            {
                "resourceType": "CarePlan",
                "meta": _profile("CarePlan"),
                "text": _narrative("Proposed changes, not yet agreed", *lines),
                "status": "draft",
                "intent": "proposal",
                "title": "Proposed changes to the personalised care and support plan",
                "subject": _ref(self.patient_ref()),
                "basedOn": [_ref(careplan)],
                **({"goal": goal_refs} if goal_refs else {}),
                **({"activity": activities} if activities else {}),
            },
            "care-plan",
            "proposal",
        )
        self.sections["review"].append(_ref(url, "Proposed changes, not yet agreed"))

    def version_provenance(self, careplan: str) -> None:
        version = self.version
        if version is None:
            return
        who = self.user_ref(version.agreed_by)
        agents = []
        if who and "reference" in who:
            agents.append({"type": _participant("attester", "Attester"), "who": who})
        if self.patient.organisation:
            org = self.organisation_ref(self.patient.organisation)
            agents.append({"type": _participant("custodian", "Custodian"), "who": _ref(org)})
        if not agents:
            return
        self.add(
            {
                "resourceType": "Provenance",
                "meta": _profile("Provenance"),
                "text": _narrative(
                    f"Version {version.number} agreed {_instant(version.agreed_at)}",
                    who.get("display", "") if who else "",
                ),
                "target": [_ref(careplan)],
                "recorded": _instant(version.agreed_at),
                "activity": {"coding": [{"system": vs.DATA_OPERATION_SYSTEM, "code": "UPDATE"}]},
                "agent": agents,
            },
            "provenance-version",
            version.number,
            identifier=False,
        )

    def composition(self, patient: str) -> str:
        sections = []
        for key, title in SECTIONS:
            lines = list(self.section_text[key])
            entries = self.sections[key]
            lines += [e.get("display", "") for e in entries if e.get("display")]
            section = {"title": title, "code": {"text": title}, "text": _narrative(*lines)}
            if entries:
                section["entry"] = entries
            else:
                section["emptyReason"] = {
                    "coding": [
                        {
                            "system": vs.LIST_EMPTY_REASON_SYSTEM,
                            "code": "nilknown",
                            "display": "Nil Known",
                        }
                    ]
                }
                if not self.section_text[key]:
                    section["text"] = _narrative("Nothing recorded.")
                else:
                    del section["emptyReason"]
            sections.append(section)
        version = self.version
        resource = {
            "resourceType": "Composition",
            "meta": _profile("Composition"),
            "text": _narrative(
                "Personalised care and support plan",
                self.patient.full_name,
                "Includes proposals not yet agreed" if self.proposals else "Agreed plan",
            ),
            "status": "preliminary" if self.proposals or version is None else "final",
            "type": {
                "coding": [{"system": vs.SNOMED, "code": "734163000", "display": "Care plan"}],
                "text": "Personalised care and support plan",
            },
            "subject": _ref(patient, self.patient.full_name),
            "date": _instant(version.agreed_at if version else _now()),
            "title": "Personalised care and support plan",
            "section": sections,
        }
        authors = []
        if self.agreed.get("named_contact"):
            authors.append(self.named_contact_ref())
        if self.patient.organisation:
            org = self.organisation_ref(self.patient.organisation)
            authors.append(_ref(org, self.patient.organisation.name))
            resource["custodian"] = _ref(org, self.patient.organisation.name)
        resource["author"] = authors or [_ref(patient)]
        if version is not None:
            who = self.user_ref(version.agreed_by)
            attester = {"mode": "professional", "time": _instant(version.agreed_at)}
            if who and "reference" in who:
                attester["party"] = who
            resource["attester"] = [attester]
        suffix = "-with-proposals" if self.proposals else ""
        return self.add(resource, "composition", f"{version.number if version else 0}{suffix}")


def _participant(code: str, display: str) -> dict:
    return {
        "coding": [{"system": vs.PROVENANCE_PARTICIPANT_SYSTEM, "code": code, "display": display}]
    }


def build_document(
    plan: CarePlan,
    proposals: bool = False,
    version: PlanVersion | None = None,
    conversations: bool = True,
) -> dict:
    """The agreed plan as a document Bundle (plain data), checked against FHIR R4B."""
    document = DocumentBuilder(plan, proposals, version, conversations).build()
    Bundle.model_validate(document)
    return document


def bundle_json(plan: CarePlan, proposals: bool = False, conversations: bool = True) -> str:
    return json.dumps(
        build_document(plan, proposals, conversations=conversations), ensure_ascii=False, indent=2
    )
