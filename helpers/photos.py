"""Notebook 06, part B: the TensorFlow flower photos and MobileNetV2's ImageNet weights.

Both are large downloads, fetched ahead of time by ``cnn-course fetch-data --with-photos``
and found in the course's data folders; nothing here downloads while a notebook runs.
"""
from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from helpers import report
from helpers.downloads import download
from helpers.errors import DatasetError
from helpers.files import move_into_place, staging_dir
from helpers.paths import DATA_DIR, data_roots

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


def _whole(weights: Path) -> bool:
    """Whether ``weights`` is there at its published size (a cut-off copy is not)."""
    return weights.is_file() and weights.stat().st_size == MOBILENET_BYTES


def find_photo_assets(data_dir: str | Path | None = None) -> tuple[Path | None, Path | None]:
    """``(MobileNetV2 weights file, flower_photos folder)`` from the data folders, each None
    when missing or, for the weights, cut off (``cnn-course fetch-data --with-photos``
    fetches them)."""
    weights = next((r / "mobilenet" / MOBILENET_FILE for r in data_roots(data_dir)
                    if _whole(r / "mobilenet" / MOBILENET_FILE)), None)
    flowers = next((r / "flower_photos" for r in data_roots(data_dir)
                    if all((r / "flower_photos" / c).is_dir() for c in FLOWER_CLASSES)), None)
    return weights, flowers


def check_flowers(folder: Path) -> int:
    """Count the flower photos in ``folder``; a DatasetError unless all of them are there."""
    counts = {c: len(list((folder / c).glob("*.jpg"))) for c in FLOWER_CLASSES}
    if sum(counts.values()) != FLOWER_IMAGES:
        raise DatasetError(f"{folder}: expected {FLOWER_IMAGES:,} photos in "
                           f"{', '.join(FLOWER_CLASSES)}, found {sum(counts.values()):,}; "
                           "fetch them again.")
    return FLOWER_IMAGES


def _unpack_flowers(archive: Path, dest: Path) -> Path:
    unpacked = staging_dir(dest, ".flower_photos.")
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        check_flowers(unpacked / "flower_photos")
        shutil.rmtree(dest / "flower_photos", ignore_errors=True)  # an incomplete copy
        return move_into_place(unpacked / "flower_photos", dest / "flower_photos")
    except (tarfile.TarError, OSError) as exc:
        raise DatasetError(f"{archive}: cannot unpack ({exc}); fetch it again.") from None
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
        archive.unlink(missing_ok=True)


def _complete_flowers(folder: Path) -> bool:
    try:
        return check_flowers(folder) > 0
    except DatasetError:
        return False


def fetch_photo_assets(dest: str | Path = DATA_DIR) -> tuple[Path, Path]:
    """Download MobileNetV2's ImageNet weights (checked against their published size) and
    the flower photos (the archive against its published sha256, then the photos counted)
    into ``dest``; complete copies already in ``dest`` are kept. Returns both paths."""
    dest = Path(dest).expanduser().resolve()
    weights, flowers = dest / "mobilenet" / MOBILENET_FILE, dest / "flower_photos"
    if not (weights.is_file() and weights.stat().st_size == MOBILENET_BYTES):
        download(MOBILENET_URL, weights, size=MOBILENET_BYTES)
        report.announce(f"MobileNetV2 weights: downloaded into {weights.parent}.")
    if not _complete_flowers(flowers):
        archive = download(FLOWERS_URL, dest / "flower_photos.tgz", FLOWERS_SHA256,
                           FLOWERS_BYTES)
        _unpack_flowers(archive, dest)
        report.announce(f"Flower photos: downloaded and checked into {flowers}.")
    return weights, flowers


def photo_datasets(folder: str | Path, image_size=(160, 160), batch_size: int = 32,
                   validation_split: float = 0.2, seed: int = 0):
    """Training and validation ``tf.data`` datasets of labelled photos from a folder with one
    subfolder per class; returns ``(train, validation, class_names)``.

    The photos are decoded once and kept in memory as bytes (uint8: a quarter of float32's
    size, about 280 MB for the 3,670 flowers at 160x160); the training photos are shuffled
    anew every epoch."""
    import keras
    import tensorflow as tf

    train, val = keras.utils.image_dataset_from_directory(
        folder, validation_split=validation_split, subset="both", seed=seed,
        image_size=image_size, batch_size=None, verbose=False,
    )
    class_names = train.class_names

    def as_bytes(image, label):
        return tf.cast(tf.round(image), tf.uint8), label

    train = train.map(as_bytes).cache().shuffle(1000, seed=seed, reshuffle_each_iteration=True)
    val = val.map(as_bytes).cache()
    return train.batch(batch_size).prefetch(2), val.batch(batch_size).prefetch(2), class_names
