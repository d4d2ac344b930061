"""Notebook 10's colour photos: CIFAR-10 (Krizhevsky, 2009) as a folder of class folders.

``cnn-course fetch-data`` puts ``cifar10/train/<class>/`` and ``cifar10/test/<class>/`` (5,000
and 1,000 photos per class, 32x32 RGB) in the course's data folder: from the dataset's
canonical binary archive (downloaded, its sha256 checked, read without pickle, written as
lossless PNG files), or from a folder an instructor prepared (the same layout, a ``.tar.gz``
of it, or the canonical archive). Notebooks find it with :func:`find_photo_folder`; where it
is missing, :func:`generated_sample` writes a small made-up set in the same layout, so that
the notebook still runs offline.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import zlib
from pathlib import Path

import numpy as np

from helpers import report
from helpers.downloads import download
from helpers.errors import CourseError, DatasetError
from helpers.files import file_sha256, move_into_place, staging_dir
from helpers.paths import BUILD_DIR, DATA_DIR, data_roots

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
ANIMALS = ("bird", "cat", "dog")                       # notebook 10's three classes
OTHERS = tuple(c for c in CLASSES if c not in ANIMALS)  # its seven classes to pre-train on
PER_CLASS = {"train": 5000, "test": 1000}
FOLDER = "cifar10"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

ARCHIVE_NAME = "cifar-10-binary.tar.gz"
ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/" + ARCHIVE_NAME
ARCHIVE_BYTES = 170_052_171
ARCHIVE_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
RECORD_BYTES = 1 + 32 * 32 * 3  # a label byte, then 1,024 red, 1,024 green, 1,024 blue
BATCH_FILES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}


def _records_per_file(split: str) -> int:
    return PER_CLASS[split] * len(CLASSES) // len(BATCH_FILES[split])


def count_photos(folder: Path, classes=CLASSES) -> dict[str, dict[str, int]]:
    """``{split: {class: number of image files}}`` of a CIFAR-10 folder."""
    return {split: {c: sum(1 for p in (folder / split / c).glob("*")
                           if p.suffix.lower() in IMAGE_SUFFIXES) if (folder / split / c).is_dir()
                    else 0 for c in classes} for split in PER_CLASS}


def check_folder(folder: str | Path) -> Path:
    """``folder`` when it holds every CIFAR-10 photo in class folders; a DatasetError saying
    what is missing otherwise."""
    folder = Path(folder)
    counts = count_photos(folder)
    short = [f"{split}/{c}: {n:,} of {PER_CLASS[split]:,}" for split, per_class in counts.items()
             for c, n in per_class.items() if n != PER_CLASS[split]]
    if short:
        shown = "; ".join(short[:3]) + (f"; and {len(short) - 3} more" if len(short) > 3 else "")
        raise DatasetError(f"{folder} is not a complete CIFAR-10 folder ({shown}); "
                           "fetch it again with `cnn-course fetch-data`.")
    return folder


def find_photo_folder(data_dir: str | Path | None = None) -> Path | None:
    """The complete CIFAR-10 folder in the course's data folders (``data_dir``,
    ``$CNN_COURSE_DATA``, the course's ``data/``), or None."""
    for root in data_roots(data_dir):
        try:
            return check_folder(root / FOLDER)
        except DatasetError:
            continue
    return None


SAMPLE_DIR = BUILD_DIR / "cifar10-stand-in"   # where an offline run writes its generated photos


def photo_folder(data_dir: str | Path | None = None) -> Path:
    """The CIFAR-10 folder to read, announced in one line: the fetched photos, or, where
    there are none, a small generated stand-in (written once into the build folder)."""
    found = find_photo_folder(data_dir)
    if found is not None:
        report.record_data_source("dir")
        jpeg = next((found / "train" / CLASSES[0]).glob("*.jpg"), None) is not None
        report.announce(f"Photos: CIFAR-10 from {found}" + (
            " (JPEG files: a re-encoded copy, whose pixels differ slightly from the original, "
            "so accuracies may be a little lower)." if jpeg else "."))
        return found
    if not SAMPLE_DIR.is_dir():
        staging = staging_dir(SAMPLE_DIR.parent, ".cifar10-stand-in.")
        try:
            move_into_place(generated_sample(staging), SAMPLE_DIR)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    report.record_data_source("sample")
    report.announce("Photos: CIFAR-10 is not on this machine (`cnn-course fetch-data` gets it), "
                    "so this run uses generated stand-ins, coloured shapes, not photos: every "
                    "cell runs, and its numbers describe the stand-ins only.")
    return SAMPLE_DIR


