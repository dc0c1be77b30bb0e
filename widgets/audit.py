"""The audit log app: what was done in the org's rooms, by whom, when (with its time zone), and why.

Reads (page views, listings) are hidden unless asked for, so the actions that changed something
are not buried; refused reads are always shown. Pages are keyset pages (``before_seq``): a page
never shifts when new events arrive. Dates are whole days in the chosen time zone; the service
gets exact instants. The CSV export carries every event of the current filters (not just the
page on screen), is made in the kernel and handed to the browser as a data link: nothing is
written on the server.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ipywidgets as W

from workbench.client import Client
from workbench.client.exports import safe_cell
from workbench.wire.governance import AuditEvent
from widgets._common import Status, button, esc, guarded, set_options, show, table_html

#: the most events one export gathers (the service's largest page)
EXPORT_LIMIT = 10_000
#: the time zones offered besides the kernel's own
ZONES = ("UTC", "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo")
COLUMNS = ("when", "who", "action", "room", "resource", "outcome", "reason")


def local_zone() -> str:
    """The kernel's time zone name if it has one zoneinfo knows, else UTC."""
    import os

    name = os.environ.get("TZ", "").lstrip(":")
    try:
        return str(ZoneInfo(name)) if name else "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"


def shown_time(at: str, zone: str) -> str:
    """An event's ISO instant as '2026-12-01 05:04:03 CET' in ``zone`` (the zone is always written)."""
    when = dt.datetime.fromisoformat(at)
    if when.tzinfo is None:  # the service writes UTC
        when = when.replace(tzinfo=dt.timezone.utc)
    local = when.astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or zone}"


def day_bounds(start: dt.date | None, end: dt.date | None, zone: str
               ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Whole days [start 00:00, end+1 00:00) in ``zone`` as aware instants (None: unbounded)."""
    tz = ZoneInfo(zone)
    since = dt.datetime.combine(start, dt.time(), tz) if start else None
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz) if end else None
    return since, until


def audit_csv(events: list[AuditEvent], zone: str, rooms: dict[str, str]) -> str:
    """Events as spreadsheet-safe CSV: the instant in UTC and in ``zone``, then every column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "at_utc", f"at ({zone})", "actor", "actor_user_id", "actor_org_id", "action",
                     "room", "room_id", "resource_type", "resource_id", "resource_org_id", "outcome",
                     "reason", "detail"])
    for e in events:
        writer.writerow([safe_cell(v) for v in (
            e.seq, shown_time(e.at, "UTC"), shown_time(e.at, zone), e.actor_name or "system", e.actor_user_id,
            e.actor_org_id, e.action, rooms.get(e.room_id or "", ""), e.room_id, e.resource_type,
            e.resource_id, e.resource_org_id, e.outcome, e.reason,
            json.dumps(e.detail, sort_keys=True, default=str) if e.detail is not None else "")])
    return out.getvalue()


