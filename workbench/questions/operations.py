"""Question operations: author, check, edit, clone, add to / delete from a room, permissions,
terms, and room templates as YAML.

Each operation is one transaction that calls ``ensure_allowed`` exactly once, validates, then acts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import yaml

from workbench.errors import InvalidInput, NotFound, RuleViolation
from workbench.governance._records import room_orgs
from workbench.governance.audit import record
from workbench.governance.model import Actor
from workbench.governance.policy import ensure_allowed, ensure_allowed_in_room, room_access
from workbench.data.templates import template_of, write_template
from workbench.ids import new_id, parse_uuid
from workbench.questions import _records as records
from workbench.questions import permissions as qp
from workbench.questions import terms as qt
from workbench.questions._records import PermissionSetting, QuestionRecord
from workbench.questions.binding import DatasetBinding
from workbench.questions.checks import violations
from workbench.questions.params import Parameter
from workbench.questions.spec import Question
from workbench.store import Store
from workbench.wire import data as dw
from workbench.wire import questions as w

TEMPLATE_FORMAT = "clean-room-workbench/template-v1"


def spec_from_draft(draft: w.QuestionDraft | dict[str, Any], author_org_id: str,
                    version: int = 1, cloned_from: str | None = None) -> Question:
    """The frozen spec of a draft (validates SQL, parameters and bounds)."""
    data = draft.model_dump() if isinstance(draft, w.QuestionDraft) else dict(draft)
    params = tuple(Parameter.from_dict({k: v for k, v in p.items() if v not in (None, [], "")
                                        or k in ("name", "type")})
                   for p in data.get("parameters") or [])
    return Question(
        name=data["name"], sql=data["sql"], parameters=params, kind=data.get("kind", "analytical"),
        description=data.get("description", ""), max_rows=data.get("max_rows", 1),
        max_groups=data.get("max_groups", 1), author_org_id=author_org_id, version=version,
        cloned_from=cloned_from, scales=dict(data.get("scales") or {}),
    )


def room_bindings(cur: Any, room_id: str, macros: list[str] | tuple[str, ...]
                  ) -> dict[str, DatasetBinding]:
    """The room's bindings of ``macros``; macros the room has not mapped are left out."""
    from workbench.data import provisioning

    out: dict[str, DatasetBinding] = {}
    for macro in macros:
        try:
            resolved = provisioning.resolve(cur, room_id, macro)
        except NotFound:
            continue
        if resolved is not None:
            out[macro] = DatasetBinding.from_resolved(macro, resolved)
    return out


def _load(cur: Any, room_id: str, question_id: str) -> tuple[QuestionRecord, Question]:
    rec = records.question(cur, room_id, question_id)
    if rec is None:
        raise NotFound(f"no question {question_id} in this room")
    return rec, Question.from_dict(rec.spec_dict())


def stored_question(cur: Any, room_id: str, question_id: str) -> tuple[QuestionRecord, Question]:
    """The stored record and spec of a question in a room (NotFound otherwise)."""
    return _load(cur, room_id, parse_uuid(question_id, "question"))


def load_question(cur: Any, room_id: str, question_id: str) -> tuple[tuple[Any, ...], Question]:
    """Positional form of :func:`stored_question` for callers not yet moved to the record
    (runs reads ``row[0]`` id and ``row[5]`` version); new code uses stored_question."""
    rec, spec = stored_question(cur, room_id, question_id)
    row = (rec.id, rec.room_id, rec.author_org_id, rec.author_user_id, rec.name, rec.version,
           rec.spec, rec.in_room, rec.cloned_from, rec.created_at, rec.updated_at)
    return row, spec


def _terms(cur: Any, question_id: str) -> w.Terms:
    return w.Terms(runners=qt.runners(cur, question_id), receivers=qt.receivers(cur, question_id))


