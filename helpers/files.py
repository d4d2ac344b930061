"""Writing files safely: output paths checked before the work, files written atomically.

Every file the course writes goes through :func:`atomic_write`: it is written under a
temporary name beside its destination and moved into place only when complete, so a crash
or a full disk never leaves half a file. Temporary files and folders are created with the
ordinary modes (0o666, 0o777), which the system reduces by the user's umask, so what lands
has the user's normal permissions.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path

from helpers.errors import UsageError


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


@contextlib.contextmanager
def signals_held():
    """Hold Ctrl-C, SIGTERM and SIGHUP for the block (in the main thread; elsewhere the block
    just runs), then act on the first one that came: a few renames are never cut in half."""
    import signal

    # Ctrl-C put back last, so that a second Ctrl-C cannot leave the others held
    kinds = ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []) + [signal.SIGTERM,
                                                                      signal.SIGINT]
    came: list[int] = []
    before = {}
    try:
        for kind in kinds:
            before[kind] = signal.signal(kind, lambda number, frame: came.append(number))
    except ValueError:  # not the main thread: signals are not ours to hold
        yield
        return
    try:
        yield
    finally:
        for kind, handler in before.items():
            signal.signal(kind, signal.SIG_DFL if handler is None else handler)
        if came:
            signal.raise_signal(came[0])


def replace_together(moves: list[tuple[Path, Path]]) -> None:
    """Move finished temporary files onto their destinations (``[(tmp, path), ...]``) as one
    step as far as signals go: an interruption leaves all of them old or all new."""
    with signals_held():
        for tmp, path in moves:
            os.replace(tmp, path)


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


WRITTEN_LIST = ".cnn-course-written.json"  # in an output folder: what the course wrote there


class OutputFolder:
    """A folder one ``cnn-course`` command writes into, used as ``with OutputFolder(path) as
    out:``. One command at a time writes into it (it locks the folder; a second one is
    refused, naming the first), and a file there is replaced only if the course wrote it and
    nobody changed it since (``WRITTEN_LIST`` keeps the sha256 of each and the writer)."""

    def __init__(self, path: str | Path, what: str = "--out"):
        self.path, self.what = check_output_dir(path, what), what
        self._lock = None

    def __enter__(self) -> "OutputFolder":
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows: no lock; one writer at a time is the user's to keep
            return self
        self._lock = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            writer = self._listed().get("writer") or "another cnn-course command"
            raise UsageError(f"{self.what} {self.path}: {writer} is writing into it now; wait "
                             "until it has finished, or give another folder.") from None
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._listed().get("writer"):
                self._write_list(writer=None)
        finally:
            if self._lock is not None:
                os.close(self._lock)  # closing releases the lock

    def _listed(self) -> dict:
        import json

        try:
            listed = json.loads((self.path / WRITTEN_LIST).read_text())
        except (OSError, ValueError):
            return {"files": {}}
        return listed if isinstance(listed, dict) and isinstance(listed.get("files"), dict) \
            else {"files": {}}

    def _write_list(self, files: dict | None = None, writer: str | None = None) -> None:
        import json

        listed = {"writer": writer, "files": self._listed()["files"] if files is None else files}
        write_text(self.path / WRITTEN_LIST, json.dumps(listed, indent=1, sort_keys=True) + "\n")

    def refuse_others(self, names, force: bool = False) -> None:
        """Refuse (``UsageError``) to go on if a file among ``names`` is in the folder and the
        course did not write it, or it changed since; ``force`` accepts replacing them. Then
        the folder is this command's: a second one is told which process writes into it."""
        written = self._listed()["files"]
        others = [name for name in names if os.path.lexists(self.path / name)
                  and (not (self.path / name).is_file() or (self.path / name).is_symlink()
                       or written.get(name) != file_sha256(self.path / name))]
        if others and not force:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3
                                             else "")
            raise UsageError(f"{self.what} {self.path}: holds {shown}, which cnn-course did not "
                             "write there or which changed since; give another folder, or add "
                             "--force to replace them.")
        self._write_list(writer=f"cnn-course (process {os.getpid()})")

    def record(self, *paths: str | Path) -> None:
        """List files just written into the folder as the course's (missing ones are left out)."""
        listed = self._listed()
        for path in map(Path, paths):
            if path.is_file():
                listed["files"][path.name] = file_sha256(path)
            else:
                listed["files"].pop(path.name, None)
        self._write_list(listed["files"], listed.get("writer"))