# --------------------------------------------------------------------- the canonical archive


def read_archive(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "test": (images, labels)}`` from the canonical binary
    archive: images uint8 (N, 32, 32, 3), labels uint8 (N,). A DatasetError when a file is
    missing, short or damaged."""
    path = Path(path)
    found: dict[str, np.ndarray] = {}
    size = {name: _records_per_file(split) * RECORD_BYTES
            for split, names in BATCH_FILES.items() for name in names}
    wanted = set(size)
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = Path(member.name).name
                if name not in wanted or not member.isfile():
                    continue
                if member.size != size[name]:
                    raise DatasetError(f"{path}: {name} holds {member.size:,} bytes, not "
                                       f"{size[name]:,}; fetch it again.")
                raw = tar.extractfile(member).read()
                found[name] = np.frombuffer(raw, np.uint8).reshape(-1, RECORD_BYTES)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DatasetError(f"{path} is damaged or incomplete ({exc}); fetch it again.") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}: it is not CIFAR-10's binary "
                           "archive, or it is incomplete; fetch it again.")
    splits = {}
    for split, names in BATCH_FILES.items():
        records = np.concatenate([found[n] for n in names])
        labels = records[:, 0]
        images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        counts = np.bincount(labels, minlength=len(CLASSES))
        if len(counts) != len(CLASSES) or not np.all(counts == PER_CLASS[split]):
            raise DatasetError(f"{path}: the {split} labels are not CIFAR-10's "
                               f"({counts.tolist()}); fetch it again.")
        splits[split] = (np.ascontiguousarray(images), labels)
    return splits


def write_folder(splits: dict[str, tuple[np.ndarray, np.ndarray]], folder: Path,
                 classes=CLASSES) -> Path:
    """Write ``{split: (images, labels)}`` as PNG files in ``folder/split/class/NNNN.png``."""
    from PIL import Image

    for split, (images, labels) in splits.items():
        for index, name in enumerate(classes):
            target = folder / split / name
            target.mkdir(parents=True, exist_ok=True)
            for number, image in enumerate(images[labels == index]):
                Image.fromarray(image).save(target / f"{number:04d}.png")
    return folder


# --------------------------------------------------------------------------- fetching


def find_prepared(from_dir: str | Path) -> Path | None:
    """In a prepared folder: a CIFAR-10 folder, the canonical archive, or a .tar.gz of the
    folder layout (``cifar10/train/<class>/...``); None when there is none."""
    for candidate in (from_dir / FOLDER, from_dir):
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    for folder in (from_dir / FOLDER, from_dir):
        if (folder / ARCHIVE_NAME).is_file():
            return folder / ARCHIVE_NAME
        archives = sorted(folder.glob("*.tar.gz")) if folder.is_dir() else []
        if archives:
            return archives[0]
    return None


def _unpack_layout(archive: Path, staging: Path) -> Path:
    """Extract a .tar.gz of the folder layout into ``staging``; the CIFAR-10 folder in it."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DatasetError(f"{archive} is damaged or incomplete ({exc}); copy it again.") from None
    inside = staging / FOLDER if (staging / FOLDER / "train").is_dir() else staging
    return check_folder(inside)


def _from_archive(archive: Path, staging: Path) -> Path:
    if file_sha256(archive) != ARCHIVE_SHA256:
        raise DatasetError(f"{archive}: its sha256 is not the published one; copy or fetch "
                           "it again.")
    report.announce("CIFAR-10: writing 60,000 photos as PNG files (a minute or two)...")
    return check_folder(write_folder(read_archive(archive), staging / FOLDER))


