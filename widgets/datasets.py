"""Dataset manager: upload, connect, provision into a room, analysis rules, template mapping, unlink.

Built only on ``workbench.client``. The org-level part (connections) is offered when the service
lets the user read connections; the room part shows each control only when the room's
abilities (or ``client.check`` for actions with a resource rule) say the user may use it.
Identity hashing, PII handling and every rule are the service's; the widget only collects input.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import ipywidgets as W
import traitlets as T

from workbench.client import Client
from workbench.client.datasets import CHUNK_BYTES
from workbench.errors import NotFound, PermissionDenied, WorkbenchError
from workbench.wire import data as d
from widgets._common import (Console, Status, button, esc, fetch_room, guarded, heading, pick_room, set_options, show,
                             table_html)
from widgets._common import Confirmation

IDENTITY_KINDS = [("e-mail address", "email"), ("mobile ad id (MAID)", "maid"), ("IP address", "ip"),
                  ("SHA-256 of an e-mail", "sha256")]
AGGREGATIONS = ("COUNT", "COUNT_DISTINCT", "SUM", "AVG")
_WIDE = W.Layout(width="420px")


def ingest_report_html(conn: d.Connection) -> str:
    """The ingest report of a connection: rows read, kept, rejected (with reasons), identities."""
    head = (f"<div class='wb-ingest'><b>{esc(conn.name)}</b> from {esc(conn.file_name)}: "
            f"<span class='wb-rows-read'>{conn.rows_read:,}</span> rows read, "
            f"<span class='wb-rows-kept'>{conn.rows_kept:,}</span> kept, "
            f"<span class='wb-rows-rejected'>{conn.rows_rejected:,}</span> rejected; "
            f"{conn.distinct_identities:,} distinct identities ({esc(conn.identity_kind)} in "
            f"{esc(conn.identity_column)}, PII {esc(conn.pii_mode)}ed).</div>")
    reasons = table_html(["reason", "rows", "first lines"],
                         [(r.reason, r.rows, ", ".join(str(n) for n in r.lines)) for r in conn.rejections],
                         css_class="wb-rejections", empty="no rows rejected")
    warnings = table_html(["kept, but check", "rows", "first lines"],
                          [(r.reason, r.rows, ", ".join(str(n) for n in r.lines)) for r in conn.identity_warnings],
                          css_class="wb-identity-warnings", empty="no invisible or look-alike characters")
    columns = table_html(["column", "type", "stored as"],
                         [(c.name, c.type, "identity (hashed)" if c.identity else
                           ("PII, hashed" if c.hashed else ("PII" if c.pii else "as is"))) for c in conn.columns],
                         css_class="wb-connection-columns")
    return head + reasons + warnings + columns


def readiness_html(ready: d.Readiness) -> str:
    """The room's checklist: per dataset macro and party, what is mapped and what is missing."""
    state = ("<b style='color:#1b6e20'>active: every required field is mapped</b>" if ready.ready else
             f"<b style='color:#b00020'>{esc(ready.status)}</b>: still missing "
             + esc("; ".join(ready.missing) or "nothing"))
    rows = [(f"@{i.dataset_macro}", i.org_name, i.dataset_name or "not assigned",
             ", ".join(f"{k} → {v}" for k, v in sorted(i.mapped_fields.items())) or "—",
             ", ".join(i.missing_fields) or "—", "✓" if i.ready else "✗") for i in ready.items]
    return (f"<div class='wb-readiness-state'>Room {state}</div>"
            + table_html(["dataset macro", "party", "dataset", "mapped", "missing", "ready"], rows,
                         css_class="wb-readiness", empty="the room has no template fields yet"))


#: the types a column can be declared as at upload (None: the service infers it)
DECLARABLE_TYPES = ("text", "integer", "double", "boolean", "date", "timestamp")
#: how many rows of the uploader's own file are shown before the upload
SAMPLE_ROWS = 5


