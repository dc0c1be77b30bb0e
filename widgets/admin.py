"""Administration in the browser: users and org roles, API tokens (shown once), trusted partners,
a room's template (dataset and field macros, required or optional, which party runs and which
receives) and its privacy contract (budgets, protections, proposals).

Everything goes through ``workbench.client``; the service decides and audits each call, and its
refusals are shown as its messages. Destructive actions ask first (:class:`Confirmation`).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from widgets._common import (Confirmation, Status, button, esc, guarded, heading, room_option, set_options,
                             show, table_html)
from widgets.contract import ContractPanel
from widgets.governance import OrgAdminPanel
from workbench.client import Client
from workbench.wire import data as d
from workbench.wire import governance as w

PARTIES = [("the owner", "owner"), ("every partner", "partners")]
TERMS = [("the owner", "owner"), ("the partners", "partners"), ("every party", "all")]
FIELD_TYPES = ["any", "text", "integer", "double", "boolean", "date", "timestamp"]


def _fields(text: str, required: bool) -> list[dict[str, Any]]:
    """Field macros typed as 'email, region' (a leading @ is allowed)."""
    return [{"macro": f.strip().lstrip("@"), "required": required}
            for f in text.replace("\n", ",").split(",") if f.strip()]


class TokensPanel(W.VBox):
    """The org's API tokens: issue one (its secret is shown once, here), revoke after a confirmation."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.status = Status()
        self.tokens: list[w.Token] = []
        self.users: dict[str, str] = {}
        self.table = W.HTML()
        self.user = W.Dropdown(description="For user", options=[])
        self.user.add_class("wb-token-user")
        self.label = W.Text(description="Label", placeholder="e.g. laptop, nightly job")
        self.issue = button("Issue token", "primary")
        self.issue.on_click(lambda _: self._issue())
        self.secret = W.HTML()
        self.secret.add_class("wb-secret")
        self.pick = W.Dropdown(description="Token", options=[])
        self.pick.add_class("wb-token-pick")
        self.revoke = button("Revoke token", "danger")
        self.revoke.on_click(lambda _: self._revoke())
        self.confirm = Confirmation()
        super().__init__([
            heading("API tokens", 4), self.table, W.HBox([self.user, self.label, self.issue]), self.secret,
            W.HBox([self.pick, self.revoke]), self.confirm, self.status,
        ], **kwargs)
        self.add_class("wb-tokens")

    def reload(self) -> None:
        """Fetch users and tokens again (secrets are never fetched: the service keeps only hashes); a
        secret shown before is hidden now, so it is shown once."""
        self.confirm.cancel()
        self.secret.value = ""
        users = guarded(self.status, self.client.users) or []
        self.users = {u.id: u.name for u in users}
        set_options(self.user, [(u.name, u.id) for u in users if u.active], self.user.value)
        self.tokens = guarded(self.status, self.client.tokens) or []
        self.table.value = table_html(
            ["user", "label", "issued", "status"],
            [(self.users.get(t.user_id, t.user_id), t.label, t.created_at[:16].replace("T", " "),
              "revoked" if t.revoked else "active") for t in self.tokens],
            css_class="wb-token-list", empty="no tokens")
        set_options(self.pick, [(self._name(t), t.id) for t in self.tokens if not t.revoked], self.pick.value)
        self.revoke.disabled = self.pick.value is None

    def _name(self, token: w.Token) -> str:
        return f"{self.users.get(token.user_id, token.user_id)}: {token.label} ({token.created_at[:10]})"

    def _issue(self) -> None:
        user_id, label = self.user.value, self.label.value.strip() or "api"
        if user_id is None:
            self.status.error("pick a user")
            return
        token = guarded(self.status, lambda: self.client.issue_token(user_id, label))
        if token is None:
            return
        self.reload()
        self.label.value = ""
        name = self.users.get(user_id, user_id)
        self.secret.value = (
            "<div class='wb-secret-box' style='border:1px solid #1b6e20;padding:6px;margin:4px 0'>"
            f"New token for <b>{esc(name)}</b> ({esc(label)}): <code class='wb-secret-value'>{esc(token.secret)}"
            "</code><br><b>Copy it now: it is shown only this once</b> (the service keeps only its hash).</div>")
        self.status.ok(f"token issued for {name}")

    def _revoke(self) -> None:
        token_id = self.pick.value
        token = next((t for t in self.tokens if t.id == token_id), None)
        if token is None:
            self.status.error("pick a token")
            return
        self.secret.value = ""

        def revoke() -> None:
            if guarded(self.status, lambda: self.client.revoke_token(token.id)) is not None:
                self.reload()
                self.status.ok(f"token revoked: {self._name(token)}")

        self.confirm.ask(f"Revoke the token {self._name(token)}?",
                         "Every request with it fails from now on, in notebooks, apps and jobs; this cannot "
                         "be undone (issue a new one instead).", revoke, label="Revoke")


