"""Pieces every console shares: escaping, readable errors, a status line, HTML tables.

Widgets talk to the service only through ``workbench.client``; what a user may do is asked of
the service (``Room.abilities``, ``client.check``), never decided here.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import ipywidgets as W
import traitlets as T

from workbench.client import Client
from workbench.errors import BudgetExceeded, RuleViolation, WorkbenchError
from workbench.wire.governance import Room
from workbench.wire.permissions import LABELS, Permission

log = logging.getLogger("widgets")
R = TypeVar("R")


def esc(value: object) -> str:
    """HTML-escape anything shown inside an HTML widget (names come from other users)."""
    return html.escape("" if value is None else str(value), quote=True)


def permission_label(value: str) -> str:
    """The person-readable name of a permission value."""
    try:
        return LABELS[Permission(value)]
    except ValueError:
        return value


def error_text(exc: BaseException) -> str:
    """A message a person can act on; never a traceback."""
    if isinstance(exc, RuleViolation):
        parts = [exc.message]
        for v in exc.violations:
            where = ", ".join(str(v[k]) for k in ("rule", "dataset", "column") if v.get(k))
            parts.append(f"{where}: {v.get('message', '')}" if where else str(v.get("message", v)))
        return "\n".join(parts)
    if isinstance(exc, BudgetExceeded):
        return f"{exc.message} (requested {exc.requested}, remaining {exc.remaining})"
    if isinstance(exc, WorkbenchError):
        return exc.message
    return f"unexpected error ({type(exc).__name__}): {exc}"


class Status(W.HTML):
    """One line of feedback under a form: what happened, or what went wrong and why."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("wb-status")

    def ok(self, text: str) -> None:
        """Show a success message."""
        self.value = f'<span class="wb-ok" style="color:#1b6e20">{esc(text)}</span>'

    def info(self, text: str) -> None:
        """Show a neutral note."""
        self.value = f'<span class="wb-info" style="color:#444">{esc(text)}</span>'

    def error(self, exc: BaseException | str) -> None:
        """Show an error as text; multi-line messages keep their lines."""
        text = exc if isinstance(exc, str) else error_text(exc)
        lines = "<br>".join(esc(line) for line in text.splitlines())
        self.value = f'<span class="wb-error" style="color:#b00020">{lines}</span>'

    def clear(self) -> None:
        """Remove the message."""
        self.value = ""

    @property
    def text(self) -> str:
        """The message without markup (what tests and screen readers care about)."""
        return html.unescape(_strip_tags(self.value))


