"""A SQL editor with highlighting and completion of the room's macros: CodeMirror 6 in an anywidget.

The editor's JavaScript is bundled in ``widgets/static/sql_editor.js`` (built from
``sql_editor.src.js`` beside it; the build command is at its top), so it works offline and
loads nothing from a CDN. ``value`` is the SQL text, two-way; ``completions`` are the words
offered while typing: dataset macros (tables, with their field macros as columns), field macros
and ``:parameters``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as T

_STATIC = Path(__file__).parent / "static"


def completion(label: str, kind: str, detail: str = "", columns: list[str] | None = None) -> dict[str, Any]:
    """One word the editor offers: ``kind`` is table, property (a column) or variable (a parameter)."""
    out: dict[str, Any] = {"label": label, "type": kind, "detail": detail}
    if columns is not None:
        out["columns"] = columns
    return out


class SqlEditor(anywidget.AnyWidget):
    """SQL text with syntax highlighting and macro completion (Ctrl-Space lists every word)."""

    _esm = _STATIC / "sql_editor.js"
    value = T.Unicode("").tag(sync=True)
    placeholder = T.Unicode("").tag(sync=True)
    disabled = T.Bool(False).tag(sync=True)
    completions = T.List(T.Dict()).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("wb-sql")