class TrustedPartnersPanel(W.VBox):
    """Organisations whose invitations are accepted automatically; removal asks first."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.status = Status()
        self.orgs: list[w.Org] = []
        self.table = W.HTML()
        self.org_id = W.Text(description="Org id", placeholder="the partner organisation's id")
        self.add = button("Trust", "primary")
        self.add.on_click(lambda _: self._add())
        self.pick = W.Dropdown(description="Partner", options=[])
        self.remove = button("Stop trusting", "danger")
        self.remove.on_click(lambda _: self._remove())
        self.confirm = Confirmation()
        super().__init__([
            heading("Trusted partners", 4),
            W.HTML("<span style='color:#555'>Invitations from these organisations are accepted "
                   "automatically; the acceptance is audited.</span>"),
            self.table, W.HBox([self.org_id, self.add]), W.HBox([self.pick, self.remove]), self.confirm,
            self.status,
        ], **kwargs)
        self.add_class("wb-trusted")

    def reload(self) -> None:
        """Fetch the allowlist again."""
        self.confirm.cancel()
        self._show(guarded(self.status, self.client.trusted_partners))

    def _show(self, orgs: list[w.Org] | None) -> None:
        if orgs is None:
            return
        self.orgs = orgs
        self.table.value = table_html(["organisation", "org id"], [(o.name, o.id) for o in orgs],
                                      css_class="wb-trusted-list", empty="no trusted partners")
        set_options(self.pick, [(o.name, o.id) for o in orgs], self.pick.value)
        self.remove.disabled = self.pick.value is None

    def _add(self) -> None:
        org_id = self.org_id.value.strip()
        if not org_id:
            self.status.error("enter the id of the organisation to trust (its admin can tell you)")
            return
        orgs = guarded(self.status, lambda: self.client.trust_partner(org_id))
        if orgs is not None:
            self.org_id.value = ""
            self._show(orgs)
            self.status.ok("trusted: " + next((o.name for o in orgs if o.id == org_id), org_id))

    def _remove(self) -> None:
        org_id = self.pick.value
        if org_id is None:
            return
        name = self.pick.label

        def remove() -> None:
            orgs = guarded(self.status, lambda: self.client.untrust_partner(org_id))
            if orgs is not None:
                self._show(orgs)
                self.status.ok(f"{name} is no longer trusted")

        self.confirm.ask(f"Stop trusting {name}?", "Its next invitations wait for your answer again; rooms "
                         "already joined stay joined.", remove, label="Stop trusting")


class TemplatePanel(W.VBox):
    """A room's template: dataset macros (whose party maps each), their field macros, required or
    optional, and the terms (which party runs questions, which receives results). Owner only."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.room: w.Room | None = None
        self.template: d.Template | None = None
        self.status = Status()
        self.table = W.HTML()
        self.macro = W.Text(description="Dataset", placeholder="e.g. publisher")
        self.party = W.Dropdown(description="Mapped by", options=PARTIES)
        self.required = W.Text(description="Required", placeholder="e.g. email, region")
        self.optional = W.Text(description="Optional", placeholder="e.g. age_band")
        self.describe = W.Text(description="About", placeholder="what this dataset holds")
        self.save = button("Save dataset macro", "primary")
        self.save.on_click(lambda _: self._save_dataset())
        self.pick = W.Dropdown(description="Edit", options=[])
        self.pick.observe(lambda _: self._fill(), names="value")
        self.remove = button("Remove dataset macro", "danger")
        self.remove.on_click(lambda _: self._remove())
        self.runs = W.Dropdown(description="Runs", options=TERMS)
        self.receives = W.Dropdown(description="Receives", options=TERMS)
        self.save_terms = button("Save terms")
        self.save_terms.on_click(lambda _: self._put(self._datasets(), "terms saved"))
        self.confirm = Confirmation()
        super().__init__([
            heading("Room template", 4), self.table,
            W.HBox([self.pick, self.remove]), self.confirm,
            W.HBox([self.macro, self.party]), W.HBox([self.required, self.optional]),
            W.HBox([self.describe, self.save]),
            heading("Terms", 5), W.HBox([self.runs, self.receives, self.save_terms]), self.status,
        ], **kwargs)
        self.add_class("wb-template")

    def load(self, room: w.Room | None) -> None:
        """Show ``room``'s template (nothing when no room is picked)."""
        self.room = room
        self.confirm.cancel()
        show(self, room is not None)
        if room is None:
            return
        parties = PARTIES + [(f"{p.org_name} only", p.org_id) for p in room.partners
                             if p.status in ("invited", "accepted")]
        set_options(self.party, parties, self.party.value)
        self.template = guarded(self.status, lambda: self.client.template(room.id))
        if self.template is None:
            return
        names = dict((v, k) for k, v in parties)
        self.table.value = table_html(
            ["dataset", "mapped by", "required fields", "optional fields", "about"],
            [(f"@{t.macro}", names.get(t.party, t.party),
              ", ".join(f"@{f.macro}" for f in t.fields if f.required) or "none",
              ", ".join(f"@{f.macro}" for f in t.fields if not f.required) or "none", t.description)
             for t in self.template.datasets], css_class="wb-template-table", empty="no dataset macros yet")
        self.runs.value = self.template.terms.runs
        self.receives.value = self.template.terms.receives
        set_options(self.pick, [("new dataset macro", None)] + [(f"@{t.macro}", t.macro)
                                                                for t in self.template.datasets],
                    self.pick.value)
        self._fill()

    def _fill(self) -> None:
        self.confirm.cancel()
        item = next((t for t in (self.template.datasets if self.template else []) if t.macro == self.pick.value),
                    None)
        self.remove.disabled = item is None
        self.macro.value = item.macro if item else ""
        self.macro.disabled = item is not None
        if item is not None and item.party in [v for _, v in self.party.options]:
            self.party.value = item.party
        self.required.value = ", ".join(f.macro for f in item.fields if f.required) if item else ""
        self.optional.value = ", ".join(f.macro for f in item.fields if not f.required) if item else ""
        self.describe.value = item.description if item else ""

    def _datasets(self, skip: str | None = None) -> list[dict[str, Any]]:
        """The stored template as the service takes it back, without dataset ``skip``."""
        return [{"macro": t.macro, "party": t.party, "description": t.description,
                 "fields": [{"macro": f.macro, "required": f.required, "type": f.type, "description": f.description}
                            for f in t.fields]}
                for t in (self.template.datasets if self.template else []) if t.macro != skip]

    def _put(self, datasets: list[dict[str, Any]], message: str) -> bool:
        room = self.room
        if room is None:
            return False
        saved = guarded(self.status, lambda: self.client.set_template(
            room.id, datasets, runs=self.runs.value, receives=self.receives.value))
        if saved is None:
            return False
        self.load(room)
        self.status.ok(message)
        return True

    def _save_dataset(self) -> None:
        macro = self.macro.value.strip().lstrip("@")
        if not macro:
            self.status.error("name the dataset macro (e.g. publisher)")
            return
        old = {f["macro"]: f for t in self._datasets() if t["macro"] == macro for f in t["fields"]}
        fields = [{**old.get(f["macro"], {}), **f} for f in
                  _fields(self.required.value, True) + _fields(self.optional.value, False)]
        if not fields:
            self.status.error("list at least one field macro (required or optional)")
            return
        item = {"macro": macro, "party": self.party.value, "description": self.describe.value.strip(),
                "fields": fields}
        datasets = self._datasets()
        at = next((i for i, t in enumerate(datasets) if t["macro"] == macro), None)
        if at is None:
            datasets.append(item)
        else:
            datasets[at] = item
        if self._put(datasets, f"@{macro} saved"):
            self.pick.value = macro

    def _remove(self) -> None:
        macro, room = self.pick.value, self.room
        if macro is None or room is None:
            return
        self.confirm.ask(f"Remove @{macro} from the template of {room.name}?",
                         "Its field macros go, with every party's mapping to it; questions that use it "
                         "cannot run until it is declared and mapped again.",
                         lambda: self._put(self._datasets(skip=macro), f"@{macro} removed"), label="Remove")