def _out(cur: Any, actor: Actor, rec: QuestionRecord, spec: Question) -> w.Question:
    mine = qp.effective(cur, rec.id, actor.org_id)
    return w.Question(
        id=rec.id, room_id=rec.room_id, author_org_id=rec.author_org_id,
        author_user_id=rec.author_user_id, name=spec.name, kind=spec.kind,
        description=spec.description, version=rec.version, in_room=rec.in_room,
        sql=spec.sql if mine["view_code"] else None,
        parameters=[p.to_dict() for p in spec.parameters],
        fields={k: list(v) for k, v in spec.fields.items()},
        max_rows=spec.max_rows, max_groups=spec.max_groups, cloned_from=rec.cloned_from,
        scales=dict(spec.scales), terms=_terms(cur, rec.id), my_permissions=mine,
        permission_overrides=[r for r in _overrides(cur, rec.id) if rec.author_org_id == actor.org_id
                              or r.partner_org_id in ("*", actor.org_id)],
        created_at=str(rec.created_at), updated_at=str(rec.updated_at),
    )


#: shown with every check verdict in a room without differential privacy
EXACT_NOTICE = (
    "Differential privacy is OFF in this room: results are exact. Each run reads only people whose "
    "whole public profile (the datasets they are in, their public-list values) at least k-min "
    "people share, and exact rooms accept only shapes whose rows are unions of those crowds, so "
    "no difference of results isolates a smaller group. This is weaker than differential "
    "privacy: knowing all but one member of a crowd tells the last one's values, another room over "
    "changed data can be compared with this one, and a party that builds its dataset "
    "around people it knows can defeat any crowd rule.")


def _report(cur: Any, room_id: str, spec: Question, dp: bool) -> w.CheckReport:
    bindings = room_bindings(cur, room_id, tuple(spec.fields))
    found = violations(spec, bindings, strict=False, mode="dp" if dp else "exact")
    return w.CheckReport(
        ok=not found, violations=[w.Violation(**v.to_dict()) for v in found],
        fields={k: list(v) for k, v in spec.fields.items()},
        unmapped=sorted(set(spec.fields) - set(bindings)),
        dp=dp, notice=None if dp else EXACT_NOTICE,
    )


def _raise_if_violations(report: w.CheckReport) -> None:
    if report.violations:
        lines = "; ".join(f"[{v.rule}] {v.message}" for v in report.violations)
        raise RuleViolation(
            f"the question breaks {len(report.violations)} analysis rule(s): {lines}",
            violations=[v.model_dump() for v in report.violations],
        )


def check_question(store: Store, actor: Actor, room_id: str, draft: w.QuestionDraft
                   ) -> w.CheckReport:
    """Check a draft against the room's rules and report every violation; saves nothing."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed_in_room(cur, actor, "question.check", room_id=room_id,
                                resource_type="question")
        return _report(cur, room_id, spec_from_draft(draft, actor.org_id),
                       access.room.dp_enabled)


def _insert(cur: Any, actor: Actor, room_id: str, spec: Question, *, in_room: bool = False,
            cloned_from: str | None = None) -> str:
    qid = new_id()
    records.insert_question(cur, question_id=qid, room_id=room_id, author_org_id=actor.org_id,
                            author_user_id=actor.user_id, name=spec.name, version=spec.version,
                            spec=spec.to_dict(), in_room=in_room, cloned_from=cloned_from)
    records.save_version(cur, qid, spec.version, spec.to_dict(), actor.user_id)
    return qid


def create_question(store: Store, actor: Actor, room_id: str, draft: w.QuestionDraft
                    ) -> w.Question:
    """Author a question in the room; it must pass the rules the room already has."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "question.author", room_id=room_id,
                                resource_type="question", detail={"name": draft.name})
        spec = spec_from_draft(draft, actor.org_id)
        _raise_if_violations(_report(cur, room_id, spec, access.room.dp_enabled))
        qid = _insert(cur, actor, room_id, spec)
        return _out(cur, actor, *_load(cur, room_id, qid))


