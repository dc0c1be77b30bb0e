"""The shared sign-in, kernel side, over a real room: the token the browser holds decides the app;
a rejected token is forgotten; Enter submits; the home lists what the service says a user may use."""

from __future__ import annotations

import ipywidgets as W
import pytest

from tests.runs.room import build_room
from widgets.app import SignIn
from widgets.home import Seen, allowed_apps, apps_html


@pytest.fixture
def room(admin, make_org):
    return build_room(admin, make_org)


def _app(clients: dict[str, object]) -> SignIn:
    """An app whose sign-in knows these tokens (what the service would answer for them)."""
    def connect_with(url: str, token: str):
        if token not in clients:
            from workbench.errors import Unauthenticated

            raise Unauthenticated("unknown or revoked token")
        return clients[token]

    return SignIn(lambda client: W.HTML("console", _dom_classes=("console",)), connect_with=connect_with)


def _browser_answers(app: SignIn, token: str) -> None:
    """What the TokenStore's JS does once the page rendered: send the stored token, loaded=True."""
    with app.store.hold_sync():
        app.store.set_state({"token": token, "loaded": True})


def test_the_browser_s_token_opens_the_app_and_sign_out_forgets_it(room):
    app = _app({"wbt_owner": room.owner})
    assert app.children == (app.store, app.checking)  # nothing decided before the browser answered
    _browser_answers(app, "wbt_owner")
    assert app.value == "alice" and app.children[-1] is app.app and app.bar in app.children
    assert "signed in as <b class='wb-user'>alice</b>" in app.who.value and "home.ipynb" in app.who.value
    app.sign_out.click()
    assert app.store.token == "" and app.value == "" and app.client is None
    assert app.children == (app.store, app.form) and "Signed out" in app.status.text


def test_nothing_stored_shows_the_form_and_enter_signs_in_and_remembers(room):
    app = _app({"wbt_owner": room.owner})
    _browser_answers(app, "")
    assert app.children == (app.store, app.form)
    app.token.value = "wbt_owner"
    app.token._handle_custom_msg({"event": "submit"}, [])  # the Enter key in the token box
    assert app.value == "alice" and app.store.token == "wbt_owner" and app.token.value == ""


def test_a_rejected_stored_token_is_forgotten_in_the_browser(room):
    app = _app({})
    _browser_answers(app, "wbt_revoked")
    assert "unknown or revoked" in app.status.text
    assert app.store.token == "" and app.client is None and app.children == (app.store, app.form)


def test_a_token_typed_wrong_is_not_stored(room):
    app = _app({"wbt_owner": room.owner})
    _browser_answers(app, "")
    app.token.value = "wbt_typo"
    app.sign_in.click()
    assert "unknown or revoked" in app.status.text and app.store.token == ""


def test_another_app_signing_out_signs_this_one_out(room):
    app = _app({"wbt_owner": room.owner})
    _browser_answers(app, "wbt_owner")
    app.store.set_state({"token": ""})  # the storage event / focus re-check of the JS
    assert app.client is None and app.children == (app.store, app.form)


def test_the_home_lists_only_what_the_service_allows(room, user_client):
    owner = Seen(room.owner.whoami(), room.owner.rooms())
    listed = [a.notebook for a in allowed_apps(owner, ["owner_console", "dashboards", "home", "admin"])]
    assert "owner_console" in listed and listed[-1] == "admin"  # an app without an entry: "More apps"
    assert "home" not in listed

    viewer_client, viewer_id = user_client(room.owner, "vic")
    viewer_role = next(r for r in room.owner.roles(room.id) if r.kind == "viewer")
    room.owner.add_member(room.id, viewer_id, viewer_role.id)
    viewer = Seen(viewer_client.whoami(), viewer_client.rooms())
    names = {a.notebook for a in allowed_apps(viewer)}
    assert "dashboards" in names
    assert not {"owner_console", "data_and_questions", "analyst_runner", "partner_console"} & names

    nobody_client, _ = user_client(room.owner, "newcomer")
    nobody = Seen(nobody_client.whoami(), nobody_client.rooms())
    assert [a.notebook for a in allowed_apps(nobody)] == ["audit"]  # what the service lets every user read
    assert "cannot use any app yet" in apps_html([])


def test_app_names_in_the_home_are_escaped():
    from widgets.home import App

    html = apps_html([App("x'><script>", "<b>t</b>", "More apps", "<i>", lambda s: True)])
    assert "<script>" not in html and "&lt;b&gt;t&lt;/b&gt;" in html