class ProtectionsPanel(W.VBox):
    """Budgets and protections of a room: the contract in force and its proposals (approve or
    decline as an affected party), and, for the owner, a form to propose a change."""

    def __init__(self, client: Client, **kwargs: Any) -> None:
        self.client = client
        self.room: w.Room | None = None
        self.status = Status()
        self.contract = ContractPanel(client)
        self.k_min = W.Text(description="k-min", placeholder="unchanged")
        self.dp = W.Dropdown(description="DP", options=[("unchanged", None), ("on", True), ("off", False)])
        self.epsilon = W.Text(description="ε budget", placeholder="unchanged")
        self.delta = W.Text(description="δ budget", placeholder="unchanged")
        self.per_run = W.Text(description="max ε/run", placeholder="unchanged")
        self.party = W.Dropdown(description="For party", options=[("the whole room", None)])
        self.note = W.Text(description="Why", placeholder="a note the other parties read")
        self.propose = button("Propose", "primary")
        self.propose.on_click(lambda _: self._propose())
        self.form = W.VBox([
            heading("Propose a change", 5),
            W.HTML("<span style='color:#555'>A change that weakens a party's protection applies only when "
                   "every affected party approves; a stricter one applies at once.</span>"),
            W.HBox([self.party, self.epsilon, self.delta]), W.HBox([self.k_min, self.dp, self.per_run]),
            W.HBox([self.note, self.propose]),
        ])
        super().__init__([self.contract, self.form, self.status], **kwargs)
        self.add_class("wb-protections-admin")

    def load(self, room: w.Room | None) -> None:
        """Show ``room``'s contract; the proposal form only to the owner org."""
        self.room = room
        self.contract.load(room)
        owner = room is not None and room.my_org_status == "owner"
        show(self.form, owner)
        if room is not None:
            set_options(self.party, [("the whole room", None)] + [
                (p.org_name, p.org_id) for p in room.partners if p.status == "accepted"], self.party.value)

    def _propose(self) -> None:
        room = self.room
        if room is None:
            return
        text = {k: v.value.strip() for k, v in (("k_min", self.k_min), ("epsilon_budget", self.epsilon),
                                                ("delta_budget", self.delta), ("max_epsilon_per_run", self.per_run))}
        note = self.note.value.strip()
        party = self.party.value
        if party is not None:
            if text["k_min"] or text["max_epsilon_per_run"] or self.dp.value is not None:
                self.status.error("a party's proposal changes only its ε and δ budgets; pick 'the whole room' "
                                  "for k-min, DP or the per-run cap")
                return
            made = guarded(self.status, lambda: self.client.propose_party_budget(
                room.id, party, epsilon_budget=text["epsilon_budget"] or None,
                delta_budget=text["delta_budget"] or None, note=note))
        else:
            if text["k_min"] and not text["k_min"].isdigit():
                self.status.error("k-min is a whole number such as 20")
                return
            made = guarded(self.status, lambda: self.client.propose(
                room.id, k_min=int(text["k_min"]) if text["k_min"] else None, dp_enabled=self.dp.value,
                epsilon_budget=text["epsilon_budget"] or None, delta_budget=text["delta_budget"] or None,
                max_epsilon_per_run=text["max_epsilon_per_run"] or None, note=note))
        if made is None:
            return
        for box in (self.k_min, self.epsilon, self.delta, self.per_run, self.note):
            box.value = ""
        self.dp.value = None
        self.load(room)
        waiting = [c.org_name for c in made.consents if c.decision == "pending"]
        self.status.ok(f"proposal {made.status}" + (f": waiting for {', '.join(waiting)}" if waiting else ""))


