"""The sign-in step of every app: ask for a token unless one is configured."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import traitlets as T

from workbench.client import TOKEN_ENV, URL_ENV, Client, connect
from workbench.client._transport import DEFAULT_URL
from widgets._common import Status, button, esc, guarded

Connect = Callable[[str, str], Client]


class SignIn(W.VBox):
    """Shows a token form, then the app ``build(client)`` makes; ``value`` is the signed-in user's name."""

    value = T.Unicode("")

    def __init__(self, build: Callable[[Client], W.Widget], *, title: str = "Clean Room Workbench",
                 url: str | None = None, token: str | None = None, connect_with: Connect | None = None,
                 **kwargs: Any) -> None:
        self.build = build
        self.connect_with = connect_with or (lambda u, t: connect(u, t))
        self.client: Client | None = None
        self.app: W.Widget | None = None
        self.status = Status()
        self.url = W.Text(description="Service", value=url or os.environ.get(URL_ENV) or DEFAULT_URL,
                          layout=W.Layout(width="420px"))
        self.token = W.Password(description="API token", placeholder="wbt_…", layout=W.Layout(width="420px"))
        self.sign_in = button("Sign in", "primary")
        self.sign_in.on_click(lambda _: self._sign_in(self.token.value))
        self.form = W.VBox([
            W.HTML(f"<h2 style='margin:4px 0'>{esc(title)}</h2>"
                   "<p>Sign in with the API token your organisation's admin issued to you.</p>"),
            self.url, self.token, self.sign_in, self.status,
        ])
        self.form.add_class("wb-sign-in")
        super().__init__([self.form], **kwargs)
        configured = token or os.environ.get(TOKEN_ENV)
        if configured:
            self._sign_in(configured)

    def _sign_in(self, token: str) -> None:
        token = token.strip()
        if not token:
            self.status.error("enter your API token")
            return
        url = self.url.value.strip()
        client = guarded(self.status, lambda: self.connect_with(url, token))
        if client is None:
            return
        me = guarded(self.status, client.whoami)
        if me is None:
            client.close()
            return
        app = guarded(self.status, lambda: self.build(client))
        if app is None:
            client.close()
            return
        self.client, self.app, self.value = client, app, me.user.name
        self.token.value = ""
        self.children = [app]
        start = getattr(app, "start", None)
        if callable(start):  # the console's frame is on screen; now fetch and draw its contents
            start()


def signed_in(build: Callable[[Client], W.Widget], *, warm: tuple[str, ...] = (), **kwargs: Any) -> SignIn:
    """An app: the sign-in form (skipped when WORKBENCH_TOKEN is set), then ``build(client)``.

    ``warm`` names modules to import in the background while the user types the token, so the
    form shows at once and the console is ready when they press Sign in.
    """
    if warm:
        threading.Thread(target=_warm, args=(warm,), daemon=True).start()
    return SignIn(build, **kwargs)


def _warm(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)
    if "widgets.charts" in modules:
        from widgets.charts import warm_up

        warm_up()


def owner_app(**kwargs: Any) -> SignIn:
    """The owner console app (Voilà: notebooks/apps/owner_console.ipynb)."""
    def build(client: Client) -> W.Widget:
        from widgets.governance import AuditViewer, OwnerConsole

        return W.Tab(children=[OwnerConsole(client), AuditViewer(client)], titles=("Rooms", "Audit log"))

    return signed_in(build, title="Owner console", warm=("widgets.governance",), **kwargs)


def partner_app(**kwargs: Any) -> SignIn:
    """The partner console app (Voilà: notebooks/apps/partner_console.ipynb)."""
    def build(client: Client) -> W.Widget:
        from widgets.governance import AuditViewer, PartnerConsole

        return W.Tab(children=[PartnerConsole(client), AuditViewer(client)], titles=("Rooms", "Audit log"))

    return signed_in(build, title="Partner console", warm=("widgets.governance",), **kwargs)


def analyst_app(**kwargs: Any) -> SignIn:
    """The analyst's question runner (Voilà: notebooks/apps/analyst_runner.ipynb)."""
    def build(client: Client) -> W.Widget:
        from widgets.runner import QuestionRunner

        return QuestionRunner(client, defer=True)

    return signed_in(build, title="Question runner", warm=("widgets.runner", "widgets.charts"), **kwargs)


def dashboards_app(**kwargs: Any) -> SignIn:
    """The dashboards viewer (Voilà: notebooks/apps/dashboards.ipynb)."""
    def build(client: Client) -> W.Widget:
        from widgets.dashboards import Dashboards

        return Dashboards(client, defer=True)

    return signed_in(build, title="Dashboards", warm=("widgets.dashboards", "widgets.charts"), **kwargs)


class _Tabs(W.Tab):
    """Tabs whose consoles draw their frame first and fetch on :meth:`start`."""

    def start(self) -> None:
        """Start every console."""
        for tab in self.children:
            tab.start()


def data_and_questions_app(**kwargs: Any) -> SignIn:
    """Data onboarding and question authoring (Voilà: notebooks/apps/data_and_questions.ipynb)."""
    def build(client: Client) -> W.Widget:
        from widgets.datasets import DatasetManager
        from widgets.questions import QuestionBuilder

        return _Tabs(children=[DatasetManager(client, defer=True), QuestionBuilder(client, defer=True)],
                     titles=("Datasets", "Questions"))

    return signed_in(build, title="Data and questions", warm=("widgets.datasets", "widgets.questions"), **kwargs)