def list_questions(store: Store, actor: Actor, room_id: str) -> list[w.Question]:
    """The room's questions, the SQL only where the caller's org may view it."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "question.list", room_id=room_id, resource_type="question")
        ids = records.question_ids(cur, room_id)
        return [_out(cur, actor, *_load(cur, room_id, qid)) for qid in ids]


def get_question(store: Store, actor: Actor, room_id: str, question_id: str) -> w.Question:
    """One question."""
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "question.read", room_id=room_id, resource_type="question",
                       resource_id=question_id)
        return _out(cur, actor, *_load(cur, room_id, question_id))


def update_question(store: Store, actor: Actor, room_id: str, question_id: str,
                    body: w.QuestionUpdate) -> w.Question:
    """Edit a question (Edit and Delete question permission); a new version each time. A
    partner's edit takes the question out of the room until the owner adds it again."""
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    changes = body.model_dump(exclude_unset=True)
    with store.transaction() as cur:
        access = ensure_allowed_in_room(cur, actor, "question.update", room_id=room_id,
                                resource_type="question", resource_id=question_id,
                                detail={"fields": sorted(changes)})
        rec, old = _load(cur, room_id, question_id)
        if not changes:
            raise InvalidInput("nothing to change: give at least one field")
        data = old.to_dict()
        data.update(changes)
        data["version"] = rec.version + 1
        spec = spec_from_draft({k: v for k, v in data.items() if k in w.QuestionDraft.model_fields},
                               rec.author_org_id, version=rec.version + 1,
                               cloned_from=rec.cloned_from)
        _raise_if_violations(_report(cur, room_id, spec, access.room.dp_enabled))
        # the owner added the version it read: a partner's edit waits for the owner again
        records.update_question(cur, question_id, name=spec.name, version=spec.version,
                                spec=spec.to_dict(), keep_in_room=access.is_owner)
        records.save_version(cur, question_id, spec.version, spec.to_dict(), actor.user_id)
        return _out(cur, actor, *_load(cur, room_id, question_id))


def clone_question(store: Store, actor: Actor, room_id: str, question_id: str,
                   name: str | None = None) -> w.Question:
    """A new question owned by the caller's org, a copy of one it may clone."""
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "question.clone", room_id=room_id, resource_type="question",
                       resource_id=question_id)
        _, old = _load(cur, room_id, question_id)
        data = {k: v for k, v in old.to_dict().items() if k in w.QuestionDraft.model_fields}
        data["name"] = name or f"{old.name} (copy)"
        spec = spec_from_draft(data, actor.org_id, cloned_from=question_id)
        qid = _insert(cur, actor, room_id, spec, cloned_from=question_id)
        return _out(cur, actor, *_load(cur, room_id, qid))


def add_question(store: Store, actor: Actor, room_id: str, question_id: str) -> w.Question:
    """Owner only: make an authored question part of the room (runnable)."""
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "question.add", room_id=room_id, resource_type="question",
                       resource_id=question_id)
        _load(cur, room_id, question_id)
        records.set_in_room(cur, question_id)
        return _out(cur, actor, *_load(cur, room_id, question_id))


def delete_question(store: Store, actor: Actor, room_id: str, question_id: str) -> None:
    """Delete a question from the room.

    The owner (Add and Delete Questions) deletes it with its terms and permission overrides. A
    partner whose question permission is Edit and Delete Question takes it out of the room
    instead: it no longer runs there, and the author's copy stays with the author. Runs already
    made keep their stored results and the question version they ran.
    """
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    with store.transaction() as cur:
        access = room_access(cur, actor, room_id)
        owner = access is not None and access.is_owner
        ensure_allowed(cur, actor, "question.delete" if owner else "question.remove",
                       room_id=room_id, resource_type="question", resource_id=question_id)
        _load(cur, room_id, question_id)
        if owner:
            records.delete_question(cur, question_id)
        else:
            records.set_in_room(cur, question_id, False)


def _room_orgs(cur: Any, room_id: str) -> set[str]:
    """The owner and every partner invited or accepted: who terms and permissions may name."""
    return {o.org_id for o in room_orgs(cur, room_id, statuses=("invited", "accepted"),
                                        include_owner=True)}


