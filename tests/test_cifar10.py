"""CIFAR-10 for notebook 10: the canonical archive's reader, the folder layout, fetching from
a prepared folder, and the generated sample. Small stand-ins throughout (nothing downloads);
the full copy, where present, under `make test-full`."""
from __future__ import annotations

import io
import os
import tarfile

import numpy as np
import pytest

from helpers import cifar10
from helpers.errors import DatasetError

SMALL = {"train": 5, "test": 2}   # photos per class in the stand-ins


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(cifar10, "PER_CLASS", SMALL)


def _records(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels cycling through the classes, and images whose red, green and blue planes say
    which record and which class they are."""
    count = SMALL[split] * len(cifar10.CLASSES)
    labels = np.arange(count) % len(cifar10.CLASSES)
    images = np.zeros((count, 32, 32, 3), np.uint8)
    images[..., 0] = labels[:, None, None] * 20          # red: the class
    images[..., 1] = np.arange(count)[:, None, None]     # green: the record
    images[:, 0, :, 2] = 255                             # blue: the top row only
    return images, labels


def _canonical_archive(path, cut: int = 0, drop: str | None = None):
    """A small archive in the canonical binary format (planes, then rows), optionally
    truncated by ``cut`` bytes or lacking the member ``drop``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for split, names in cifar10.BATCH_FILES.items():
            images, labels = _records(split)
            records = np.concatenate([labels[:, None].astype(np.uint8),
                                      images.transpose(0, 3, 1, 2).reshape(len(labels), -1)], axis=1)
            for name, part in zip(names, np.array_split(records, len(names))):
                if name == drop:
                    continue
                info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
                info.size = part.nbytes
                tar.addfile(info, io.BytesIO(part.tobytes()))
    data = buffer.getvalue()
    path.write_bytes(data[:len(data) - cut] if cut else data)
    return path


def test_the_reader_turns_records_into_images_and_labels(small, tmp_path):
    splits = cifar10.read_archive(_canonical_archive(tmp_path / "a.tar.gz"))
    for split in ("train", "test"):
        images, labels = splits[split]
        want_images, want_labels = _records(split)
        assert images.shape == (SMALL[split] * 10, 32, 32, 3) and images.dtype == np.uint8
        assert np.array_equal(labels, want_labels) and np.array_equal(images, want_images)


@pytest.mark.parametrize("damage, message", [
    ({"cut": 500}, "damaged or incomplete"),
    ({"drop": "data_batch_3.bin"}, "lacks data_batch_3.bin"),
])
def test_the_reader_refuses_a_damaged_archive(small, tmp_path, damage, message):
    with pytest.raises(DatasetError, match=message):
        cifar10.read_archive(_canonical_archive(tmp_path / "a.tar.gz", **damage))


def test_an_archive_with_another_checksum_is_refused_before_anything_is_written(small, tmp_path):
    prepared = tmp_path / "usb"
    prepared.mkdir()
    _canonical_archive(prepared / cifar10.ARCHIVE_NAME)
    with pytest.raises(DatasetError, match="sha256 is not the published one"):
        cifar10.fetch_cifar10(tmp_path / "data", from_dir=prepared)
    assert os.listdir(tmp_path / "data") == []   # no staging folder left behind


def test_a_written_folder_is_what_keras_reads(small, tmp_path):
    import keras

    images, labels = _records("train")
    folder = cifar10.write_folder({"train": (images, labels)}, tmp_path / "photos")
    read = keras.utils.image_dataset_from_directory(
        folder / "train", image_size=(32, 32), batch_size=None, shuffle=False, verbose=False)
    assert read.class_names == sorted(cifar10.CLASSES)
    pixels = np.stack([x.numpy() for x, _ in read])
    names = [read.class_names[int(y)] for _, y in read]
    # every photo comes back with its class, its pixels exact (PNG is lossless)
    for image, name in zip(pixels, names):
        assert image[5, 5, 0] == cifar10.CLASSES.index(name) * 20
        assert image[0, 0, 2] == 255 and image[1, 0, 2] == 0


def test_fetch_copies_a_prepared_folder_and_keeps_a_complete_copy(small, tmp_path, capsys):
    prepared = cifar10.generated_sample(tmp_path / "usb" / "cifar10", SMALL)
    made = cifar10.fetch_cifar10(tmp_path / "data", from_dir=tmp_path / "usb")
    assert made == (tmp_path / "data" / "cifar10").resolve()
    assert cifar10.count_photos(made) == cifar10.count_photos(prepared)
    assert "copied from" in capsys.readouterr().out
    cifar10.fetch_cifar10(tmp_path / "data", from_dir=tmp_path / "nowhere")
    assert "already in" in capsys.readouterr().out


def test_fetch_unpacks_a_prepared_archive_of_the_layout(small, tmp_path):
    sample = cifar10.generated_sample(tmp_path / "made" / "cifar10", SMALL)
    (tmp_path / "usb").mkdir()
    with tarfile.open(tmp_path / "usb" / "cifar10-jpg.tar.gz", "w:gz") as tar:
        tar.add(sample, arcname="cifar10")
    made = cifar10.fetch_cifar10(tmp_path / "data", from_dir=tmp_path / "usb")
    assert cifar10.check_folder(made) == made


def test_an_incomplete_prepared_folder_is_refused_and_nothing_replaced(small, tmp_path):
    sample = cifar10.generated_sample(tmp_path / "usb" / "cifar10", SMALL)
    next((sample / "test" / "cat").iterdir()).unlink()
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    (tmp_path / "data" / "cifar10" / "mine.txt").write_text("kept")
    with pytest.raises(DatasetError, match="test/cat: 1 of 2"):
        cifar10.fetch_cifar10(tmp_path / "data", from_dir=tmp_path / "usb")
    assert (tmp_path / "data" / "cifar10" / "mine.txt").read_text() == "kept"


def test_a_folder_without_cifar10_says_what_it_looked_for(tmp_path):
    with pytest.raises(DatasetError, match="no CIFAR-10 in it"):
        cifar10.fetch_cifar10(tmp_path / "data", from_dir=tmp_path)


def test_the_photo_folder_is_found_in_the_data_folders(small, tmp_path, monkeypatch):
    from helpers import paths

    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "course")
    monkeypatch.delenv("CNN_COURSE_DATA", raising=False)
    assert cifar10.find_photo_folder() is None
    cifar10.generated_sample(tmp_path / "course" / "cifar10", SMALL)
    assert cifar10.find_photo_folder() == tmp_path / "course" / "cifar10"


def test_the_generated_sample_is_learnable_but_not_trivial(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from PIL import Image

    folder = cifar10.generated_sample(tmp_path, {"train": 60, "test": 20})

    def load(split):
        paths = sorted((folder / split).glob("*/*.png"))
        x = np.stack([np.asarray(Image.open(p), np.float32).ravel() / 255 for p in paths])
        return x, np.array([cifar10.CLASSES.index(p.parent.name) for p in paths])

    (x, y), (x_test, y_test) = load("train"), load("test")
    accuracy = LogisticRegression(max_iter=2000).fit(x, y).score(x_test, y_test)
    assert 0.3 < accuracy < 0.99, accuracy   # well above chance (0.1), short of perfect