class Administration(W.VBox):
    """The administration app: org users and roles, tokens, trusted partners; and per owned room,
    its template and its budgets and protections. Sections the user's org rights do not cover are
    left out (the service would refuse them anyway)."""

    def __init__(self, client: Client, *, defer: bool = False, **kwargs: Any) -> None:
        self.client = client
        self.status = Status()
        me = guarded(self.status, client.whoami)
        rights = set(me.user.org_rights) if me else set()
        # the shared sign-in bar names the user; partners need the org id to invite or trust this org
        who = (f"Organisation <b>{esc(me.org.name)}</b>, id <code>{esc(me.org.id)}</code> (give it to partners "
               "who invite you or trust you)") if me else ""
        self.users = OrgAdminPanel(client, defer=True) if "manage_users" in rights else None
        self.tokens = TokensPanel(client) if "manage_users" in rights else None
        self.trusted = TrustedPartnersPanel(client) if "org_admin" in rights else None
        self.room_pick = W.Dropdown(description="Room", options=[])
        self.room_pick.observe(lambda _: self._show_room(), names="value")
        self.room: w.Room | None = None
        self.template = TemplatePanel(client)
        self.protections = ProtectionsPanel(client)
        self.room_box = W.VBox([self.room_pick, self.template, self.protections])
        sections = [(s, t) for s, t in ((self.users, "Users and org roles"), (self.tokens, "API tokens"),
                                        (self.trusted, "Trusted partners")) if s is not None]
        sections.append((self.room_box, "Rooms"))
        self.tabs = W.Tab(children=[s for s, _ in sections], titles=tuple(t for _, t in sections))
        self.tabs.observe(lambda _: self._opened(), names="selected_index")
        super().__init__([W.HTML(f"<h2 style='margin:4px 0'>Administration</h2><div class='wb-who'>{who}</div>"),
                          self.status, self.tabs], **kwargs)
        self.add_class("wb-admin")
        if not defer:
            self.start()

    def start(self) -> None:
        """Fetch what the open section shows; the others load when opened (the page is usable
        sooner, and a section shows the service's state as of its opening)."""
        self._opened()

    def _opened(self) -> None:
        """A section was opened: show it as the service has it now (a user added in one section is
        offered in the others)."""
        index = self.tabs.selected_index
        section = self.tabs.children[index] if index is not None else None
        if section is self.room_box:
            self._load_rooms()
        elif isinstance(section, (OrgAdminPanel, TokensPanel, TrustedPartnersPanel)):
            section.reload()

    def _load_rooms(self) -> None:
        rooms = guarded(self.status, self.client.rooms) or []
        set_options(self.room_pick, [room_option(r) for r in rooms if r.my_org_status in ("owner", "accepted")],
                    self.room_pick.value)
        if self.room_pick.value is None:
            self.status.info("Your organisation is in no clean room yet: room templates and budgets appear "
                             "once it is.")
        else:
            self.status.clear()
        self._show_room()

    def _show_room(self) -> None:
        room_id = self.room_pick.value
        self.room = guarded(self.status, lambda: self.client.room(room_id)) if room_id else None
        owner = self.room is not None and self.room.my_org_status == "owner"
        self.template.load(self.room if owner else None)
        self.protections.load(self.room)


def admin_app(**kwargs: Any) -> W.Widget:
    """The administration app (Voilà: notebooks/apps/administration.ipynb)."""
    from widgets.app import signed_in

    def build(client: Client) -> W.Widget:
        return Administration(client, defer=True)

    return signed_in(build, title="Administration", warm=("widgets.admin",), **kwargs)
