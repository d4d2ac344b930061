"""Downloads with ``urllib`` and ``hashlib``: a published checksum and size checked where
there are, an offline switch, and a fast, clear failure when there is no network. Nothing
process-wide changes (no default socket timeout, no TensorFlow)."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
import threading
import urllib.parse
import urllib.request
from pathlib import Path

from helpers import report
from helpers.errors import DatasetError
from helpers.files import atomic_write

OFFLINE_ENV = "CNN_COURSE_OFFLINE"  # set to 1 to never try a download (a classroom, tests)
NETWORK_TIMEOUT = 10  # seconds; offline machines fail at once, slow ones within this
_DISK_ERRORS = {errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EPERM}


def offline() -> bool:
    """True when ``$CNN_COURSE_OFFLINE`` forbids downloads."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def resolve_host(host: str, timeout: float = NETWORK_TIMEOUT) -> None:
    """Look up ``host``, giving up after ``timeout`` seconds (name lookups ignore socket
    timeouts); a DatasetError when it cannot be reached."""
    outcome: list = []

    def lookup():
        try:
            socket.getaddrinfo(host, 443)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise DatasetError(f"no answer looking up {host} within {timeout} s; are you offline?")
    if outcome[0] is not None:
        raise DatasetError(f"cannot reach {host} ({outcome[0]}); are you offline?")


def _download_error(exc: BaseException, url: str, dest: Path) -> BaseException:
    """The course's words for what went wrong in a download."""
    if isinstance(exc, (DatasetError, KeyboardInterrupt)):
        return exc
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
        return DatasetError(f"cannot write {dest} ({exc.strerror}); free some space or choose "
                            "another folder.")
    return DatasetError(f"could not download {url} ({exc}); are you offline?")


def _copy_with_hash(url: str, target: Path, timeout: float) -> tuple[int, str]:
    """Copy ``url`` into ``target``; its size in bytes and sha256."""
    digest, received = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
            received += len(chunk)
    return received, digest.hexdigest()


def download(url: str, dest: str | Path, sha256: str | None = None, size: int | None = None,
             timeout: float = NETWORK_TIMEOUT) -> Path:
    """Download ``url`` to ``dest``, checking its sha256 and size where they are published.
    The file appears at ``dest`` only once it is complete and checked; nothing is left
    behind on failure."""
    dest = Path(dest)
    host = urllib.parse.urlsplit(url).hostname
    if offline():
        raise DatasetError(f"not downloading {dest.name}: ${OFFLINE_ENV} is set.")
    if host:
        resolve_host(host, timeout)
    report.announce(f"Downloading {dest.name} from {host or url} into {dest.parent} ...")
    created = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]
    try:
        with atomic_write(dest) as partial:
            received, digest = _copy_with_hash(url, partial, timeout)
            if size is not None and received != size:
                raise DatasetError(f"{url}: downloaded {received:,} bytes, expected {size:,}; "
                                   "try again later.")
            if sha256 is not None and digest != sha256:
                raise DatasetError(f"{url}: the downloaded file has the wrong checksum; "
                                   "try again later.")
    except BaseException as exc:
        for folder in created:  # the folders made for it, innermost first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise _download_error(exc, url, dest) from None
    return dest
