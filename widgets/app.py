"""The sign-in step of every app: ask for a token unless one is configured."""

from __future__ import annotations

import os
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


def signed_in(build: Callable[[Client], W.Widget], **kwargs: Any) -> SignIn:
    """An app: the sign-in form (skipped when WORKBENCH_TOKEN is set), then ``build(client)``."""
    return SignIn(build, **kwargs)


def owner_app(**kwargs: Any) -> SignIn:
    """The owner console app (Voilà: notebooks/apps/owner_console.ipynb)."""
    from widgets.governance import AuditViewer, OwnerConsole

    return signed_in(lambda c: W.Tab(children=[OwnerConsole(c), AuditViewer(c)],
                                     titles=("Rooms", "Audit log")), title="Owner console", **kwargs)


def partner_app(**kwargs: Any) -> SignIn:
    """The partner console app (Voilà: notebooks/apps/partner_console.ipynb)."""
    from widgets.governance import AuditViewer, PartnerConsole

    return signed_in(lambda c: W.Tab(children=[PartnerConsole(c), AuditViewer(c)],
                                     titles=("Rooms", "Audit log")), title="Partner console", **kwargs)


def analyst_app(**kwargs: Any) -> SignIn:
    """The analyst's question runner (Voilà: notebooks/apps/analyst_runner.ipynb)."""
    from widgets.runner import QuestionRunner

    return signed_in(QuestionRunner, title="Question runner", **kwargs)


def dashboards_app(**kwargs: Any) -> SignIn:
    """The dashboards viewer (Voilà: notebooks/apps/dashboards.ipynb)."""
    from widgets.dashboards import Dashboards

    return signed_in(Dashboards, title="Dashboards", **kwargs)