class AuditLog(W.VBox):
    """The org's audit events, a page at a time, filtered by room, actor, action and date range.

    ``events`` is the page on screen; ``page`` its number (1 = newest).
    """

    def __init__(self, client: Client, *, page_size: int = 50, defer: bool = False, **kwargs: Any) -> None:
        """``defer=True`` draws the frame only; :meth:`start` then fetches (apps show the frame first)."""
        self.client = client
        self.page_size = page_size
        self.status = Status()
        self.events: list[AuditEvent] = []
        self.rooms: dict[str, str] = {}
        self._cursors: list[int | None] = [None]  # before_seq of each page seen so far
        self._more = False
        self.room = W.Dropdown(description="Room", options=[("any room", "")])
        self.actor = W.Dropdown(description="Who", options=[("anyone", "")])
        self.action = W.Text(description="Action", placeholder="e.g. partner.invite (any)")
        self.start_day = W.DatePicker(description="From")
        self.end_day = W.DatePicker(description="to")
        zones = list(dict.fromkeys([local_zone(), *ZONES]))
        self.zone = W.Dropdown(description="Time zone", options=zones, value=zones[0])
        self.reads = W.Checkbox(description="Show reads (page views, listings)", value=False, indent=False)
        self.load = button("Show events", "primary")
        self.newer = button("◀ Newer", disabled=True)
        self.older = button("Older ▶", disabled=True)
        self.page_label = W.HTML()
        self.export = button("Export CSV")
        self.download = W.HTML()
        self.table = W.HTML()
        self.load.on_click(lambda _: self.refresh())
        self.newer.on_click(lambda _: self.go(-1))
        self.older.on_click(lambda _: self.go(+1))
        self.export.on_click(lambda _: self.export_csv())
        for control in (self.room, self.actor, self.start_day, self.end_day, self.reads):
            control.observe(lambda _: self.refresh(), names="value")
        self.zone.observe(lambda _: self._draw(), names="value")
        super().__init__([
            W.HTML("<h2 style='margin:4px 0'>Audit log</h2>"),
            W.HBox([self.room, self.actor, self.action]),
            W.HBox([self.start_day, self.end_day, self.zone]),
            W.HBox([self.reads, self.load]), self.status,
            W.HBox([self.newer, self.page_label, self.older, self.export]), self.download, self.table,
        ], **kwargs)
        self.add_class("wb-audit-log")
        if defer:
            self.status.info("Loading …")
        else:
            self.start()

    @property
    def page(self) -> int:
        """The number of the page on screen (1: the newest events)."""
        return len(self._cursors)

    def start(self) -> None:
        """Fill the room and actor pickers, then show the newest page."""
        rooms = guarded(self.status, self.client.rooms) or []
        self.rooms = {r.id: r.name for r in rooms if r.my_org_status in ("owner", "accepted")}
        users = guarded(self.status, self.client.users) or []
        with self.hold_trait_notifications():
            set_options(self.room, [("any room", "")] + [(name, rid) for rid, name in self.rooms.items()],
                        self.room.value)
            set_options(self.actor, [("anyone", "")] + [(u.name, u.id) for u in users], self.actor.value)
        self.refresh()

    def _filters(self) -> dict[str, Any] | None:
        start, end = self.start_day.value, self.end_day.value
        if start and end and start > end:
            self.status.error("the date range is empty: 'From' must not come after 'to'")
            return None
        since, until = day_bounds(start, end, self.zone.value)
        return dict(room_id=self.room.value or None, actor_user_id=self.actor.value or None,
                    action=self.action.value.strip() or None, since=since, until=until, reads=self.reads.value)

    def refresh(self) -> None:
        """Show the newest page of the current filters."""
        self._cursors = [None]
        self._fetch()

    def go(self, step: int) -> None:
        """Page older (+1) or newer (-1)."""
        if step > 0 and self._more and self.events:
            self._cursors.append(self.events[-1].seq)
        elif step < 0 and len(self._cursors) > 1:
            self._cursors.pop()
        self._fetch()

    def _fetch(self) -> None:
        self.download.value = ""
        filters = self._filters()
        if filters is None:
            self.events, self._more = [], False
            self._draw()
            return
        cursor = self._cursors[-1]
        events = guarded(self.status, lambda: self.client.audit(
            limit=self.page_size + 1, before_seq=cursor, **filters))
        if events is None:
            return
        self._more = len(events) > self.page_size
        self.events = events[:self.page_size]
        self.status.clear()
        self._draw()

    def _draw(self) -> None:
        zone = self.zone.value
        self.newer.disabled = self.page <= 1
        self.older.disabled = not self._more
        first = (self.page - 1) * self.page_size
        self.page_label.value = (
            f"<span class='wb-audit-page' style='padding:0 8px'>page {self.page}: events "
            f"{first + 1 if self.events else 0}–{first + len(self.events)}"
            f"{'' if self._more else ' (the oldest)'}; times in {esc(zone)}</span>")
        self.table.value = table_html(
            COLUMNS,
            [(shown_time(e.at, zone), e.actor_name or "system", e.action,
              self.rooms.get(e.room_id or "", e.room_id or ""),
              f"{e.resource_type or ''} {e.resource_id or ''}".strip(), e.outcome, e.reason) for e in self.events],
            css_class="wb-audit", empty="no events match these filters")

    def export_csv(self) -> None:
        """Every event of the current filters (up to 10,000) as a CSV download link."""
        filters = self._filters()
        if filters is None:
            return
        events: list[AuditEvent] = []
        cursor: int | None = None
        while len(events) < EXPORT_LIMIT:
            page = guarded(self.status, lambda: self.client.audit(
                limit=min(1000, EXPORT_LIMIT - len(events)), before_seq=cursor, **filters))
            if page is None:
                return
            events += page
            if len(page) < 1000:
                break
            cursor = page[-1].seq
        zone = self.zone.value
        data = base64.b64encode(audit_csv(events, zone, self.rooms).encode()).decode()
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = f"audit_{stamp}.csv"
        self.download.value = (f'<a class="wb-audit-csv" download="{esc(name)}" '
                               f'href="data:text/csv;base64,{data}">Download {esc(name)} '
                               f"({len(events)} events)</a>")
        show(self.download, True)
        self.status.ok(f"{len(events)} event(s) ready to download"
                       + (" (the first 10,000 only: narrow the dates)" if len(events) >= EXPORT_LIMIT else ""))


def audit_app(**kwargs: Any) -> Any:
    """The audit log app (Voilà: notebooks/apps/audit.ipynb)."""
    from widgets.app import signed_in

    def build(client: Client) -> W.Widget:
        return AuditLog(client, defer=True)

    return signed_in(build, title="Audit log", warm=("widgets.audit",), **kwargs)