def _strip_tags(markup: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", markup.replace("<br>", "\n"))


def guarded(status: Status, fn: Callable[[], R], success: str | None = None) -> R | None:
    """Run one service call; show its error in ``status`` instead of raising into the page."""
    try:
        out = fn()
    except WorkbenchError as exc:
        status.error(exc)
        return None
    except Exception as exc:  # a bug must still not show a traceback to the user
        log.exception("widget action failed")
        status.error(exc)
        return None
    if success:
        status.ok(success)
    return out


def table_html(columns: Sequence[str], rows: Iterable[Sequence[Any]], css_class: str = "wb-table",
               empty: str = "nothing yet") -> str:
    """An escaped HTML table; ``empty`` is shown when there are no rows."""
    rows = list(rows)
    if not rows:
        return f'<p class="{esc(css_class)}-empty" style="color:#666"><i>{esc(empty)}</i></p>'
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px'>{esc(v)}</td>" for v in row) + "</tr>" for row in rows
    )
    return (f'<table class="{esc(css_class)}" style="border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def heading(text: str, level: int = 3) -> W.HTML:
    """A section title."""
    return W.HTML(f"<h{level} style='margin:8px 0 4px'>{esc(text)}</h{level}>")


def show(widget: W.Widget, visible: bool) -> None:
    """Show or hide a widget without removing it from the tree."""
    widget.layout.display = None if visible else "none"


def is_shown(widget: W.Widget) -> bool:
    """Whether :func:`show` left the widget visible."""
    return widget.layout.display != "none"


def button(description: str, style: str = "", **kwargs: Any) -> W.Button:
    """A button with our defaults."""
    return W.Button(description=description, button_style=style,
                    layout=W.Layout(width="auto"), **kwargs)


class Confirmation(W.VBox):
    """The one way a console asks before a destructive action: it names what goes and what follows,
    and nothing happens until Confirm is pressed (Cancel, or asking about something else, drops it).

    A console keeps one and calls :meth:`ask` from the destructive button's handler::

        self.confirm.ask(f"Delete role {name!r}?", "Its permissions go; nobody holds it.", delete)
    """

    def __init__(self, **kwargs: Any) -> None:
        self.message = W.HTML()
        self.yes = button("Confirm", "danger")
        self.no = button("Cancel")
        self.yes.add_class("wb-confirm-yes")
        self.no.add_class("wb-confirm-no")
        self.yes.on_click(lambda _: self.confirm())
        self.no.on_click(lambda _: self.cancel())
        self._action: Callable[[], Any] | None = None
        super().__init__([self.message, W.HBox([self.yes, self.no])], **kwargs)
        self.add_class("wb-confirm")
        show(self, False)

    def ask(self, question: str, consequence: str, action: Callable[[], Any], *, label: str = "Confirm") -> None:
        """Show ``question`` (naming what goes) and ``consequence``; run ``action`` on Confirm."""
        self._action = action
        self.yes.description = label
        self.message.value = (f"<div class='wb-confirm-text' style='color:#b00020'><b>{esc(question)}</b> "
                              f"{esc(consequence)}</div>")
        show(self, True)

    def confirm(self) -> None:
        """Run the pending action once (a second press does nothing)."""
        action, self._action = self._action, None
        self.cancel()
        if action is not None:
            action()

    def cancel(self) -> None:
        """Drop the pending action and hide the question."""
        self._action = None
        self.message.value = ""
        show(self, False)

    @property
    def pending(self) -> bool:
        """Whether an action waits for Confirm."""
        return self._action is not None

    @property
    def text(self) -> str:
        """The question without markup."""
        return html.unescape(_strip_tags(self.message.value))


def done(call: Callable[[], Any]) -> Callable[[], bool]:
    """A call answering nothing (a delete), made to answer True for :func:`guarded`."""
    def run() -> bool:
        call()
        return True
    return run


class PermissionPicker(W.GridBox):
    """Checkboxes for permissions; ``options`` says which are offered, ``value`` which are ticked.

    The checkboxes are made once and reused, so the browser only ever sees value changes.
    """

    options = T.List(T.Unicode())
    value = T.List(T.Unicode())

    def __init__(self, **kwargs: Any) -> None:
        self.boxes = {p.value: W.Checkbox(value=False, description=LABELS[p], indent=False,
                                          layout=W.Layout(width="auto")) for p in Permission}
        for perm, box in self.boxes.items():
            box.observe(lambda change, perm=perm: self._ticked(perm, change["new"]), names="value")
        super().__init__(layout=W.Layout(grid_template_columns="repeat(3, 300px)"), **kwargs)

    def on_value(self, callback: Callable[[list[str]], None]) -> None:
        """Call ``callback(permissions)`` when the ticked set changes."""
        self.observe(lambda change: callback(change["new"]), names="value")

    @T.observe("options")
    def _options_changed(self, change: dict) -> None:
        self.children = [self.boxes[p] for p in change["new"] if p in self.boxes]
        self.value = [p for p in self.value if p in change["new"]]

    @T.observe("value")
    def _value_changed(self, change: dict) -> None:
        for perm, box in self.boxes.items():
            box.value = perm in change["new"]

    def _ticked(self, perm: str, on: bool) -> None:
        ticked = [p for p in self.options if (p == perm and on) or (p != perm and p in self.value)]
        if ticked != self.value:
            self.value = ticked


class Console(W.VBox):
    """A console whose ``value`` is the id of what it shows (a room, question or dashboard), or None."""

    value = T.Unicode(None, allow_none=True)

    def on_value(self, callback: Callable[[str | None], None]) -> None:
        """Call ``callback(value)`` whenever ``value`` changes."""
        self.observe(lambda change: callback(change["new"]), names="value")

    def follow(self, dropdown: W.Dropdown) -> None:
        """Make ``value`` whatever is picked in ``dropdown`` (the picker is the console's selection)."""
        dropdown.observe(lambda change: setattr(self, "value", change["new"]), names="value")

    def begin(self, defer: bool) -> None:
        """Fetch now, or with ``defer`` only say so: apps show the frame first and call ``start`` later."""
        if defer:
            self.status.info("Loading …")
        else:
            self.start()  # the consoles that defer define start


def room_option(room: Room) -> tuple[str, str]:
    """A room as a picker shows it: its name and its owner's."""
    return f"{room.name} ({room.owner_org_name})", room.id


def member_of(room: Room) -> bool:
    """Whether the signed-in user is in ``room``: the org owns or joined it and the user holds a
    permission there (a user of the org who was never added to the room holds none)."""
    return room.my_org_status in ("owner", "accepted") and bool(room.my_permissions)


def pick_room(status: Status, client: Client, dropdown: W.Dropdown, first: str | None = None) -> bool:
    """Offer the rooms the user belongs to (the org owns or joined them and the service's policy gives
    the user a permission there), ``first`` picked if there; False (said) if none."""
    rooms = guarded(status, client.rooms) or []
    set_options(dropdown, [room_option(r) for r in rooms if member_of(r)], first)
    if dropdown.value is None:
        status.info("You are not in any clean room yet: an admin of your organisation adds you to one.")
        return False
    return True


def fetch_room(status: Status, client: Client, room_id: str | None) -> Room | None:
    """The picked room as the signed-in user sees it (abilities included); None if none is picked or
    the service refuses (its reason shown in ``status``)."""
    return guarded(status, lambda: client.room(room_id)) if room_id else None


def set_options(dropdown: W.Dropdown, options: Sequence[tuple[str, Any]], keep: Any = None) -> None:
    """Replace a dropdown's (label, value) options; keep ``keep`` if still there, else pick the first."""
    dropdown.options = list(options)
    values = [v for _, v in options]
    dropdown.value = keep if keep in values else (values[0] if values else None)


def number_text(value: str) -> str:
    """An exact number from the service ('1/1000000') as a person writes it ('0.000001')."""
    import decimal
    from fractions import Fraction

    try:
        f = Fraction(value)
    except (ValueError, ZeroDivisionError):
        return value
    with decimal.localcontext(decimal.Context(prec=8)):
        return format(decimal.Decimal(f.numerator) / decimal.Decimal(f.denominator), "f")


def show_figure(out: W.Output, figure: Any) -> None:
    """Draw a Plotly figure into an Output widget (a kernel renders it; plain Python has no page)."""
    from IPython import get_ipython
    from IPython.display import display

    out.clear_output(wait=True)
    if get_ipython() is None:
        return
    with out:
        display(figure)
