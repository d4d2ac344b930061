"""Writing files safely: output paths checked before the work, files written atomically.

Every file the course writes goes through :func:`atomic_write`: it is written under a
temporary name beside its destination and moved into place only when complete, so a crash
or a full disk never leaves half a file. Temporary files and folders are created with the
ordinary modes (0o666, 0o777), which the system reduces by the user's umask, so what lands
has the user's normal permissions.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from helpers.errors import UsageError


def _unused_name(folder: Path, prefix: str, suffix: str = "") -> Path:
    return folder / f"{prefix}{secrets.token_hex(6)}{suffix}"


def staging_dir(folder: str | Path, prefix: str) -> Path:
    """A new, empty hidden folder in ``folder`` (made if needed), to fill and then move into
    place with :func:`move_into_place`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        path = _unused_name(folder, prefix)
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue


def _new_file(folder: Path, prefix: str, suffix: str) -> Path:
    while True:
        path = _unused_name(folder, prefix, suffix)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_write(path: str | Path):
    """Yield a temporary path beside ``path``; when the block ends without an error, move
    it onto ``path`` (unless the block removed it). On an error nothing is left."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temporary name keeps the suffix: some writers (Keras) insist on it
    tmp = _new_file(path.parent, f".{path.name}.", f".part{path.suffix}")
    try:
        yield tmp
        if tmp.exists():
            move_into_place(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def move_into_place(tmp: str | Path, path: str | Path) -> Path:
    """Move a finished file or folder (made by :func:`atomic_write` or :func:`staging_dir`)
    onto ``path`` in one step."""
    tmp, path = Path(tmp), Path(path)
    os.replace(tmp, path)
    return path


def _writable_parent(path: Path, what: str) -> None:
    parent = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise UsageError(f"{what} {path}: {parent} is not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {path}: cannot write in {parent} (permission denied).")


def check_output_file(path: str | Path, suffix: str | None = None, what: str = "output") -> Path:
    """``path`` as a file the course can create or replace, checked before any long work:
    not a folder, ending in ``suffix`` when one is given, in a folder that can be written."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"{what} {path}: is a folder; give a file name"
                         + (f" ending in {suffix}." if suffix else "."))
    if suffix and path.suffix != suffix:
        raise UsageError(f"{what} {path}: the file name must end in {suffix}"
                         + (f", not {path.suffix}." if path.suffix else "."))
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{what} {path}: cannot be replaced (permission denied).")
    _writable_parent(path, what)
    return path


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """``path`` as a folder the course can create or write into, checked before any work."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path}: is a file, not a folder; give a folder.")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{what} {path}: cannot write in it (permission denied).")
        return path
    _writable_parent(path, what)
    return path
