"""One sign-in per browser tab, shared by every Voilà app, and a watch on the app's kernel.

How an app uses it (authors of new apps, read this): write the app as a function that builds
the console from a signed-in client and hand it to :func:`widgets.app.signed_in`::

    def admin_app(**kwargs: Any) -> SignIn:
        def build(client: Client) -> W.Widget:
            from widgets.admin import AdminConsole
            return AdminConsole(client, defer=True)        # draw the frame; fetch in start()
        return signed_in(build, title="Administration", warm=("widgets.admin",), **kwargs)

The notebook is one cell that calls it (``from widgets.admin import admin_app; admin_app()``),
with a ``python3`` kernelspec. ``signed_in`` shows the sign-in form only when the browser holds
no token; a token signed in on any app (or on the home page) opens every other app of the same
Voilà server in that tab without typing. Every app gets a bar with the user's name, a link to
the home page and "Sign out". To list a new app on the home page, add an :class:`widgets.home.App`
to ``widgets.home.APPS`` with the rule that decides who may use it.

How it works: :class:`TokenStore` is an anywidget (inline ES module, nothing fetched from the
internet) that keeps the API token in the browser's ``sessionStorage`` under
:data:`STORAGE_KEY`; every app of one Voilà server shares the origin, so they share the token.
The kernel learns the token only after the page connected (a preheated kernel ran the notebook
before any browser existed), checks it against the service, and forgets it everywhere on a 401.
The same widget pings the kernel every few seconds; when the kernel stops answering and Voilà
says it is not busy (or gone), the page says so and offers a reload instead of hanging.
"""

from __future__ import annotations

import os
from typing import Any

import anywidget
import traitlets as T

#: the Web Storage key of the API token (one per Voilà origin)
STORAGE_KEY = "workbench-api-token"
#: "local" shares the sign-in across tabs and keeps it after the browser closes; default "session"
STORAGE_ENV = "WORKBENCH_SSO_STORAGE"
#: seconds between two pings of the kernel (two unanswered pings while not busy: the kernel is dead)
PING_SECONDS = 4

_ESM = """
const KEY = %(key)s;
const PING_MS = %(ping_ms)d;
const area = (m) => (m.get("storage") === "local" ? localStorage : sessionStorage);

function config() {
  try {
    const c = JSON.parse(document.getElementById("jupyter-config-data").textContent);
    return { kernelId: c.kernelId, base: c.baseUrl || "/" };
  } catch (e) {
    return { kernelId: null, base: "/" };
  }
}

function showDead(reason) {
  if (document.querySelector(".wb-kernel-dead")) return;
  const bar = document.createElement("div");
  bar.className = "wb-kernel-dead";
  bar.setAttribute("role", "alert");
  bar.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;padding:10px 16px;" +
    "background:#b00020;color:#fff;font:14px sans-serif;display:flex;gap:12px;align-items:center";
  const text = document.createElement("span");
  text.textContent = "This app stopped: " + reason + ". Reload the page to start it again.";
  const button = document.createElement("button");
  button.textContent = "Reload";
  button.className = "wb-reload";
  button.onclick = () => window.location.reload();
  bar.append(text, button);
  document.body.append(bar);
}

function watchKernel(model) {
  const { kernelId, base } = config();
  let sent = 0, answered = 0, quiet = 0, stopped = false;
  const onMsg = (msg) => { if (msg && typeof msg.pong === "number") answered = Math.max(answered, msg.pong); };
  model.on("msg:custom", onMsg);
  const tick = async () => {
    if (stopped) return;
    if (answered < sent && kernelId) {
      let state = "unknown";
      try {
        const r = await fetch(base + "api/kernels/" + kernelId, { cache: "no-store" });
        state = r.status === 404 ? "gone" : r.ok ? (await r.json()).execution_state : "unknown";
      } catch (e) {
        state = "unreachable";
      }
      quiet = state === "busy" ? 0 : quiet + 1;
      if (state === "gone" || state === "dead") {
        stopped = true;
        return showDead("its kernel was shut down");
      }
      if (quiet >= 2) {
        stopped = true;
        return showDead(state === "unreachable" ? "the app server cannot be reached"
                                                : "its kernel stopped answering (it may have crashed)");
      }
    } else {
      quiet = 0;
    }
    sent += 1;
    try { model.send({ ping: sent }); } catch (e) { /* a closed comm: the next tick asks the server */ }
  };
  const timer = setInterval(tick, PING_MS);
  return () => { clearInterval(timer); model.off("msg:custom", onMsg); };
}

export default {
  // sync in render(), not initialize(): an update sent before the page built its other widgets is lost
  render({ model, el }) {
    el.style.display = "none";
    const s = area(model);
    const fromStorage = () => s.getItem(KEY) || "";
    if (!model.get("loaded")) {
      model.set("token", fromStorage());
      model.set("loaded", true);
      model.save_changes();
    }
    const onChange = () => {
      const t = model.get("token");
      if (t) s.setItem(KEY, t); else s.removeItem(KEY);
    };
    model.on("change:token", onChange);
    // another app signed in or out: a localStorage event, or what storage holds when this tab comes back
    const recheck = () => {
      const t = fromStorage();
      if (t !== model.get("token")) { model.set("token", t); model.save_changes(); }
    };
    const onStorage = (e) => { if (e.key === KEY && e.storageArea === s) recheck(); };
    window.addEventListener("storage", onStorage);
    window.addEventListener("focus", recheck);
    window.addEventListener("pageshow", recheck);
    const unwatch = model.get("watch") ? watchKernel(model) : () => {};
    return () => {
      model.off("change:token", onChange);
      window.removeEventListener("storage", onStorage);
      window.removeEventListener("focus", recheck);
      window.removeEventListener("pageshow", recheck);
      unwatch();
    };
  },
};
""" % {"key": repr(STORAGE_KEY).replace("'", '"'), "ping_ms": PING_SECONDS * 1000}


class TokenStore(anywidget.AnyWidget):
    """The browser's stored API token as a traitlet; ``loaded`` turns True once the browser answered.

    Setting ``token`` stores it in the browser (``""`` removes it). Never read the token while the
    notebook executes: a preheated kernel runs before any browser exists; observe ``token`` instead.
    """

    _esm = _ESM
    storage = T.Unicode("session").tag(sync=True)
    token = T.Unicode("").tag(sync=True)
    loaded = T.Bool(False).tag(sync=True)
    #: ping the kernel and show "this app stopped" when it is dead
    watch = T.Bool(True).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("storage", "local" if os.environ.get(STORAGE_ENV) == "local" else "session")
        super().__init__(**kwargs)
        self.on_msg(self._answer)

    def _answer(self, _: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("ping"), int):
            self.send({"pong": content["ping"]})