def set_terms(store: Store, actor: Actor, room_id: str, question_id: str, terms: w.Terms
              ) -> w.Question:
    """Owner only: which orgs run the question and which receive its results."""
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "question.terms", room_id=room_id, resource_type="question",
                       resource_id=question_id, detail=terms.model_dump())
        _load(cur, room_id, question_id)
        orgs = _room_orgs(cur, room_id)
        unknown = sorted(set(terms.runners + terms.receivers) - orgs)
        if unknown:
            raise InvalidInput(f"terms name organisations that are not in the room: {unknown}; "
                               "invite them first")
        qt.write(cur, question_id, terms.runners, terms.receivers)
        return _out(cur, actor, *_load(cur, room_id, question_id))


def _check_partner(cur: Any, room_id: str, partner: str, own: str) -> None:
    if partner == qp.ANY:
        return
    if partner == own:
        raise InvalidInput("question permissions are for partners; your own organisation may "
                           "always do everything with its questions")
    if partner not in _room_orgs(cur, room_id):
        raise InvalidInput(f"{partner} is not an organisation in this room")


def set_permission_defaults(store: Store, actor: Actor, room_id: str, body: w.PermissionRules
                            ) -> list[w.PermissionRule]:
    """Set (replace) the caller's org's default question permissions in the room."""
    room_id = parse_uuid(room_id, "room")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "question.permissions.defaults", room_id=room_id,
                       resource_type="question_permissions",
                       detail={"rules": [r.model_dump() for r in body.rules]})
        for rule in body.rules:
            _check_partner(cur, room_id, rule.partner_org_id, actor.org_id)
        records.replace_defaults(cur, room_id, actor.org_id, _settings(body.rules))
        return _defaults(cur, room_id, actor.org_id)


def _settings(rules: list[w.PermissionRule]) -> list[PermissionSetting]:
    return [PermissionSetting(permission=r.permission, partner_org_id=r.partner_org_id,
                              allowed=r.allowed) for r in rules]


def _wire_rules(settings: list[PermissionSetting]) -> list[w.PermissionRule]:
    # the stored permission is a plain string: the wire model validates it (the typed entry point)
    return [w.PermissionRule.model_validate({"permission": s.permission, "partner_org_id": s.partner_org_id,
                                             "allowed": s.allowed}) for s in settings]


def _defaults(cur: Any, room_id: str, org_id: str) -> list[w.PermissionRule]:
    return _wire_rules(records.defaults(cur, room_id, org_id))


def permission_defaults(store: Store, actor: Actor, room_id: str) -> list[w.PermissionRule]:
    """The caller's org's default question permissions in the room."""
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        ensure_allowed(cur, actor, "question.list", room_id=room_id,
                       resource_type="question_permissions")
        return _defaults(cur, room_id, actor.org_id)


def set_permission_overrides(store: Store, actor: Actor, room_id: str, question_id: str,
                             body: w.PermissionRules) -> w.Question:
    """Set (replace) one question's permission overrides (author org only)."""
    room_id, question_id = parse_uuid(room_id, "room"), parse_uuid(question_id, "question")
    with store.transaction() as cur:
        ensure_allowed(cur, actor, "question.permissions.override", room_id=room_id,
                       resource_type="question", resource_id=question_id,
                       detail={"rules": [r.model_dump() for r in body.rules]})
        _load(cur, room_id, question_id)
        for rule in body.rules:
            _check_partner(cur, room_id, rule.partner_org_id, actor.org_id)
        records.replace_overrides(cur, question_id, _settings(body.rules))
        return _out(cur, actor, *_load(cur, room_id, question_id))


def _overrides(cur: Any, question_id: str) -> list[w.PermissionRule]:
    return _wire_rules(records.overrides(cur, question_id))


# -- templates as code -----------------------------------------------------------------------


