"""Question builder: SQL over dataset and field macros, typed parameters, violations inline,
question permissions and terms, add to room.

Built only on ``workbench.client``. The analysis-rule checks are the service's: "Check" and
"Save" list every violation it reports (rule, dataset, column, message). Controls appear only
when the room's abilities or ``client.check`` for this question say the user may use them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W

from workbench.client import Client
from workbench.errors import RuleViolation
from workbench.wire import questions as q
from widgets.sql_editor import SqlEditor, completion
from widgets._common import (Console, Status, button, esc, fetch_room, guarded, heading, pick_room, set_options, show,
                             table_html)
from widgets._common import Confirmation, done
from widgets.twins import TwinTry

PARAMETER_TYPES = [("integer", "integer"), ("number", "number"), ("date", "date"), ("date range", "date_range"),
                   ("one of", "one_of"), ("text pattern", "text")]
_ALLOWED_HINT = {"integer": "min..max", "number": "min..max", "date": "YYYY-MM-DD..YYYY-MM-DD",
                 "date_range": "YYYY-MM-DD..YYYY-MM-DD", "one_of": "choices: a, b, c", "text": "regex pattern"}
QUESTION_PERMISSIONS = [("view code", "view_code"), ("edit/delete", "edit_delete"), ("clone", "clone"),
                        ("run", "run"), ("view output", "view_output")]
ANY_PARTNER = "*"
#: a setting left at "default" (a string: a None value would show the dropdown blank)
DEFAULT = "default"
_SETTING: list[tuple[str, Any]] = [("default", DEFAULT), ("allow", True), ("deny", False)]


def _scalar(text: str, kind: str) -> Any:
    """A typed value from text; left as text when it does not parse (the service says why)."""
    text = text.strip()
    if text == "":
        return None
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    return text


def _pair(text: str) -> list[str]:
    return [p.strip() for p in text.split("..", 1)] if ".." in text else [text.strip()]


def violations_html(violations: list[dict[str, Any]]) -> str:
    """Every broken rule as a table row: rule, dataset, column, message."""
    return table_html(["rule", "dataset", "column", "message"],
                      [(v.get("rule", ""), v.get("dataset") or "", v.get("column") or "", v.get("message", ""))
                       for v in violations], css_class="wb-violations", empty="no violations")


class ParameterRow(W.HBox):
    """One typed parameter: name, type, default, allowed values (range, choices or pattern)."""

    def __init__(self, on_remove: Callable[[ParameterRow], None], spec: dict[str, Any] | None = None) -> None:
        self.name = W.Text(placeholder="name", layout=W.Layout(width="140px"))
        self.type = W.Dropdown(options=PARAMETER_TYPES, value="number", layout=W.Layout(width="120px"))
        self.default = W.Text(placeholder="default", layout=W.Layout(width="190px"))
        self.allowed = W.Text(placeholder=_ALLOWED_HINT["number"], layout=W.Layout(width="220px"))
        self.description = W.Text(placeholder="what the analyst fills in (shown as its label)",
                                  layout=W.Layout(width="300px"))
        self.remove = button("✕", tooltip="remove this parameter")
        self.remove.on_click(lambda _: on_remove(self))
        self.type.observe(lambda change: setattr(self.allowed, "placeholder", _ALLOWED_HINT[change["new"]]),
                          names="value")
        super().__init__([self.name, self.type, self.default, self.allowed, self.description, self.remove])
        if spec:
            self.load(spec)

    def load(self, spec: dict[str, Any]) -> None:
        """Fill the row from a parameter the service holds."""
        kind = spec.get("type", "text")
        self.name.value, self.type.value = spec.get("name", ""), kind
        self.description.value = spec.get("description") or ""
        default = spec.get("default")
        if kind == "date_range" and isinstance(default, (list, tuple)):
            self.default.value = "..".join(str(x) for x in default)
        else:
            self.default.value = "" if default is None else str(default)
        if kind == "one_of":
            self.allowed.value = ", ".join(str(c) for c in spec.get("choices") or [])
        elif kind == "text":
            self.allowed.value = spec.get("pattern") or ""
        elif spec.get("minimum") is not None or spec.get("maximum") is not None:
            lo, hi = spec.get("minimum"), spec.get("maximum")
            self.allowed.value = f"{'' if lo is None else lo}..{'' if hi is None else hi}"
        else:
            self.allowed.value = ""

    def spec(self) -> dict[str, Any]:
        """The parameter as the service takes it (it checks names, types and defaults)."""
        kind = self.type.value
        out: dict[str, Any] = {"name": self.name.value.strip(), "type": kind}
        if self.description.value.strip():
            out["description"] = self.description.value.strip()
        allowed = self.allowed.value.strip()
        if kind == "date_range":
            default = _pair(self.default.value) if self.default.value.strip() else None
        else:
            default = _scalar(self.default.value, kind)
        if default is not None:
            out["default"] = default
        if kind == "one_of":
            out["choices"] = [c.strip() for c in allowed.split(",") if c.strip()]
        elif kind == "text":
            if allowed:
                out["pattern"] = allowed
        elif allowed:
            lo, hi = (_pair(allowed) + [""])[:2]
            base = "date" if kind == "date_range" else kind
            if lo:
                out["minimum"] = _scalar(lo, base)
            if hi:
                out["maximum"] = _scalar(hi, base)
        return out


def macro_completions(datasets: list[Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """The room's dataset macros (as tables with their field macros as columns) and field macros."""
    out = []
    for t in datasets:
        fields = [f.macro for f in t.fields]
        out.append(completion(t.macro, "table", f"dataset of {names.get(t.party, t.party)}", fields))
        out += [completion(f.macro, "property", f"field of {t.macro}") for f in t.fields]
    return out


