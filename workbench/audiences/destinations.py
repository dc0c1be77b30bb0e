"""Export destinations: folders under the activation root configured on the service host.

The root stands in for the ad server's bucket. The service operator sets it with the
``WORKBENCH_ACTIVATION_ROOT`` environment variable; the activation party names a relative folder
under it. A folder outside the root (absolute paths, ``..``, symbolic links anywhere on the
way) is refused when configured and again when written to, and files are created exclusively
without following links, so a link planted later cannot redirect an export.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from workbench.errors import Conflict, InvalidInput

ROOT_ENV = "WORKBENCH_ACTIVATION_ROOT"
_PART = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def activation_root() -> Path:
    """The configured root (an existing directory), or Conflict naming the setting."""
    value = os.environ.get(ROOT_ENV)
    if not value:
        raise Conflict(f"activation is not configured on this service: its operator sets "
                       f"{ROOT_ENV} to a directory for exports")
    root = Path(value)
    if not root.is_dir():
        raise Conflict(f"the activation root configured in {ROOT_ENV} is not a directory; the "
                       "operator must create it")
    return Path(os.path.realpath(root))


def check_relative(path: str) -> PurePosixPath:
    """A relative folder of plain names (no '..', no absolute path, no odd characters)."""
    if "\\" in path or "\x00" in path or path.startswith("/") or not path.strip("/"):
        raise InvalidInput(f"the destination {path!r} must be a relative folder under the "
                           "activation root, like 'gam/sports'")
    for part in path.rstrip("/").split("/"):
        if part in ("", ".", "..") or not _PART.match(part):
            raise InvalidInput(f"the destination {path!r} leaves the activation root or uses "
                               f"an odd name ({part!r}); use plain folder names (letters, "
                               "digits, '.', '_', '-')")
    return PurePosixPath(path.rstrip("/"))


def folder(path: str, *, create: bool) -> Path:
    """The destination folder, checked component by component (no symbolic links)."""
    root = activation_root()
    target = root
    for part in check_relative(path).parts:
        target = target / part
        if target.is_symlink():
            raise InvalidInput(f"the destination {path!r} goes through a symbolic link; links "
                               "are refused so exports stay under the activation root")
        if target.exists():
            if not target.is_dir():
                raise InvalidInput(f"the destination {path!r} is a file, not a folder")
        elif create:
            target.mkdir(mode=0o750)
    real = Path(os.path.realpath(target))
    if real != root and root not in real.parents:
        raise InvalidInput(f"the destination {path!r} resolves outside the activation root")
    return target


def new_export_folder(path: str, name: str) -> Path:
    """A fresh folder for one export inside the destination (never an existing one)."""
    base = folder(path, create=True)
    out = base / name
    out.mkdir(mode=0o750)
    if out.is_symlink():
        raise InvalidInput("the export folder is a symbolic link; refused")
    return out


def open_new(folder_path: Path, name: str) -> int:
    """A file descriptor of a new file in the export folder (exclusive, never a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(folder_path / name, flags, 0o640)


def remove_export(relative: str) -> bool:
    """Delete one export's folder (relative to the root) and its files; False when there is
    nothing to delete or no root. Never follows a link out of the root."""
    try:
        root = activation_root()
        parts = check_relative(relative).parts
    except (Conflict, InvalidInput):
        return False
    target = root
    for part in parts:
        target = target / part
        if target.is_symlink() or not target.is_dir():
            return False
    for entry in target.iterdir():
        if entry.is_symlink() or entry.is_file():
            entry.unlink()
        else:
            return False  # an export folder holds files only; anything else is left alone
    target.rmdir()
    return True
