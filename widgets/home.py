"""The apps' home page: every app, by persona, with one line each; only those the user can use.

Who may use an app is read from what the service says about the signed-in user: the org rights
of ``whoami`` and, per room, the caller's permissions and abilities (``client.rooms()``). The
rules only choose which links to show; every action is still decided by the service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as W

from workbench.client import Client
from workbench.wire.governance import Room, Whoami
from workbench.wire.permissions import OrgRight, Permission
from widgets._common import Status, esc, guarded


@dataclass(frozen=True)
class Seen:
    """What the service says the signed-in user may do: org rights and, per room, abilities."""

    me: Whoami
    rooms: Sequence[Room]

    def right(self, *rights: OrgRight) -> bool:
        """Holds one of these org rights (an org admin holds them all)."""
        held = set(self.me.user.org_rights) | set(self.me.user.org_roles)
        return OrgRight.ADMIN.value in held or any(r.value in held for r in rights)

    def in_rooms(self, statuses: Sequence[str] = ("owner", "accepted")) -> list[Room]:
        """The rooms the user's org owns or takes part in (``statuses``)."""
        return [r for r in self.rooms if r.my_org_status in statuses]

    def can(self, ability: str, statuses: Sequence[str] = ("owner", "accepted")) -> bool:
        """The service allows ``ability`` in at least one of those rooms."""
        return any(r.abilities.get(ability) for r in self.in_rooms(statuses))

    def holds(self, permission: Permission) -> bool:
        """The user holds ``permission`` in at least one room the org is in."""
        return any(permission.value in r.my_permissions for r in self.in_rooms())


@dataclass(frozen=True)
class App:
    """One app on the home page: its notebook (without .ipynb), persona, one line, and who may use it."""

    notebook: str
    title: str
    persona: str
    about: str
    allowed: Callable[[Seen], bool]


#: the personas in the order the home lists them
PERSONAS = ("Room owners", "Partners", "Data teams", "Analysts", "Viewers", "Administrators", "Everyone",
            "More apps")

APPS: list[App] = [
    App("owner_console", "Owner console", "Room owners",
        "Create clean rooms, invite partners, set roles, members and budgets.",
        lambda s: s.right(OrgRight.CREATE_ROOMS) or s.can("partner.invite", ("owner",))
        or s.can("role.manage", ("owner",))),
    App("partner_console", "Partner console", "Partners",
        "Answer invitations from other organisations and manage your roles in their rooms.",
        lambda s: bool(s.in_rooms(("invited",))) or s.can("role.manage", ("accepted",))),
    App("data_and_questions", "Data and questions", "Data teams",
        "Connect and provision datasets, map them to the template, write questions.",
        lambda s: s.right(OrgRight.DATA_CONNECTIONS, OrgRight.QUESTION_BUILDER)
        or s.can("dataset.provision") or s.can("question.author")),
    App("analyst_runner", "Question runner", "Analysts",
        "Preview the privacy cost of a question, run it, chart and download the released result.",
        lambda s: s.holds(Permission.RUNS)),
    App("audiences", "Audiences", "Analysts",
        "Cohorts, lookalike curves and activations of the room.",
        lambda s: s.can("audience.cohort.read")),
    App("dashboards", "Dashboards", "Viewers",
        "Your organisation's dashboards of released results.",
        lambda s: s.can("dashboard.list")),
    App("administration", "Administration", "Administrators",
        "Users, org roles and API tokens; the room template, budgets and privacy proposals.",
        lambda s: s.right(OrgRight.MANAGE_USERS, OrgRight.CREATE_ROOMS)
        or s.can("template.fields.set", ("owner",)) or s.can("partner.invite", ("owner",))),
    # every user may read their organisation's audit events (org.audit.read needs no org right)
    App("audit", "Audit log", "Everyone",
        "What was done in your organisation's rooms, by whom and when; CSV export.",
        lambda s: True),
]


def allowed_apps(seen: Seen, present: Sequence[str] | None = None) -> list[App]:
    """The apps this user can use, in persona order; ``present`` limits them to existing notebooks.

    Notebooks in ``present`` that no entry describes are listed under "More apps" for every
    signed-in user (their own page decides what they show).
    """
    known = {a.notebook for a in APPS}
    apps = [a for a in APPS if (present is None or a.notebook in present) and a.allowed(seen)]
    apps += [App(n, n.replace("_", " ").capitalize(), "More apps", "", lambda s: True)
             for n in sorted(present or ()) if n not in known and n != "home"]
    order = {p: i for i, p in enumerate(PERSONAS)}
    return sorted(apps, key=lambda a: order.get(a.persona, len(order)))


def notebooks_here(folder: Path | None = None) -> list[str]:
    """The app notebooks next to the home page (Voilà runs a kernel in its notebook's folder)."""
    return sorted(p.stem for p in (folder or Path.cwd()).glob("*.ipynb"))


def apps_html(apps: Sequence[App]) -> str:
    """The list of apps by persona, with same-tab links (the tab keeps the sign-in)."""
    if not apps:
        return ("<p class='wb-no-apps'>Your account cannot use any app yet: ask your organisation's "
                "admin for a role in a clean room.</p>")
    parts = []
    for persona in dict.fromkeys(a.persona for a in apps):
        items = "".join(
            f"<li class='wb-app' data-app='{esc(a.notebook)}'><a class='wb-app-link' href='{esc(a.notebook)}.ipynb' "
            f"style='color:#1a5fb4;text-decoration:underline;font-weight:600'>{esc(a.title)}</a>{(' — ' + esc(a.about)) if a.about else ''}</li>"
            for a in apps if a.persona == persona)
        parts.append(f"<h3 style='margin:10px 0 2px'>{esc(persona)}</h3><ul style='margin:0'>{items}</ul>")
    return ("<div class='wb-apps'><h2 style='margin:4px 0'>Your apps</h2>" + "".join(parts)
            + "<p style='color:#666;margin-top:12px'>Apps open in this tab, signed in as you.</p></div>")


class Home(W.VBox):
    """The signed-in user's apps; ``start`` asks the service what the user may do."""

    def __init__(self, client: Client, *, folder: Path | None = None) -> None:
        self.client = client
        self.folder = folder
        self.status = Status()
        self.list = W.HTML("<p style='color:#666'>Loading your apps …</p>")
        self.list.add_class("wb-home")
        super().__init__([self.list, self.status])

    def start(self) -> None:
        """List the apps the service says this user can use."""
        me = guarded(self.status, self.client.whoami)
        rooms = guarded(self.status, self.client.rooms)
        if me is None or rooms is None:
            self.list.value = ""
            return
        self.list.value = apps_html(allowed_apps(Seen(me, rooms), notebooks_here(self.folder)))


def home_app(**kwargs: Any) -> Any:
    """The home page (Voilà: notebooks/apps/home.ipynb, the root of the apps)."""
    from widgets.app import signed_in

    return signed_in(lambda client: Home(client), title="Clean Room Workbench", home=False, **kwargs)