class PermissionGrid(W.GridBox):
    """Question permissions per partner (any partner, or a named one): default, allow or deny."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], W.Dropdown] = {}
        super().__init__(layout=W.Layout(grid_template_columns="200px repeat(5, 110px)"))

    def set_partners(self, partners: list[tuple[str, str]]) -> None:
        """Rows: "Any partner" and each named partner (label, org id); clears every setting."""
        heads = [W.HTML("<b>partner</b>")] + [W.HTML(f"<b>{esc(label)}</b>") for label, _ in QUESTION_PERMISSIONS]
        self.cells, rows = {}, []
        for label, org in [("Any partner", ANY_PARTNER)] + partners:
            rows.append(W.HTML(esc(label)))
            for _, perm in QUESTION_PERMISSIONS:
                cell = W.Dropdown(options=_SETTING, value=DEFAULT, layout=W.Layout(width="100px"))
                self.cells[(org, perm)] = cell
                rows.append(cell)
        self.children = heads + rows

    def load(self, rules: list[q.PermissionRule]) -> None:
        """Show rules; settings for partners no longer in the room are left out."""
        for cell in self.cells.values():
            cell.value = DEFAULT
        for rule in rules:
            cell = self.cells.get((rule.partner_org_id, rule.permission))
            if cell is not None:
                cell.value = rule.allowed

    def rules(self) -> list[dict[str, Any]]:
        """Every non-default setting, as the service takes them."""
        return [{"permission": perm, "partner_org_id": org, "allowed": cell.value}
                for (org, perm), cell in self.cells.items() if cell.value != DEFAULT]


class QuestionBuilder(Console):
    """For question authors: write, check and save questions; owners also set terms and add them.

    ``value`` is the id of the question being edited (None: a new question).
    """

    def __init__(self, client: Client, room_id: str | None = None, *, defer: bool = False,
                 **kwargs: Any) -> None:
        """``defer=True`` draws the frame only; :meth:`start` then fetches (apps show the frame first)."""
        self.client = client
        self._first_room = room_id
        self.org_id: str | None = None
        self.room: Any = None
        self.questions: list[q.Question] = []
        self.question: q.Question | None = None
        self.params: list[ParameterRow] = []
        self.violations: list[dict[str, Any]] = []
        self.status = Status()

        self.room_pick = W.Dropdown(description="Room", options=[], layout=W.Layout(width="420px"))
        self.room_pick.observe(lambda _: self._load_room(), names="value")
        self.refresh = button("Refresh")
        self.refresh.on_click(lambda _: self._load_room())
        self.pick = W.Dropdown(description="Question", options=[("New question", None)],
                               layout=W.Layout(width="520px"))
        self.follow(self.pick)
        self.about = W.HTML()
        self.macros = W.HTML()
        self.name = W.Text(description="Name", layout=W.Layout(width="520px"))
        self.description = W.Textarea(description="Description", layout=W.Layout(width="520px", height="60px"))
        self.sql = SqlEditor(placeholder="SELECT p.region, COUNT(DISTINCT p.email) AS reach\n"
                             "FROM publisher p GROUP BY p.region", layout=W.Layout(width="720px"))
        self.kind = W.Dropdown(description="Kind", options=[("analytical", "analytical"), ("user list", "user_list")],
                               value="analytical")
        self.max_rows = W.BoundedIntText(description="max rows", value=1, min=1, max=1000,
                                         tooltip="rows one person may contribute")
        self.max_groups = W.BoundedIntText(description="max groups", value=1, min=1, max=1000,
                                           tooltip="groups one person may contribute to")
        self.param_rows = W.VBox()
        self.add_param = button("Add parameter")
        self.add_param.on_click(lambda _: self.add_parameter())
        self.check = button("Check", "info")
        self.check.on_click(lambda _: self.do_check())
        self.save = button("Save", "primary")
        self.save.on_click(lambda _: self.do_save())
        self.clone = button("Clone")
        self.clone.on_click(lambda _: self._clone())
        self.add_to_room = button("Add to room", "success")
        self.add_to_room.on_click(lambda _: self._add())
        self.delete = button("Delete from room", "danger")
        self.delete.on_click(lambda _: self._delete())
        self.confirm = Confirmation()
        self.report = W.HTML()
        self.twin = TwinTry(client, lambda: self.room_pick.value, self.draft)
        self.editor = W.VBox([
            self.name, self.description, W.HTML("<b>SQL</b> <span style='color:#555'>(Ctrl-Space lists "
                                                "the room's macros and your parameters)</span>"),
            self.sql, W.HBox([self.kind, self.max_rows, self.max_groups]),
            heading("Parameters", 4),
            W.HTML("<span style='color:#555'>name, type, default, allowed values (range min..max, "
                   "choices a, b, c, or a text pattern), and a description the analyst reads</span>"), self.param_rows, self.add_param,
        ])
        self.actions = W.VBox([W.HBox([self.check, self.save, self.clone, self.add_to_room, self.delete]),
                               self.confirm])

        self.grid = PermissionGrid()
        self.perm_scope = W.ToggleButtons(options=[("This question", "question"), ("Our defaults", "defaults")],
                                          value="question")
        self.perm_scope.observe(lambda _: self._load_permissions(), names="value")
        self.save_perms = button("Save permissions")
        self.save_perms.on_click(lambda _: self._save_permissions())
        self.perms_note = W.HTML()
        self.perms_box = W.VBox([heading("Question permissions", 4), self.perm_scope, self.perms_note, self.grid,
                                 self.save_perms])
        self.runners = W.SelectMultiple(description="Runners", options=[], rows=3)
        self.receivers = W.SelectMultiple(description="Receivers", options=[], rows=3)
        self.save_terms = button("Save terms")
        self.save_terms.on_click(lambda _: self._save_terms())
        self.terms_box = W.VBox([heading("Terms", 4),
                                 W.HTML("<span style='color:#555'>None picked: any participating organisation "
                                        "runs it; results go to the organisation that runs it.</span>"),
                                 W.HBox([self.runners, self.receivers]), self.save_terms])
        super().__init__([
            W.HTML("<h2 style='margin:4px 0'>Question builder</h2>"), W.HBox([self.room_pick, self.refresh]), self.pick, self.about,
            self.macros, self.editor, self.actions, self.status, self.report, self.twin, self.terms_box, self.perms_box,
        ], **kwargs)
        self.add_class("wb-question-builder")
        self.observe(lambda _: self._show_question(), names="value")
        self.begin(defer)

    def start(self) -> None:
        """Fetch the rooms and show the first (or the requested) one."""
        self.status.clear()
        me = guarded(self.status, self.client.whoami)
        self.org_id = me.org.id if me else None
        if not pick_room(self.status, self.client, self.room_pick, self._first_room):
            show(self.editor, False)
            show(self.actions, False)

    # loading ------------------------------------------------------------------------------
    def _load_room(self, select: str | None = None) -> None:
        room_id = self.room_pick.value
        self.room = fetch_room(self.status, self.client, room_id)
        room = self.room
        if room is None:
            return
        self.questions = guarded(self.status, lambda: self.client.questions(room_id)) or []
        template = guarded(self.status, lambda: self.client.template(room_id))
        names = {"owner": room.owner_org_name, room.owner_org_id: room.owner_org_name,
                 **{p.org_id: p.org_name for p in room.partners}}
        lines = "".join(f"<li><code>{esc(t.macro)}</code> ({esc(names.get(t.party, t.party))}): "
                        + esc(", ".join(f.macro for f in t.fields)) + "</li>"
                        for t in (template.datasets if template else []))
        self.sql.completions = macro_completions(template.datasets if template else [], names) + \
            self._parameter_completions()
        self.macros.value = ("<div class='wb-macros'><b>Dataset macros</b> (use them as table names) and their "
                             f"<b>field macros</b> (column names):<ul>{lines}</ul></div>" if lines else
                             "<div class='wb-macros'><i>The room declares no dataset macros yet.</i></div>")
        orgs = [(f"{room.owner_org_name} (owner)", room.owner_org_id)] + [
            (p.org_name, p.org_id) for p in room.partners if p.status == "accepted"]
        self.runners.options = self.receivers.options = orgs
        self.grid.set_partners([(n, o) for n, o in orgs if o != self.org_id])
        options = [("New question", None)] + [
            (f"{x.name}{'' if x.in_room else ' (draft)'}", x.id) for x in self.questions]
        keep = select if select is not None else self.value
        self.pick.options = options
        self.pick.value = keep if keep in [v for _, v in options] else None
        self._show_question()

    def _allowed(self, action: str, resource_id: str | None = None) -> bool:
        """What the service says about one action on this question (no rule decided here)."""
        room_id = self.room_pick.value
        verdict = guarded(self.status, lambda: self.client.check(room_id, action, resource_id)) or {}
        return bool(verdict.get("allowed"))

    def _show_question(self) -> None:
        self.question = next((x for x in self.questions if x.id == self.value), None)
        question, room = self.question, self.room
        can = room.abilities if room is not None else {}
        self.report.value = ""
        show(self.twin, bool(can.get("twin.draft")) and room is not None and room.dp_enabled)
        self.violations = []
        show(self.editor, room is not None)
        show(self.actions, room is not None)
        if question is None:
            self.name.value = self.description.value = self.sql.value = ""
            self.kind.value, self.max_rows.value, self.max_groups.value = "analytical", 1, 1
            self._set_parameters([])
            self.about.value = ""
            self.sql.disabled = False
            show(self.check, can.get("question.check", False))
            show(self.save, can.get("question.author", False))
            for w in (self.clone, self.add_to_room, self.delete, self.terms_box):
                show(w, False)
            show(self.perms_box, can.get("question.permissions.defaults", False))
            self.perm_scope.value = "defaults"
            show(self.perm_scope, False)
            self._load_permissions()
            return
        self.name.value, self.description.value = question.name, question.description
        self.sql.value = question.sql or ""
        self.sql.disabled = question.sql is None
        self.kind.value = question.kind
        self.max_rows.value, self.max_groups.value = question.max_rows, question.max_groups
        self._set_parameters(question.parameters)
        mine = question.author_org_id == self.org_id
        state = "in the room (runnable)" if question.in_room else "a draft, not in the room yet"
        hidden = "" if question.sql is not None else " Your organisation may not view its SQL."
        self.about.value = (f"<div class='wb-question-about'>Version {question.version}, {esc(state)}"
                            f"{', authored by your organisation' if mine else ''}.{esc(hidden)}</div>")
        show(self.check, can.get("question.check", False) and question.sql is not None)
        show(self.save, self._allowed("question.update", question.id))
        show(self.clone, self._allowed("question.clone", question.id))
        show(self.add_to_room, can.get("question.add", False) and not question.in_room)
        show(self.delete, can.get("question.delete", False))
        show(self.terms_box, can.get("question.terms", False))
        orgs = {org for _, org in self.runners.options}
        self.runners.value = tuple(o for o in question.terms.runners if o in orgs)
        self.receivers.value = tuple(o for o in question.terms.receivers if o in orgs)
        override = self._allowed("question.permissions.override", question.id)
        defaults = can.get("question.permissions.defaults", False)
        show(self.perms_box, override or defaults)
        show(self.perm_scope, override and defaults)
        self.perm_scope.value = "question" if override else "defaults"
        self._load_permissions()

    def _set_parameters(self, specs: list[dict[str, Any]]) -> None:
        self.params = [ParameterRow(self.remove_parameter, spec) for spec in specs]
        for row in self.params:
            row.name.observe(lambda _: self._offer_parameters(), names="value")
        self.param_rows.children = self.params
        self._offer_parameters()

    def _parameter_completions(self) -> list[dict[str, Any]]:
        return [completion(f":{row.name.value.strip()}", "variable", row.description.value.strip() or row.type.value)
                for row in self.params if row.name.value.strip()]

    def _offer_parameters(self) -> None:
        """Offer the parameters' ``:names`` in the editor's completion next to the macros."""
        self.sql.completions = [c for c in self.sql.completions if c["type"] != "variable"] + \
            self._parameter_completions()

    def add_parameter(self) -> ParameterRow:
        """Add an empty parameter row."""
        row = ParameterRow(self.remove_parameter)
        row.name.observe(lambda _: self._offer_parameters(), names="value")
        self.params = self.params + [row]
        self.param_rows.children = self.params
        return row

    def remove_parameter(self, row: ParameterRow) -> None:
        """Remove one parameter row."""
        self.params = [r for r in self.params if r is not row]
        self.param_rows.children = self.params

    # check and save -----------------------------------------------------------------------
    def draft(self) -> dict[str, Any]:
        """The form as the service's question draft."""
        return {"name": self.name.value.strip(), "sql": self.sql.value,
                "parameters": [row.spec() for row in self.params], "kind": self.kind.value,
                "description": self.description.value, "max_rows": self.max_rows.value,
                "max_groups": self.max_groups.value}

    def _show_violations(self, violations: list[dict[str, Any]], head: str) -> None:
        self.violations = violations
        self.report.value = (f"<div class='wb-violations-head' style='color:#b00020'><b>{esc(head)}</b></div>"
                             + violations_html(violations))

    def do_check(self) -> q.CheckReport | None:
        """Ask the service for every analysis-rule violation of the draft; saves nothing."""
        draft, room_id = self.draft(), self.room_pick.value
        self.report.value = ""
        report = guarded(self.status, lambda: self.client.check_question(room_id, draft.pop("name") or "draft",
                                                                          draft.pop("sql"), **draft))
        if report is None:
            return None
        if report.ok:
            self.violations = []
            reads = "; ".join(f"{m}: {', '.join(f)}" for m, f in sorted(report.fields.items()))
            unmapped = (f" Not mapped in the room yet: {', '.join(report.unmapped)}." if report.unmapped else "")
            self.report.value = (f"<div class='wb-check-ok' style='color:#1b6e20'>No rule violations. Reads "
                                 f"{esc(reads or 'no fields')}.{esc(unmapped)}</div>")
            self.status.ok("the question passes the room's analysis rules")
        else:
            self._show_violations([v.model_dump() for v in report.violations],
                                  f"{len(report.violations)} rule violation(s)")
            self.status.error("the question breaks the room's analysis rules (listed below)")
        return report

    def do_save(self) -> q.Question | None:
        """Create (or update) the question; every violation the service reports is listed inline."""
        draft, room_id, qid = self.draft(), self.room_pick.value, self.value
        self.report.value = ""
        try:
            if qid is None:
                saved = self.client.create_question(room_id, draft.pop("name"), draft.pop("sql"), **draft)
            else:
                saved = self.client.update_question(room_id, qid, **draft)
        except RuleViolation as exc:
            self._show_violations(list(exc.violations), f"not saved: {len(exc.violations)} rule violation(s)")
            self.status.error("not saved: the question breaks the room's analysis rules (listed below)")
            return None
        except Exception as exc:  # shown, never raised into the page
            self.status.error(exc)
            return None
        self._load_room(select=saved.id)
        self.status.ok(f"question {saved.name!r} saved (version {saved.version})"
                       + ("" if saved.in_room else "; the room owner adds it to the room"))
        return saved

    # owner and author actions -------------------------------------------------------------
    def _clone(self) -> None:
        room_id, qid = self.room_pick.value, self.value
        if qid is None:
            self.status.error("pick a question first")
            return
        name = f"{self.name.value.strip()} (copy)"
        copy = guarded(self.status, lambda: self.client.clone_question(room_id, qid, name))
        if copy is not None:
            self._load_room(select=copy.id)
            self.status.ok(f"cloned as {copy.name!r}")

    def _add(self) -> None:
        room_id, qid = self.room_pick.value, self.value
        if qid is None:
            self.status.error("pick a question first")
            return
        added = guarded(self.status, lambda: self.client.add_question(room_id, qid))
        if added is not None:
            self._load_room(select=added.id)
            self.status.ok(f"{added.name!r} added to the room: analysts may run it now")

    def _delete(self) -> None:
        room_id, qid = self.room_pick.value, self.value
        if qid is None:
            self.status.error("pick a question first")
            return
        name = self.name.value or qid

        def delete() -> None:
            if guarded(self.status, done(lambda: self.client.delete_question(room_id, qid))):
                self._load_room(select=None)
                self.status.ok(f"question {name!r} deleted from the room")

        self.confirm.ask(f"Delete the question {name!r} from {self.room_pick.label}?",
                         "Nobody can run it here any more and its terms and permission settings go; past runs "
                         "keep their results and charges.", delete)

    def _save_terms(self) -> None:
        room_id, qid = self.room_pick.value, self.value
        if qid is None:
            self.status.error("pick a question first")
            return
        runners, receivers = list(self.runners.value), list(self.receivers.value)
        saved = guarded(self.status, lambda: self.client.set_terms(room_id, qid, runners=runners,
                                                                   receivers=receivers))
        if saved is not None:
            self._load_room(select=saved.id)
            self.status.ok("terms saved")

    def _load_permissions(self) -> None:
        if self.perm_scope.value == "defaults":
            room_id = self.room_pick.value
            rules = (guarded(self.status, lambda: self.client.question_permission_defaults(room_id)) or []
                     if room_id else [])
            self.grid.load(rules)
            self.perms_note.value = ("<span style='color:#555'>Your organisation's defaults for every question "
                                     "it authors in this room.</span>")
        else:
            self.grid.load([])
            self.perms_note.value = ("<span style='color:#555'>Overrides for this question only; saving "
                                     "replaces its overrides with the settings below (default: follow your "
                                     "organisation's defaults).</span>")

    def _save_permissions(self) -> None:
        room_id, qid, rules = self.room_pick.value, self.value, self.grid.rules()
        if self.perm_scope.value == "defaults":
            if guarded(self.status, lambda: self.client.set_question_permission_defaults(room_id, rules)) is not None:
                self.status.ok("default question permissions saved")
            return
        if qid is None:
            self.status.error("pick a question first (or save the room-wide defaults)")
            return
        if guarded(self.status, lambda: self.client.set_question_permissions(room_id, qid, rules)) is not None:
            self.status.ok(f"permissions of {self.name.value.strip()!r} saved ({len(rules)} override(s))")