def fetch_cifar10(dest: str | Path = DATA_DIR, from_dir: str | Path | None = None) -> Path:
    """Put a complete CIFAR-10 folder in ``dest/cifar10``, from ``from_dir`` (a prepared
    folder, its .tar.gz, or the canonical archive) or the canonical archive downloaded.

    A complete copy already there is kept; a new one is made beside it and moved into place
    only when complete, so a failure leaves what was there. Returns the folder."""
    dest = Path(dest).expanduser().resolve()
    target = dest / FOLDER
    try:
        check_folder(target)
    except DatasetError:
        pass
    else:
        report.announce(f"CIFAR-10: already in {target}, every photo there.")
        return target
    staging = None
    try:
        staging = staging_dir(dest, ".cifar10.")
        if from_dir is not None:
            source = find_prepared(from_dir)
            if source is None:
                raise DatasetError(f"{from_dir}: no CIFAR-10 in it (a cifar10 folder, "
                                   f"{ARCHIVE_NAME}, or a .tar.gz of the folder layout).")
            if source.is_dir():
                made = staging / FOLDER
                shutil.copytree(check_folder(source), made)
                how = f"copied from {source}"
            elif source.name == ARCHIVE_NAME:
                made, how = _from_archive(source, staging), f"read from {source}"
            else:
                made, how = _unpack_layout(source, staging), f"unpacked from {source}"
        else:
            archive = download(ARCHIVE_URL, staging / ARCHIVE_NAME, ARCHIVE_SHA256, ARCHIVE_BYTES)
            made, how = _from_archive(archive, staging), "downloaded, checked and written"
        if target.exists():  # an incomplete copy: set aside, then removed
            os.replace(target, staging / ".incomplete")
        move_into_place(made, target)
    except OSError as exc:  # a full disk, a folder that cannot be written, a source unread
        raise CourseError(f"could not make {target}: {_first_reason(exc)}. It needs about "
                          "450 MB free while it is made (a complete copy there is kept); "
                          "nothing half-written was left.") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    report.announce(f"CIFAR-10: {how} into {target}.")
    return target


def _first_reason(exc: OSError) -> str:
    """One line for a failed write: ``shutil.copytree`` gathers every file's failure in one
    ``shutil.Error``, a list of (source, destination, reason); the first says it."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        return str(exc.args[0][0][2]) if exc.args[0] else "copying failed"
    return f"{exc.strerror} ({exc.filename})" if exc.strerror and exc.filename else str(exc)


# ------------------------------------------------------------------- the generated sample


def generated_sample(folder: str | Path, per_class: dict[str, int] | None = None,
                     seed: int = 0) -> Path:
    """Write a small made-up stand-in for CIFAR-10 in its layout, for running offline.

    Each class is a coloured shape of its own on a noisy background (a bird a small
    blue-grey blob high up, a cat an orange round face, a dog a brown long one, ...), moved,
    scaled and recoloured at random: enough for every cell to run and learn something, not
    a measurement of anything about photos."""
    from PIL import Image, ImageDraw

    per_class = per_class or {"train": 200, "test": 40}
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    for split, count in per_class.items():
        for index, name in enumerate(CLASSES):
            target = folder / split / name
            target.mkdir(parents=True, exist_ok=True)
            hue = np.array(_CLASS_COLOURS[index])
            for number in range(count):
                background = rng.integers(40, 200, size=3)
                image = Image.new("RGB", (32, 32), tuple(int(v) for v in background))
                draw = ImageDraw.Draw(image)
                colour = np.clip(hue + rng.normal(0, 25, 3), 0, 255).astype(int)
                cx, cy = rng.uniform(10, 22, size=2)
                size = rng.uniform(5, 10)
                wide, tall = _CLASS_SHAPES[index]
                draw.ellipse([cx - size * wide, cy - size * tall, cx + size * wide,
                              cy + size * tall], fill=tuple(int(v) for v in colour))
                pixels = np.asarray(image, np.float32) + rng.normal(0, 12, (32, 32, 3))
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                    target / f"{number:04d}.png")
    return folder


# one colour and one (width, height) shape factor per class, in CLASSES' order
_CLASS_COLOURS = [(200, 200, 220), (200, 40, 40), (90, 110, 160), (220, 140, 60),
                  (150, 110, 70), (120, 80, 50), (60, 160, 60), (110, 70, 40), (40, 60, 140),
                  (230, 210, 40)]
_CLASS_SHAPES = [(1.4, 0.4), (1.2, 0.7), (0.6, 0.5), (0.9, 0.9), (0.6, 1.2), (1.3, 0.8),
                 (0.8, 0.6), (1.4, 1.0), (1.5, 0.5), (1.3, 0.9)]
