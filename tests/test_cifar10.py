"""CIFAR-10 for notebook 10: the canonical archive's reader, the folder layout, fetching from
a prepared folder, and the generated sample. Small stand-ins throughout (nothing downloads);
the full copy, where present, under `make test-full`."""
from __future__ import annotations

import io
import os
import tarfile

import numpy as np
import pytest

from helpers import cifar10, paths
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


@pytest.mark.parametrize("failure", ["gathered", "single"])
def test_a_full_disk_while_copying_is_one_clear_line_and_leaves_nothing(small, tmp_path,
                                                                       monkeypatch, failure):
    import errno
    import shutil

    from helpers.errors import CourseError

    prepared = cifar10.generated_sample(tmp_path / "usb" / "cifar10", SMALL)
    full = f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)}"

    def disk_full(source, made, **kwargs):
        if failure == "single":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(made))
        # what copytree does: it carries on, then raises every file's failure at once
        raise shutil.Error([(f"{source}/{i}.png", f"{made}/{i}.png", full) for i in range(500)])

    monkeypatch.setattr(shutil, "copytree", disk_full)
    with pytest.raises(CourseError) as caught:
        cifar10.fetch_cifar10(tmp_path / "data", from_dir=prepared.parent)
    said = str(caught.value)
    assert "No space left on device" in said and "450 MB" in said and "\n" not in said
    assert len(said) < 400 and not isinstance(caught.value, DatasetError)  # no "go online"
    assert not any((tmp_path / "data").iterdir())   # no half-written folder left behind


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


def test_photo_folder_says_which_photos_it_reads(small, tmp_path, monkeypatch, capsys):
    from helpers import report

    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "course")
    monkeypatch.setattr(cifar10, "SAMPLE_DIR", tmp_path / "build" / "stand-in")
    monkeypatch.delenv("CNN_COURSE_DATA", raising=False)
    stand_in = cifar10.photo_folder()
    assert stand_in == tmp_path / "build" / "stand-in" and report.recorded()["data_source"] == "sample"
    assert "generated stand-ins" in capsys.readouterr().out
    assert cifar10.count_photos(stand_in)["test"]["cat"] > 0
    cifar10.generated_sample(tmp_path / "course" / "cifar10", SMALL)
    assert cifar10.photo_folder() == tmp_path / "course" / "cifar10"
    assert report.recorded()["data_source"] == "dir"
    assert "CIFAR-10 from" in capsys.readouterr().out


# ----------------------------------------------------------------- a photo of your own


def _save(tmp_path, name, array, mode=None):
    from PIL import Image

    path = tmp_path / name
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_any_picture_becomes_a_centred_colour_square(tmp_path):
    from helpers import pictures

    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, :40, 2] = wide[:, 80:, 2] = 255     # blue sides
    wide[:, 40:80, 0] = 255                     # a red centre, the largest centred square
    photo = pictures.load_photo(_save(tmp_path, "wide.jpg", wide))
    assert photo.shape == (32, 32, 3) and photo.dtype == np.float32
    assert photo[..., 0].mean() > 200 and photo[..., 2].mean() < 40
    grey = pictures.load_photo(_save(tmp_path, "grey.png", np.full((50, 50), 90, np.uint8)))
    assert np.allclose(grey, 90, atol=1)
    rgba = np.zeros((20, 20, 4), np.uint8)      # fully transparent: laid on white
    assert np.allclose(pictures.load_photo(_save(tmp_path, "clear.png", rgba)), 255)
    deep = pictures.load_photo(_save(tmp_path, "deep.png", np.full((30, 30), 65535, np.uint16)))
    assert np.allclose(deep, 255, atol=1)       # 16 bits scaled by their depth, not clipped


def test_a_damaged_photo_is_a_clear_error(tmp_path):
    from helpers import pictures
    from helpers.errors import ImageError

    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 not the rest")
    with pytest.raises(ImageError, match="cut.jpg: not an image"):
        pictures.load_photo(tmp_path / "cut.jpg")


@pytest.fixture
def animal_model(tmp_path):
    """A tiny 32x32 colour model saved with a card naming its three classes."""
    import keras

    from helpers.model_card import TrainingRun, save_model_with_card

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.zeros((6, 32, 32, 3), np.float32)
    x[:, :, :, 0] = np.arange(6)[:, None, None] % 3 * 120   # redder: a later class
    y = np.arange(6) % 3
    history = model.fit(x, y, epochs=60, verbose=0).history
    return save_model_with_card(TrainingRun(model, history, [0.1]), tmp_path / "animals.keras",
                                "test animals", "a test", (x, y), ["bird", "cat", "dog"])


