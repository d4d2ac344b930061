"""``cnn-course fetch-data``: a verified MNIST in a data folder, for an offline classroom.

The copy comes from a prepared folder (a USB stick), Keras' cache, or a download. It is
made in a temporary folder beside its destination and replaces it whole once verified, so
a failure leaves what was there.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from helpers import mnist, report
from helpers.downloads import download
from helpers.errors import DatasetError
from helpers.files import atomic_write, move_into_place, staging_dir
from helpers.paths import DATA_DIR


def _copy(src: Path, dst: Path) -> None:
    with atomic_write(dst) as tmp:
        tmp.write_bytes(src.read_bytes())


def _copy_from(from_dir: str | Path, staging: Path) -> str:
    folder = mnist.find_mnist_dir(from_dir)
    mnist.load_folder(folder)  # verify before copying anything
    names = [mnist.NPZ_NAME] if (folder / mnist.NPZ_NAME).is_file() else \
        [p.name for p in mnist.idx_paths(folder).values()]
    for name in names:
        _copy(folder / name, staging / name)
    return f"copied {len(names)} verified file(s) from {folder}"


def _fill(staging: Path, from_dir) -> str:
    """Put a copy of MNIST in the empty folder ``staging``; says where it came from."""
    if from_dir is not None:
        return _copy_from(from_dir, staging)
    cache = mnist.keras_cache_path()
    if cache.is_file():
        try:
            mnist.load_npz(cache)
        except DatasetError as exc:
            report.announce(f"MNIST: not using Keras' cache: {exc}")
        else:
            _copy(cache, staging / mnist.NPZ_NAME)
            return "copied Keras' verified cache"
    download(mnist.NPZ_URL, staging / mnist.NPZ_NAME, mnist.NPZ_SHA256)
    return "downloaded and verified"


def fetch_mnist(dest: str | Path = DATA_DIR, from_dir: str | Path | None = None) -> Path:
    """Put a verified MNIST in ``dest/mnist``: from ``from_dir``, Keras' cache, or a download.

    A verified copy already there is kept. A new copy is made in a temporary folder beside
    it and replaces it whole once verified, so a failure leaves what was there. Returns the
    folder to use as ``$CNN_COURSE_DATA`` (``dest`` itself).
    """
    dest = Path(dest).expanduser().resolve()
    target = dest / "mnist"
    check_what_is_read(dest, target)  # before anything is fetched
    try:
        mnist.load_folder(target)
    except DatasetError:
        pass  # missing, incomplete or damaged: replaced below
    else:
        report.announce(f"MNIST: already in {target}, checksums verified.")
        if from_dir is not None:
            try:
                mnist.load_folder(from_dir)
                reason = "it was not needed"
            except DatasetError as exc:
                reason = f"it is not usable: {exc}"
            report.announce(f"MNIST: nothing copied from {from_dir}; {reason}")
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(dest, ".mnist.")
    try:
        how = _fill(staging, from_dir)
        mnist.load_folder(staging)
        if target.exists():  # an unusable copy: set aside, then removed
            os.replace(target, staging.with_name(staging.name + ".old"))
        move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(staging.with_name(staging.name + ".old"), ignore_errors=True)
    report.announce(f"MNIST: {how} into {target}.")
    return dest


class UnusableStrayFiles(DatasetError):
    """MNIST files beside the fetched copy, which the course would read first, are unusable."""


def check_what_is_read(dest: Path, target: Path) -> None:
    """The course reads MNIST files lying in ``dest`` itself before ``dest/mnist``: an
    ``UnusableStrayFiles`` naming them when there are some and they are unusable."""
    if not dest.is_dir() or not mnist.holds_mnist(dest):
        return
    try:
        mnist.load_folder(dest)
    except DatasetError as exc:
        strays = sorted(p.name for p in dest.iterdir() if p.is_file() and (
            p.name == mnist.NPZ_NAME or p.name.removesuffix(".gz") in mnist.IDX_FILES))
        raise UnusableStrayFiles(
            f"MNIST goes into {target}, but the course reads {', '.join(strays)} in {dest} "
            f"first, and: {exc} Move {'it' if len(strays) == 1 else 'them'} out of {dest} (or "
            "delete them); nothing was changed there.") from None
