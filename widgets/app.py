"""The sign-in step of every app: one sign-in per browser tab shared by all apps (see widgets.session)."""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import traitlets as T

from workbench.client import TOKEN_ENV, URL_ENV, Client, connect
from workbench.client._transport import DEFAULT_URL
from workbench.errors import Unauthenticated, WorkbenchError
from widgets._common import Status, button, esc, guarded
from widgets.session import TokenStore

log = logging.getLogger("widgets")
Connect = Callable[[str, str], Client]
#: what an API token can be made of (the service issues URL-safe base64 after a prefix)
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-]+")
#: where the apps' home page is, relative to an app's page (all apps sit in one folder)
HOME = "home.ipynb"


class SignIn(W.VBox):
    """The app ``build(client)`` makes, for the user the browser is signed in as; else a token form.

    ``value`` is the signed-in user's name. The token comes from the browser's shared store
    (another app or the home signed in), from the form (Sign in or Enter), or from ``token`` /
    WORKBENCH_TOKEN (then the browser store is left alone). Sign out forgets it in every app.
    """

    value = T.Unicode("")

    def __init__(self, build: Callable[[Client], W.Widget], *, title: str = "Clean Room Workbench",
                 url: str | None = None, token: str | None = None, connect_with: Connect | None = None,
                 home: bool = True, **kwargs: Any) -> None:
        self.build = build
        self.title = title
        self.connect_with = connect_with or (lambda u, t: connect(u, t))
        self.client: Client | None = None
        self.app: W.Widget | None = None
        self._token = ""  # the token the shown app was built for ("" while signed out)
        self.store = TokenStore()
        self.status = Status()
        self.url = W.Text(description="Service", value=url or os.environ.get(URL_ENV) or DEFAULT_URL,
                          layout=W.Layout(width="420px"))
        self.token = W.Password(description="API token", placeholder="wbt_…", layout=W.Layout(width="420px"))
        self.token.on_msg(self._token_msg)  # Enter in the token box submits
        self.sign_in = button("Sign in", "primary")
        self.sign_in.on_click(lambda _: self._sign_in(self.token.value))
        self.form = W.VBox([
            W.HTML(f"<h2 style='margin:4px 0'>{esc(title)}</h2>"
                   "<p>Sign in with the API token your organisation's admin issued to you. "
                   "Every app of this page's server uses the same sign-in until you sign out "
                   "or close the tab.</p>"),
            self.url, self.token, self.sign_in, self.status,
        ])
        self.form.add_class("wb-sign-in")
        self.who = W.HTML()
        self.sign_out = button("Sign out")
        self.sign_out.add_class("wb-sign-out")
        self.sign_out.on_click(lambda _: self.forget())
        self.home_link = home
        self.bar = W.HBox([self.who, self.sign_out], layout=W.Layout(
            justify_content="space-between", align_items="center", border_bottom="1px solid #ddd",
            margin="0 0 6px 0"))
        self.bar.add_class("wb-session")
        self.checking = W.HTML("<span class='wb-checking' style='color:#666'>Checking your sign-in …</span>")
        self.store.observe(self._stored, names=["token", "loaded"])
        super().__init__([self.store, self.checking], **kwargs)
        self._configured = bool(token or os.environ.get(TOKEN_ENV))
        if self._configured:
            self._sign_in(token or os.environ.get(TOKEN_ENV, ""), remember=False)

    def _token_msg(self, _: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            self._sign_in(self.token.value)

    def _stored(self, change: dict) -> None:
        """The browser answered, or another app changed the shared token: follow it."""
        if self._configured or not self.store.loaded:
            return
        token = self.store.token
        if token == self._token:
            if not token and self.client is None:
                self._show_form()
            return
        if token:
            self._sign_in(token, remember=False, stored=True)
        else:
            self._signed_out("Signed out.")

    def _sign_in(self, token: str, *, remember: bool = True, stored: bool = False) -> None:
        token = token.strip()
        if not token:
            self.status.error("enter your API token")
            self._show_form()
            return
        if not TOKEN_CHARS.fullmatch(token):  # an HTTP library's error would quote it back
            self.status.error("that is not an API token: tokens are one word of letters, digits, '-' and '_'")
            if stored:
                self.store.token = ""
            self._show_form()
            return
        self.status.info("Signing in …")
        url = self.url.value.strip()
        try:
            client = self.connect_with(url, token)
            try:
                me = client.whoami()
            except BaseException:
                client.close()
                raise
        except Unauthenticated as exc:
            self.status.error(exc)
            if stored:  # a revoked or unknown token: forget it in every app of the tab
                self.store.token = ""
            self._show_form()
            return
        except WorkbenchError as exc:  # the service is down or refuses: say why, keep the stored token
            self.status.error(exc)
            self._show_form()
            return
        except Exception as exc:  # never str(exc): a transport error can quote the request's headers
            log.warning("sign-in failed: %s", type(exc).__name__)
            self.status.error(f"could not reach the service at {url} ({type(exc).__name__})")
            self._show_form()
            return
        app = guarded(self.status, lambda: self.build(client))
        if app is None:
            client.close()
            self._show_form()
            return
        if self.client is not None:
            self.client.close()
        self._token = token
        if remember:
            self.store.token = token  # the browser keeps it for the other apps
        self.client, self.app, self.value = client, app, me.user.name
        self.token.value = ""
        self.status.clear()
        home = f" · <a class='wb-home-link' href='{HOME}'>All apps</a>" if self.home_link else ""
        self.who.value = (f"<span class='wb-signed-in'><b>{esc(self.title)}</b> · signed in as "
                          f"<b class='wb-user'>{esc(me.user.name)}</b> ({esc(me.org.name)}){home}</span>")
        self.children = [self.store, self.bar, app]
        start = getattr(app, "start", None)
        if callable(start):  # the console's frame is on screen; now fetch and draw its contents
            start()

    def forget(self) -> None:
        """Sign out here and in every app of this browser tab (the stored token is removed)."""
        self._token = ""
        self.store.token = ""
        self._signed_out("Signed out.")

    def _signed_out(self, message: str) -> None:
        self._token = ""
        if self.client is not None:
            self.client.close()
        self.client, self.app, self.value = None, None, ""
        self.status.info(message)
        self._show_form()

    def _show_form(self) -> None:
        self.children = [self.store, self.form]


def signed_in(build: Callable[[Client], W.Widget], *, warm: tuple[str, ...] = (), **kwargs: Any) -> SignIn:
    """An app: ``build(client)`` for the browser's signed-in user, else the sign-in form.

    ``warm`` names modules to import in the background while the browser answers or the user
    types the token, so the form shows at once and the console is ready when they sign in.
    See :mod:`widgets.session` for how the sign-in is shared.
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
        from widgets.audit import AuditLog
        from widgets.governance import OwnerConsole

        return W.Tab(children=[OwnerConsole(client), AuditLog(client)], titles=("Rooms", "Audit log"))

    return signed_in(build, title="Owner console", warm=("widgets.governance",), **kwargs)


def partner_app(**kwargs: Any) -> SignIn:
    """The partner console app (Voilà: notebooks/apps/partner_console.ipynb)."""
    def build(client: Client) -> W.Widget:
        from widgets.audit import AuditLog
        from widgets.governance import PartnerConsole

        return W.Tab(children=[PartnerConsole(client), AuditLog(client)], titles=("Rooms", "Audit log"))

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
