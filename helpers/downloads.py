"""Downloads through ``keras.utils.get_file``, with a published checksum where there is one,
an offline switch, and a fast, clear failure when there is no network."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import tempfile
import threading
import urllib.parse
from pathlib import Path

from helpers import report
from helpers.errors import DatasetError
from helpers.files import move_into_place

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
    if isinstance(exc, ValueError):  # get_file's word for a checksum that does not match
        return DatasetError(f"{url}: the downloaded file has the wrong checksum; try again later.")
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
        return DatasetError(f"cannot write {dest} ({exc.strerror}); free some space or choose "
                            "another folder.")
    # get_file turns network errors into plain Exceptions; a dropped connection is an OSError
    return DatasetError(f"could not download {url} ({exc}); are you offline?")


def download(url: str, dest: str | Path, sha256: str | None = None, size: int | None = None,
             timeout: float = NETWORK_TIMEOUT) -> Path:
    """Download ``url`` to ``dest`` with ``keras.utils.get_file``, checking its sha256 and
    size where they are published. The file appears at ``dest`` only once it is complete
    and checked; nothing is left behind on failure."""
    dest = Path(dest)
    host = urllib.parse.urlsplit(url).hostname
    if offline():
        raise DatasetError(f"not downloading {dest.name}: ${OFFLINE_ENV} is set.")
    if host:
        resolve_host(host, timeout)
    report.announce(f"Downloading {dest.name} from {host or url} into {dest.parent} ...")
    created = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]
    previous_timeout = socket.getdefaulttimeout()
    staging = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
        socket.setdefaulttimeout(timeout)
        from helpers.startup import start_tensorflow

        start_tensorflow()  # get_file is Keras', which starts TensorFlow
        import keras

        fetched = Path(keras.utils.get_file(dest.name, url, file_hash=sha256,
                                            hash_algorithm="sha256", cache_dir=staging,
                                            cache_subdir="."))
        received = fetched.stat().st_size
        if size is not None and received != size:
            raise DatasetError(f"{url}: downloaded {received:,} bytes, expected {size:,}; "
                               "try again later.")
        move_into_place(fetched, dest)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # the folders made for it, innermost first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise _download_error(exc, url, dest) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return dest