def export_template(store: Store, actor: Actor, room_id: str) -> str:
    """The room's template as YAML: privacy parameters, fields, questions, terms, permissions.

    Organisations are written as "owner" or by id; the fields section lists, per dataset macro,
    the field macros the room's questions need (all required).
    """
    room_id = parse_uuid(room_id, "room")
    with store.reader() as cur:
        access = ensure_allowed_in_room(cur, actor, "template.export", room_id=room_id,
                                resource_type="template", resource_id=room_id)
        room = access.room
        owner = room.owner_org_id

        def org(o: str) -> str:
            return "owner" if o == owner else o

        questions = []
        fields: dict[str, set[str]] = {}
        for qid in records.question_ids(cur, room_id, in_room_only=True):
            _, spec = _load(cur, room_id, qid)
            for macro, names in spec.fields.items():
                fields.setdefault(macro, set()).update(names)
            data = spec.to_dict()
            for key in ("author_org_id", "version", "cloned_from"):
                data.pop(key, None)
            terms = _terms(cur, qid)
            data["terms"] = {"runners": [org(o) for o in terms.runners],
                             "receivers": [org(o) for o in terms.receivers]}
            data["permissions"] = [
                {"permission": r.permission, "partner": org(r.partner_org_id), "allowed": r.allowed}
                for r in _overrides(cur, qid)]
            questions.append(data)
        doc = {
            "format": TEMPLATE_FORMAT,
            "name": room.name,
            "description": room.description,
            "privacy": {"k_min": room.k_min, "dp_enabled": room.dp_enabled,
                        "epsilon_budget": _decimal(room.epsilon_budget),
                        "delta_budget": _decimal(room.delta_budget)},
            "features": {"intelligence": room.intelligence, "flows": room.flows},
            "fields": {m: {"required": sorted(n)} for m, n in sorted(fields.items())},
            **_dataset_template(cur, room_id),
            "question_permission_defaults": [
                {"permission": r.permission, "partner": org(r.partner_org_id), "allowed": r.allowed}
                for r in _defaults(cur, room_id, owner)],
            "questions": questions,
        }
        record(cur, actor, "template.exported", room_id=room_id, resource_type="template",
               resource_id=room_id, resource_org_id=owner)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _dataset_template(cur: Any, room_id: str) -> dict[str, Any]:
    """The declared dataset macros and room terms, portable: a partner org becomes "partners"."""
    stored = template_of(cur, room_id)
    if not stored.datasets:
        return {}
    return {
        "datasets": [
            {"macro": d.macro, "party": "owner" if d.party == "owner" else "partners",
             "description": d.description,
             "fields": [f.model_dump(exclude_none=True) for f in d.fields]}
            for d in stored.datasets
        ],
        "terms": {"runs": stored.terms.runs, "receives": stored.terms.receives},
    }


def _decimal(x: Fraction) -> str:
    """A budget as the decimal it was written as (budgets are entered as decimals)."""
    value = Decimal(x.numerator) / Decimal(x.denominator)
    if Fraction(value) != x:
        raise InvalidInput(f"the budget {x} has no exact decimal form")
    return format(value.normalize(), "f")