def sample_rows(source: Any, file_name: str | None, n: int = SAMPLE_ROWS) -> tuple[list[str], list[list[str]]]:
    """The header and first ``n`` rows of the uploader's OWN file, read here in the kernel, as written
    (text, so "01234" shows as "01234"): the service never sends raw rows back."""
    import csv
    import io

    if hasattr(source, "head") and hasattr(source, "columns"):
        head = source.head(n)
        return [str(c) for c in head.columns], [[str(v) for v in row] for row in head.itertuples(index=False)]
    name = (file_name or str(source)).lower()
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            data = fh.read(1 << 20)
    else:
        data = bytes(source[: 1 << 20])
    if name.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        table = pq.ParquetFile(io.BytesIO(bytes(source)) if not isinstance(source, (str, Path)) else source
                               ).read_row_group(0).slice(0, n)
        return table.column_names, [[str(v) for v in row.values()] for row in table.to_pylist()]
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    rows = [row for _, row in zip(range(n + 1), reader)]
    return (rows[0], rows[1:]) if rows else ([], [])


def _number(text: str, what: str) -> float | int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number (or empty), not {text!r}") from None


class ColumnRuleRow(W.HBox):
    """One column's analysis rule: join, group by (public values), aggregations, bounds, input k-min."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.join = W.Checkbox(description="join", indent=False, layout=W.Layout(width="60px"))
        self.group_by = W.Checkbox(description="group by", indent=False, layout=W.Layout(width="85px"))
        self.public_values = W.Text(placeholder="public values: a, b, c", layout=W.Layout(width="190px"))
        self.aggregations = W.SelectMultiple(options=AGGREGATIONS, rows=2, layout=W.Layout(width="150px"))
        self.lower = W.Text(placeholder="lower", layout=W.Layout(width="70px"))
        self.upper = W.Text(placeholder="upper", layout=W.Layout(width="70px"))
        self.input_k_min = W.Text(placeholder="input k-min", layout=W.Layout(width="90px"))
        super().__init__([W.HTML(f"<code>{esc(name)}</code>", layout=W.Layout(width="140px")), self.join,
                          self.group_by, self.public_values, self.aggregations, self.lower, self.upper,
                          self.input_k_min])

    def load(self, rule: d.ColumnRuleOut | None) -> None:
        """Show a rule the service holds (or an empty one)."""
        self.join.value = bool(rule and rule.join)
        self.group_by.value = bool(rule and rule.group_by)
        self.public_values.value = ", ".join(rule.public_values or []) if rule else ""
        self.aggregations.value = tuple(a for a in (rule.aggregations if rule else []) if a in AGGREGATIONS)
        for box, attr in ((self.lower, "lower"), (self.upper, "upper"), (self.input_k_min, "input_k_min")):
            val = getattr(rule, attr) if rule is not None else None
            box.value = "" if val is None else (format(val, "g") if isinstance(val, float) else str(val))

    def rule(self) -> dict[str, Any] | None:
        """The rule as the service takes it; None for a column with no rule (not queryable in any way)."""
        values = [v.strip() for v in self.public_values.value.split(",") if v.strip()]
        out: dict[str, Any] = {
            "name": self.name, "join": self.join.value, "group_by": self.group_by.value,
            "public_values": values or None, "aggregations": list(self.aggregations.value),
            "lower": _number(self.lower.value, f"the lower bound of {self.name}"),
            "upper": _number(self.upper.value, f"the upper bound of {self.name}"),
            "input_k_min": _number(self.input_k_min.value, f"the input k-min of {self.name}"),
        }
        if isinstance(out["input_k_min"], float):
            raise ValueError(f"the input k-min of {self.name} must be a whole number")
        empty = not (out["join"] or out["group_by"] or out["aggregations"] or values
                     or any(out[k] is not None for k in ("lower", "upper", "input_k_min")))
        return None if empty else out


class DatasetManager(Console):
    """For data owners: connections (upload, schema, PII, ingest report) and, per room, provisioning,
    analysis rules, template mapping with the readiness checklist, and unlink.

    ``value`` is the selected room's id; ``connection`` the connection just made or picked.
    """

    connection = T.Unicode(None, allow_none=True)

    def __init__(self, client: Client, room_id: str | None = None, *, defer: bool = False,
                 chunk_bytes: int = CHUNK_BYTES, **kwargs: Any) -> None:
        """``defer=True`` draws the frame only; :meth:`start` then fetches (apps show the frame first)."""
        self.client = client
        self.chunk_bytes = chunk_bytes
        self._first_room = room_id
        self.org_id: str | None = None
        self.schema: d.UploadSchema | None = None
        self.connections: list[d.Connection] = []
        self.room: Any = None
        self.datasets: list[d.Dataset] = []
        self.template: d.Template | None = None
        self.ready: d.Readiness | None = None
        self.rule_rows: list[ColumnRuleRow] = []
        self.field_picks: dict[str, W.Dropdown] = {}
        self.status = Status()
        self.room_status = Status()

        # connections: upload, schema, fields, identity, PII, create, report
        self.file = W.FileUpload(accept=".csv,.parquet,.pq,.txt", multiple=False, description="Upload file")
        self.file.observe(lambda _: self._file_chosen(), names="value")
        self.progress = W.IntProgress(value=0, min=0, max=100, description="Upload", bar_style="info")
        self.schema_table = W.HTML()
        self.sample = W.HTML()
        self.type_picks: dict[str, W.Dropdown] = {}
        self.types_box = W.VBox()
        self.reread = button("Upload again with these types", tooltip="the file is read again with the declared types")
        self.reread.on_click(lambda _: self._upload_with_types())
        self._source: tuple[Any, str | None] | None = None
        self.conn_name = W.Text(description="Name", placeholder="e.g. customers", layout=_WIDE)
        self.fields = W.SelectMultiple(description="Fields", options=[], rows=6)
        self.identity = W.Dropdown(description="Identity", options=[])
        self.kind = W.Dropdown(description="Kind", options=IDENTITY_KINDS, value="email")
        self.pii = W.SelectMultiple(description="PII", options=[], rows=6)
        self.pii_mode = W.ToggleButtons(options=[("hash PII", "hash"), ("drop PII", "drop")], value="hash")
        self.strict = W.Checkbox(description="refuse the file if any row is bad", value=False)
        self.create = button("Create connection", "primary")
        self.create.on_click(lambda _: self.create_connection())
        self.connect_form = W.VBox([
            self.sample, self.schema_table,
            W.HTML("<span style='color:#555'>Declare a column's type where the guess is wrong (text keeps "
                   "leading zeros, e.g. zip codes 01234):</span>"), self.types_box, self.reread, self.conn_name, W.HBox([self.fields, self.pii]),
            W.HBox([self.identity, self.kind]), W.HBox([self.pii_mode, self.strict]), self.create])
        self.report = W.HTML()
        self.conn_list = W.HTML()
        self.conn_pick = W.Dropdown(description="Connection", options=[], layout=_WIDE)
        self.conn_pick.observe(lambda change: setattr(self, "connection", change["new"]), names="value")
        self.confirm_conn = Confirmation()
        self.conn_pick.observe(lambda _: self.confirm_conn.cancel(), names="value")
        self.delete_conn = button("Delete connection everywhere", "danger")
        self.delete_conn.on_click(lambda _: self._ask_delete_connection())
        self.upload_box = W.VBox([W.HBox([self.file, self.progress]), self.connect_form])
        self.conn_box = W.VBox([self.upload_box, self.report, heading("Your connections", 4), self.conn_list,
                                W.HBox([self.conn_pick, self.delete_conn]), self.confirm_conn])

        # room: datasets, provisioning, rules, mapping, readiness, unlink
        self.room_pick = W.Dropdown(description="Room", options=[], layout=_WIDE)
        self.follow(self.room_pick)
        self.ds_table = W.HTML()
        self.prov_name = W.Text(description="Name", placeholder="the dataset's name in the room", layout=_WIDE)
        self.prov_columns = W.SelectMultiple(description="Columns", options=[], rows=6)
        self.row_filter = W.Text(description="Row filter", placeholder="e.g. region = 'north' AND spend > 0",
                                 layout=_WIDE)
        self.may_assign = W.Checkbox(description="partners may assign it to template fields", value=False)
        self.provision = button("Provision into room", "primary")
        self.provision.on_click(lambda _: self.provision_dataset())
        self.prov_box = W.VBox([heading("Provision a connection", 4),
                                W.HTML("<i>Uses the connection picked above.</i>"), self.prov_name,
                                self.prov_columns, self.row_filter, self.may_assign, self.provision])
        self.ds_pick = W.Dropdown(description="Dataset", options=[], layout=_WIDE)
        self.ds_pick.observe(lambda _: self._show_rules(), names="value")
        self.confirm_unlink = Confirmation()
        self.ds_pick.observe(lambda _: self.confirm_unlink.cancel(), names="value")
        self.unlink = button("Unlink from room", "danger")
        self.unlink.on_click(lambda _: self._ask_unlink())
        self.rules_rows = W.VBox()
        self.rules_note = W.HTML()
        self.save_rules = button("Save analysis rules", "primary")
        self.save_rules.on_click(lambda _: self.set_rules())
        self.rules_box = W.VBox([heading("Analysis rules", 4), self.rules_note, self.rules_rows, self.save_rules])
        self.mine_box = W.VBox([W.HBox([self.ds_pick, self.unlink]), self.confirm_unlink, self.rules_box])
        self.map_item = W.Dropdown(description="Template", options=[], layout=_WIDE)
        self.map_item.observe(lambda _: self._fill_mapping(), names="value")
        self.map_ds = W.Dropdown(description="Dataset", options=[], layout=_WIDE)
        self.map_ds.observe(lambda _: self._fill_mapping(keep=True), names="value")
        self.map_fields = W.VBox()
        self.map = button("Map fields", "primary")
        self.map.on_click(lambda _: self.map_fields_to_columns())
        self.unmap = button("Remove mapping")
        self.unmap.on_click(lambda _: self._unmap())
        self.map_box = W.VBox([heading("Template field mapping", 4), self.map_item, self.map_ds, self.map_fields,
                               W.HBox([self.map, self.unmap])])
        self.readiness = W.HTML()
        self.room_box = W.VBox([heading("Datasets in the room", 4), self.ds_table, self.prov_box, self.mine_box,
                                self.map_box, heading("Readiness checklist", 4), self.readiness])

        self.connection_id_note = W.HTML()
        super().__init__([
            W.HTML("<h2 style='margin:4px 0'>Datasets</h2>"), heading("Data connections", 3),
            self.connection_id_note, self.conn_box, self.status, heading("Clean room", 3),
            self.room_pick, self.room_status, self.room_box,
        ], **kwargs)
        self.add_class("wb-datasets")
        show(self.connect_form, False)
        show(self.room_box, False)
        self.observe(lambda _: self._show_room(), names="value")
        self.observe(lambda _: self.confirm_unlink.cancel(), names="value")
        self.observe(lambda _: self._fill_provision(), names="connection")
        self.begin(defer)

    def start(self) -> None:
        """Fetch connections and rooms."""
        self.status.clear()
        self.room_status.clear()
        me = guarded(self.status, self.client.whoami)
        self.org_id = me.org.id if me else None
        self.reload_connections()
        pick_room(self.room_status, self.client, self.room_pick, self._first_room)

    # connections ---------------------------------------------------------------------------
    def reload_connections(self, select: str | None = None) -> None:
        """List the org's connections; hide the connection tools if the service refuses them."""
        try:
            self.connections = self.client.connections()
        except PermissionDenied as exc:
            self.connections = []
            show(self.conn_box, False)
            self.connection_id_note.value = ("<div class='wb-no-connections' style='color:#555'>You cannot manage "
                                             f"data connections: {esc(exc.message)}. Ask your organisation's "
                                             "admin for the data connections right.</div>")
            return
        except Exception as exc:  # still no traceback on the page
            self.status.error(exc)
            return
        self.connection_id_note.value = ""
        show(self.conn_box, True)
        self.conn_list.value = table_html(
            ["name", "file", "identity", "rows kept", "rejected", "rooms"],
            [(c.name, c.file_name, f"{c.identity_column} ({c.identity_kind})", f"{c.rows_kept:,}",
              f"{c.rows_rejected:,}", len(c.provisioned_in)) for c in self.connections],
            css_class="wb-connections", empty="no data connections yet: upload a file above")
        set_options(self.conn_pick, [(c.name, c.id) for c in self.connections], select or self.connection)
        self.connection = self.conn_pick.value
        self._offer_provision()

    def _file_chosen(self) -> None:
        files = self.file.value
        if not files:
            return
        item = files[0]
        self.upload(bytes(item["content"]), file_name=item["name"])

    def upload(self, source: Any, *, file_name: str | None = None,
               column_types: dict[str, str] | None = None) -> d.UploadSchema | None:
        """Upload a path, bytes or a DataFrame; the bar moves per chunk, then the schema shows.

        A few rows of the file are shown first, read here from the uploader's own file;
        ``column_types`` declares types that override the service's inference.
        """
        self._source = (source, file_name)
        try:
            head, rows = sample_rows(source, file_name)
            self.sample.value = (f"<div class='wb-sample-caption'><b>Your file's first rows</b> (read here, "
                                 "not sent back by the service):</div>"
                                 + table_html(head, rows, css_class="wb-sample", empty="no rows"))
        except Exception:  # an unreadable file: the service's parse says why
            self.sample.value = ""
        self.progress.value, self.progress.bar_style, self.progress.description = 0, "info", "Uploading"
        if self.schema is not None:  # a new file replaces the one not yet connected: free its slot
            try:
                self.client.cancel_upload(self.schema.upload_id)
            except NotFound:
                pass  # it expired already
            except WorkbenchError as exc:  # best effort: the slot also frees when it expires
                self.status.info(f"the earlier upload could not be cancelled ({exc}); it expires "
                                 "on its own")
        self.schema = None
        show(self.connect_form, False)

        def moved(sent: int, total: int) -> None:
            self.progress.value = 100 if total <= 0 else min(100, sent * 100 // total)

        schema = guarded(self.status, lambda: self.client.upload(source, file_name=file_name, progress=moved,
                                                                  chunk_bytes=self.chunk_bytes,
                                                                  column_types=column_types))
        if schema is None:
            self.progress.bar_style, self.progress.description = "danger", "Failed"
            return None
        self.progress.value, self.progress.bar_style, self.progress.description = 100, "success", "Uploaded"
        self.schema = schema
        names = [c.name for c in schema.columns]
        self.schema_table.value = (
            f"<div class='wb-schema-caption'><b>{esc(schema.file_name)}</b>: {schema.rows:,} rows, "
            f"{len(names)} columns detected</div>"
            + table_html(["column", "type"], [(c.name, c.type) for c in schema.columns], css_class="wb-schema"))
        self._type_pickers(schema, column_types or {})
        self.fields.options = names
        self.fields.value = tuple(names)
        self.pii.options = names
        self.pii.value = ()
        guess = next((n for n in names if n.lower() in ("email", "e_mail", "maid", "ip", "sha256")), None)
        set_options(self.identity, [(n, n) for n in names], guess)
        if guess and guess.lower() in ("maid", "ip", "sha256"):
            self.kind.value = guess.lower()
        self.conn_name.value = self.conn_name.value or Path(schema.file_name).stem
        show(self.connect_form, True)
        self.status.ok(f"{schema.file_name} uploaded: check the schema, pick fields, PII and the identity column")
        return schema

    def _type_pickers(self, schema: d.UploadSchema, declared: dict[str, str]) -> None:
        """One picker per column: "default (the inferred type)" or a declared type."""
        self.type_picks = {}
        for c in schema.columns:
            inferred = c.type if c.name not in declared else "as declared"
            options = [(f"default ({inferred})", "")] + [(t, t) for t in DECLARABLE_TYPES]
            self.type_picks[c.name] = W.Dropdown(description=c.name, options=options, value=declared.get(c.name, ""),
                                                 style={"description_width": "initial"},
                                                 layout=W.Layout(width="260px"))
        self.types_box.children = list(self.type_picks.values())

    def declared_types(self) -> dict[str, str]:
        """The column types picked in the pickers (columns left at "default" are inferred)."""
        return {name: pick.value for name, pick in self.type_picks.items() if pick.value}

    def _upload_with_types(self) -> d.UploadSchema | None:
        if self._source is None:
            self.status.error("choose a file first")
            return None
        source, file_name = self._source
        return self.upload(source, file_name=file_name, column_types=self.declared_types())

    def create_connection(self) -> d.Connection | None:
        """Create the connection from the upload and show its ingest report."""
        schema = self.schema
        if schema is None:
            self.status.error("upload a file first")
            return None
        identity = self.identity.value
        fields = list(self.fields.value)
        if identity and identity not in fields:
            fields.append(identity)
        pii = [p for p in self.pii.value if p != identity]
        conn = guarded(self.status, lambda: self.client.create_connection(
            schema, self.conn_name.value.strip(), identity_column=identity or "", identity_kind=self.kind.value,
            fields=fields, pii=pii, pii_mode=self.pii_mode.value, strict=self.strict.value))
        if conn is None:
            return None
        self.schema = None
        show(self.connect_form, False)
        self.report.value = ingest_report_html(conn)
        self.reload_connections(select=conn.id)
        self.status.ok(f"connection {conn.name!r} created: {conn.rows_kept:,} of {conn.rows_read:,} rows kept")
        return conn

    def _ask_delete_connection(self) -> None:
        """Ask first, naming the connection and everything that goes with it."""
        if self.conn_pick.value is None:
            self.status.error("pick a connection to delete")
            return
        self.confirm_conn.ask(f"Delete the connection {self.conn_pick.label!r} everywhere?",
                              "Its data goes, and it is unlinked from every room it is provisioned in, "
                              "with the mappings and derived results there.",
                              partial(self._delete_connection, self.conn_pick.value),
                              label="Delete connection")

    def _delete_connection(self, conn_id: str | None) -> None:
        """Delete the connection the confirmation named (never whatever is picked by then)."""
        if conn_id is None:
            self.status.error("pick a connection to delete")
            return
        gone = guarded(self.status, lambda: self.client.delete_connection(conn_id))
        if gone is None:
            return
        self.report.value = ""
        self.reload_connections()
        self._show_room()
        self.status.ok(f"connection deleted with {gone.datasets_unlinked} room dataset(s) and "
                       f"{gone.derived_removed} derived result(s)")

    # room ---------------------------------------------------------------------------------
    def _show_room(self) -> None:
        room_id = self.value
        self.room_status.clear()  # a message about the previous room (or action) does not carry over
        self.room = fetch_room(self.room_status, self.client, room_id)
        room = self.room
        show(self.room_box, room is not None)
        if room is None:
            return
        can = room.abilities
        self.datasets = guarded(self.room_status, lambda: self.client.datasets(room.id)) or []
        self.ds_table.value = table_html(
            ["dataset", "organisation", "columns", "rows", "row filter", "rules", "used as"],
            [(x.name, x.org_name, ", ".join(c.name for c in x.columns),
              (f"{x.row_count:,}" if x.row_count_exact else f"about {x.row_count:,}")
              if x.row_count is not None else x.row_count_note,
              x.row_filter if x.mine else ("set" if x.has_row_filter else ""),
              f"v{x.rules.version}" if x.rules else "none", ", ".join(f"@{u.dataset_macro}" for u in x.used_by))
             for x in self.datasets], css_class="wb-room-datasets", empty="no datasets provisioned yet")
        self._offer_provision()
        mine = [x for x in self.datasets if x.mine]
        set_options(self.ds_pick, [(x.name, x.id) for x in mine], self.ds_pick.value)
        show(self.mine_box, bool(mine))
        show(self.unlink, can.get("dataset.unprovision", False))
        show(self.save_rules, can.get("dataset.rules.set", False))
        self._fill_provision()
        self._show_rules()
        self._show_mapping()

    def _offer_provision(self) -> None:
        """Provisioning needs the room's permission and a connection to provision."""
        can = self.room.abilities.get("dataset.provision", False) if self.room is not None else False
        show(self.prov_box, can and bool(self.connections))

    def _fill_provision(self) -> None:
        conn = next((c for c in self.connections if c.id == self.connection), None)
        names = [c.name for c in conn.columns] if conn else []
        self.prov_columns.options = names
        self.prov_columns.value = tuple(names)
        if conn and not self.prov_name.value:
            self.prov_name.value = conn.name

    def provision_dataset(self) -> d.Dataset | None:
        """Provision the picked connection into the room (queryable columns, row filter)."""
        room_id, conn_id = self.value, self.conn_pick.value
        if room_id is None:
            self.room_status.error("pick a room first")
            return None
        if conn_id is None:
            self.room_status.error("pick a data connection first (upload a file if you have none)")
            return None
        columns = list(self.prov_columns.value) or None
        row_filter = self.row_filter.value.strip() or None
        ds = guarded(self.room_status, lambda: self.client.provision_dataset(
            room_id, conn_id, self.prov_name.value.strip(), columns=columns, row_filter=row_filter,
            partners_may_assign=self.may_assign.value))
        if ds is None:
            return None
        self.prov_name.value = self.row_filter.value = ""
        self.ds_pick.value = None
        self._show_room()
        self.ds_pick.value = ds.id
        rows = f"{ds.row_count:,} rows" if ds.row_count is not None else ds.row_count_note
        self.room_status.ok(f"{ds.name!r} provisioned ({rows}); now set its analysis rules")
        return ds

    def _show_rules(self) -> None:
        ds = next((x for x in self.datasets if x.id == self.ds_pick.value), None)
        if ds is None:
            self.rule_rows, self.rules_rows.children, self.rules_note.value = [], [], ""
            return
        held = {r.name: r for r in (ds.rules.columns if ds.rules else [])}
        self.rule_rows = [ColumnRuleRow(c.name) for c in ds.columns]
        for row in self.rule_rows:
            row.load(held.get(row.name))
        self.rules_rows.children = self.rule_rows
        labels = ", ".join(c.name + (" (identity)" if c.identity else " (PII)") for c in ds.columns
                           if c.identity or c.pii)
        version = f"version {ds.rules.version}" if ds.rules else "no rules yet: nothing can be queried"
        self.rules_note.value = (f"<div class='wb-rules-note'>{esc(ds.name)}: {esc(version)}. Columns without a "
                                 f"rule cannot be used. Labelled: {esc(labels or 'none')}. Bounds clamp each "
                                 "person's contribution; public values are group keys known in advance.</div>")

    def set_rules(self) -> d.Rules | None:
        """Save the rules editor's rows as a new version of the dataset's rules."""
        room_id, ds_id = self.value, self.ds_pick.value
        if room_id is None:
            self.room_status.error("pick a room first")
            return None
        if ds_id is None:
            self.room_status.error("pick one of your datasets first")
            return None
        try:
            columns = [r for r in (row.rule() for row in self.rule_rows) if r is not None]
        except ValueError as exc:
            self.room_status.error(str(exc))
            return None
        rules = guarded(self.room_status, lambda: self.client.set_analysis_rules(room_id, ds_id, columns))
        if rules is None:
            return None
        self._show_room()
        self.room_status.ok(f"analysis rules saved (version {rules.version}, {len(rules.columns)} columns)")
        return rules

    def _ask_unlink(self) -> None:
        """Ask first, naming the dataset and the room."""
        if self.value is None or self.ds_pick.value is None:
            self.unlink_dataset()  # says what to pick
            return
        self.confirm_unlink.ask(f"Unlink {self.ds_pick.label!r} from {self.room_pick.label}?",
                                "Its views, analysis rules, mappings and derived results in this room go; "
                                "the connection itself stays.",
                                partial(self.unlink_dataset, self.value, self.ds_pick.value), label="Unlink")

    def unlink_dataset(self, room_id: str | None = None, ds_id: str | None = None) -> d.Deleted | None:
        """Unlink a dataset (by default the picked one) from a room (by default the picked one) with
        its views, rules, mappings and results."""
        room_id = room_id if room_id is not None else self.value
        ds_id = ds_id if ds_id is not None else self.ds_pick.value
        if room_id is None:
            self.room_status.error("pick a room first")
            return None
        if ds_id is None:
            self.room_status.error("pick one of your datasets first")
            return None
        gone = guarded(self.room_status, lambda: self.client.unprovision_dataset(room_id, ds_id))
        if gone is None:
            return None
        self.ds_pick.value = None
        self._show_room()
        self.room_status.ok(f"dataset unlinked: {gone.mappings_removed} mapping(s), {gone.rule_versions_removed} "
                            f"rule version(s) and {gone.derived_removed} derived result(s) removed")
        return gone

    # template mapping and readiness --------------------------------------------------------
    def _show_mapping(self) -> None:
        room_id = self.value
        if room_id is None:
            return
        self.template = guarded(self.room_status, lambda: self.client.template(room_id))
        self.ready = guarded(self.room_status, lambda: self.client.readiness(room_id))
        self.readiness.value = readiness_html(self.ready) if self.ready else ""
        verdict = guarded(self.room_status, lambda: self.client.check(room_id, "dataset.map")) or {}
        items = self.ready.items if self.ready else []
        show(self.map_box, bool(verdict.get("allowed")) and bool(items))
        assignable = [x for x in self.datasets if x.mine or x.partners_may_assign]
        set_options(self.map_ds, [(f"{x.name} ({x.org_name})", x.id) for x in assignable], self.map_ds.value)
        set_options(self.map_item, [(f"@{i.dataset_macro} for {i.org_name}" + (" ✓" if i.ready else ""),
                                     (i.dataset_macro, i.org_id)) for i in items], self.map_item.value)
        self._fill_mapping()

    def _item(self) -> d.ReadinessItem | None:
        pick = self.map_item.value
        items = self.ready.items if self.ready else []
        return next((i for i in items if (i.dataset_macro, i.org_id) == pick), None)

    def _fill_mapping(self, keep: bool = False) -> None:
        item = self._item()
        spec = next((t for t in (self.template.datasets if self.template else [])
                     if item and t.macro == item.dataset_macro), None)
        offered = [v for _, v in self.map_ds.options]
        if item is not None and item.dataset_id in offered and not keep:  # others: only if assignable
            self.map_ds.value = item.dataset_id
        ds = next((x for x in self.datasets if x.id == self.map_ds.value), None)
        columns = [c.name for c in ds.columns] if ds else []
        before = {f: p.value for f, p in self.field_picks.items()} if keep else {}
        self.field_picks = {}
        for field in (spec.fields if spec else []):
            current = before.get(field.macro) or (item.mapped_fields.get(field.macro) if item else None)
            if current not in columns:
                current = field.macro if field.macro in columns else ""
            need = "required" if field.required else "optional"
            typ = f", {field.type}" if field.type else ""
            pick = W.Dropdown(description=field.macro, options=[("—", "")] + [(c, c) for c in columns],
                              value=current, style={"description_width": "initial"},
                              tooltip=f"{need}{typ} {field.description}".strip())
            self.field_picks[field.macro] = pick
        self.map_fields.children = list(self.field_picks.values())

    def map_fields_to_columns(self) -> d.Readiness | None:
        """Map the picked dataset's columns to the template item's field macros."""
        item, ds_id, room_id = self._item(), self.map_ds.value, self.value
        if room_id is None:
            self.room_status.error("pick a room first")
            return None
        if item is None or ds_id is None:
            self.room_status.error("pick a template dataset macro and one of the room's datasets")
            return None
        fields = {f: p.value for f, p in self.field_picks.items() if p.value}
        org = item.org_id if item.org_id != self.org_id else None
        ready = guarded(self.room_status, lambda: self.client.map_dataset(room_id, item.dataset_macro, ds_id,
                                                                          fields, org_id=org))
        if ready is None:
            return None
        self._show_room()
        self.room_status.ok(f"@{item.dataset_macro} mapped for {item.org_name}; room is {ready.status}")
        return ready

    def _unmap(self) -> None:
        item, room_id = self._item(), self.value
        if room_id is None:
            self.room_status.error("pick a room first")
            return None
        if item is None:
            self.room_status.error("pick a template dataset macro")
            return
        org = item.org_id if item.org_id != self.org_id else None
        if guarded(self.room_status, lambda: self.client.unmap_dataset(room_id, item.dataset_macro,
                                                                       org_id=org)) is not None:
            self._show_room()
            self.room_status.ok(f"mapping of @{item.dataset_macro} removed")