def test_predict_names_the_classes_a_photo_models_card_names(animal_model, tmp_path, capsys):
    import json

    from helpers.commands import cli

    red = np.zeros((64, 48, 3), np.uint8)
    red[..., 0] = 240
    photo = _save(tmp_path, "red.png", red)
    assert cli.main(["predict", "--json", "--model", str(animal_model), str(photo)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["class"] == "dog" and [t["class"] for t in result["top3"]][0] == "dog"
    assert cli.main(["predict", "--model", str(animal_model), str(photo)]) == 0
    assert capsys.readouterr().out.startswith(f"{photo}: dog (")


def test_predict_refuses_a_photo_model_without_a_card_and_labels_for_animals(
        animal_model, tmp_path, capsys):
    import shutil

    from helpers.commands import cli

    bare = tmp_path / "bare" / "animals.keras"
    bare.parent.mkdir()
    shutil.copy(animal_model, bare)
    photo = _save(tmp_path, "p.png", np.zeros((8, 8, 3), np.uint8))
    assert cli.main(["predict", "--model", str(bare), str(photo)]) == 1
    assert "card names its classes" in capsys.readouterr().err
    (tmp_path / "labels.csv").write_text("file,label\np.png,3\n")
    assert cli.main(["predict", "--model", str(animal_model), "--labels",
                     str(tmp_path / "labels.csv")]) == 2
    assert "--labels scores digit models" in capsys.readouterr().err


def _class_folders(tmp_path):
    """Two classes of photos as a learner might have them: colour, grey and RGBA photos."""
    folder = tmp_path / "mine"
    for name in ("cat", "dog"):
        (folder / name).mkdir(parents=True)
    _save(folder / "cat", "a.jpg", np.full((40, 60, 3), 120, np.uint8))
    _save(folder / "cat", "b.png", np.full((40, 40), 200, np.uint8))              # grey
    _save(folder / "dog", "c.png", np.full((50, 30, 4), 90, np.uint8))            # RGBA
    return folder


def test_own_class_folders_are_counted_and_keras_reads_them(tmp_path, capsys):
    import keras

    from helpers import pictures

    folder = _class_folders(tmp_path)
    (folder / "dog" / "notes.txt").write_text("taken in the park")
    assert pictures.check_class_folders(folder) == {"cat": 2, "dog": 1}
    assert "1 file(s) Keras does not read are skipped (.txt)" in capsys.readouterr().out
    read = keras.utils.image_dataset_from_directory(folder, image_size=(32, 32), batch_size=None,
                                                    shuffle=False, verbose=False)
    images = np.stack([x.numpy() for x, _ in read])
    assert images.shape == (3, 32, 32, 3)       # grey and RGBA photos come out as RGB


def test_a_damaged_photo_and_an_empty_class_are_named_before_keras_reads(tmp_path):
    from helpers import pictures
    from helpers.errors import ImageError

    folder = _class_folders(tmp_path)
    (folder / "dog" / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 half a photo")
    (folder / "bird").mkdir()
    with pytest.raises(ImageError) as refused:
        pictures.check_class_folders(folder)
    message = str(refused.value)
    assert "1 photo(s) cannot be read (dog/cut.jpg" in message and "no photo: bird" in message
    with pytest.raises(ImageError, match="no such folder"):
        pictures.check_class_folders(tmp_path / "nowhere")


# ----------------------------------------------------------------- ImageNet features


@pytest.mark.slow
def test_notebook_10_imagenet_cell_trains_a_head_where_the_weights_are(tmp_path, monkeypatch):
    """The cell runs only where MobileNetV2's weights are; here with random weights in their
    place, on a few generated photos, with the notebook's own code."""
    import keras
    import nbformat
    import pandas as pd

    from helpers import photos, speed, training

    notebook = nbformat.read(paths.NOTEBOOK_DIR / "10_cats_dogs_birds.ipynb", 4)
    [cell] = [c.source for c in notebook.cells if "imagenet" in c.metadata.get("tags", [])]
    weights = tmp_path / photos.MOBILENET_FILE
    weights.touch()
    monkeypatch.setattr(photos, "find_photo_assets", lambda: (weights, None))
    built, real_mobilenet = [], keras.applications.MobileNetV2

    def random_mobilenet(**kwargs):
        assert kwargs.pop("weights") == str(weights)
        built.append(real_mobilenet(weights=None, **kwargs))
        return built[-1]

    monkeypatch.setattr(keras.applications, "MobileNetV2", random_mobilenet)
    rng = np.random.default_rng(0)
    photos_, labels = rng.integers(0, 256, (24, 32, 32, 3)).astype("float32"), np.arange(24) % 3
    namespace = {"keras": keras, "photos": photos, "speed": speed, "training": training,
                 "CLASSES": ["a", "b", "c"],
                 "BUDGETS": [4], "HEAD_EPOCHS": 1, "x_fit": photos_, "y_fit": labels,
                 "x_val": photos_[:6], "y_val": labels[:6],
                 "per_class": lambda x, y, count: (x[:3 * count], y[:3 * count]),
                 "transfer": pd.DataFrame({"frozen features": [0.5], "from scratch": [0.4]},
                                          index=[4])}
    exec(cell, namespace)
    assert not built[0].trainable and 0 <= namespace["imagenet_accuracy"] <= 1
    assert namespace["imagenet_model"].predict(photos_[:2], verbose=0).shape == (2, 3)


def test_notebook_10_imagenet_cell_says_what_it_would_run_without_the_weights(monkeypatch, capsys):
    import nbformat

    from helpers import photos

    notebook = nbformat.read(paths.NOTEBOOK_DIR / "10_cats_dogs_birds.ipynb", 4)
    [cell] = [c.source for c in notebook.cells if "imagenet" in c.metadata.get("tags", [])]
    monkeypatch.setattr(photos, "find_photo_assets", lambda: (None, None))
    namespace = {"photos": photos, "BUDGETS": [100]}
    exec(cell, namespace)
    said = capsys.readouterr().out
    assert namespace["imagenet_accuracy"] is None and said.count("\n") == 1
    assert "100 photos per class" in said and "cnn-course fetch-data --with-photos" in said