def _parse_template(text: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInput(f"the template is not valid YAML: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != TEMPLATE_FORMAT:
        raise InvalidInput(f"not a room template: the file must start with format: "
                           f"{TEMPLATE_FORMAT}")
    known = {"format", "name", "description", "privacy", "features", "fields", "datasets", "terms",
             "question_permission_defaults", "questions"}
    extra = set(doc) - known
    if extra:
        raise InvalidInput(f"unknown template sections {sorted(extra)}; known: {sorted(known)}")
    return doc


def _rules(items: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise InvalidInput(f"{where} must be a list of {{permission, partner, allowed}}")
    out = []
    for item in items:
        if not isinstance(item, Mapping) or set(item) - {"permission", "partner", "allowed"}:
            raise InvalidInput(f"{where}: each entry has permission, partner and allowed")
        qp.parse(str(item.get("permission")))
        if not isinstance(item.get("allowed"), bool):
            raise InvalidInput(f"{where}: allowed must be true or false")
        out.append(dict(item))
    return out


def import_template(store: Store, actor: Actor, body: w.TemplateImport) -> w.TemplateImported:
    """Create a room from a template, all in one transaction: a bad template leaves nothing."""
    from workbench.governance import rooms as gov
    from workbench.wire import governance as gw

    doc = _parse_template(body.yaml)
    privacy = doc.get("privacy") or {}
    features = doc.get("features") or {}
    if not isinstance(privacy, Mapping) or not isinstance(features, Mapping):
        raise InvalidInput("privacy and features are mappings")
    specs: list[tuple[Question, dict[str, Any]]] = []
    for i, item in enumerate(doc.get("questions") or []):
        if not isinstance(item, Mapping):
            raise InvalidInput(f"questions[{i}] must be a mapping")
        data = dict(item)
        terms = data.pop("terms", None) or {}
        perms = _rules(data.pop("permissions", None) or [], f"questions[{i}].permissions")
        try:
            spec = Question.from_dict({**data, "author_org_id": actor.org_id})
        except InvalidInput as e:
            raise InvalidInput(f"questions[{i}] ({data.get('name', '?')}): {e.message}") from None
        if not isinstance(terms, Mapping) or set(terms) - {"runners", "receivers"}:
            raise InvalidInput(f"questions[{i}].terms has runners and receivers lists")
        specs.append((spec, {"terms": terms, "permissions": perms}))
    defaults = _rules(doc.get("question_permission_defaults") or [],
                      "question_permission_defaults")
    dataset_template = None
    if doc.get("datasets"):
        try:
            dataset_template = dw.TemplateSet.model_validate(
                {"datasets": doc["datasets"], "terms": doc.get("terms") or {}})
        except ValueError as e:
            raise InvalidInput(f"the template's datasets or terms are invalid: {e}") from None
    try:
        room_body = gw.RoomCreate(
            name=body.name or doc.get("name") or "", description=doc.get("description") or "",
            start_date=body.start_date, end_date=body.end_date,
            **{k: privacy[k] for k in ("k_min", "dp_enabled", "epsilon_budget", "delta_budget")
               if k in privacy},
            **{k: features[k] for k in ("intelligence", "flows") if k in features},
        )
    except ValueError as e:
        raise InvalidInput(f"the template's room settings are invalid: {e}") from None
    ids: list[str] = []
    with store.transaction() as cur:
        room_id = gov.create_room_in(cur, actor, room_body)
        # the room was just created by the caller's org, which holds every permission in it
        ensure_allowed(cur, actor, "question.author", room_id=room_id, resource_type="template",
                       detail={"questions": len(specs)})

        def org(o: Any) -> str:
            return actor.org_id if o == "owner" else str(o)

        for spec, extra in specs:
            qid = _insert(cur, actor, room_id, spec, in_room=True)
            terms = extra["terms"]
            qt.write(cur, qid, [org(o) for o in terms.get("runners") or []],
                     [org(o) for o in terms.get("receivers") or []])
            records.replace_overrides(cur, qid, [PermissionSetting(
                permission=r["permission"], partner_org_id="*" if r["partner"] == "*" else
                org(r["partner"]), allowed=r["allowed"]) for r in extra["permissions"]])
            ids.append(qid)
        if dataset_template is not None:
            write_template(cur, actor, actor.org_id, room_id, dataset_template)
        records.add_defaults(cur, room_id, actor.org_id, [PermissionSetting(
            permission=r["permission"], partner_org_id="*" if r["partner"] == "*" else
            org(r["partner"]), allowed=r["allowed"]) for r in defaults])
        record(cur, actor, "template.imported", room_id=room_id, resource_type="template",
               resource_id=room_id, resource_org_id=actor.org_id,
               detail={"questions": ids, "at": dt.datetime.now(dt.UTC).isoformat()})
    return w.TemplateImported(room_id=room_id, question_ids=ids)
