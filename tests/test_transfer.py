"""Transfer learning helpers, and notebook 06 part B's code path on tiny generated photos."""
from __future__ import annotations

import hashlib
import io
import tarfile
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

import nbformat

from conftest import files_under
from helpers import photos, plots, speed, training, transfer
from helpers.commands import cli
from helpers.paths import NOTEBOOK_DIR
from helpers.errors import DatasetError, ModelError


@pytest.fixture
def photo_folder(tmp_path):
    """Three classes of small generated photos: red, green and blue squares with noise."""
    rng = np.random.default_rng(0)
    for index, name in enumerate(["red", "green", "blue"]):
        (tmp_path / name).mkdir()
        for i in range(8):
            pixels = rng.integers(0, 60, (40, 40, 3), dtype=np.uint8)
            pixels[8:32, 8:32, index] = 220
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    return tmp_path


def _notebook_06_cells():
    notebook = nbformat.read(NOTEBOOK_DIR / "06_transfer_learning.ipynb", 4)
    tagged = {tag: [c.source for c in notebook.cells if tag in c.metadata.get("tags", [])]
              for tag in ("definitions", "part-b")}
    [definitions] = tagged["definitions"]   # the cell that defines the networks and steps
    return definitions, tagged["part-b"]


@pytest.mark.slow
def test_notebook_06_part_b_runs_its_steps_on_tiny_photos(photo_folder, monkeypatch):
    """Part B only runs where its downloads are; here its cells run on generated photos
    with random MobileNetV2 weights, with the notebook's own head and steps."""
    definitions, part_b = _notebook_06_cells()
    assert len(part_b) == 2
    monkeypatch.setattr(photos, "photo_datasets", lambda folder: real_datasets(
        folder, image_size=(32, 32), batch_size=4, validation_split=0.25))
    monkeypatch.setattr(transfer, "mobilenet_base", lambda weights: real_base(
        input_shape=(32, 32, 3), weights=weights))
    namespace = {"keras": keras, "np": np, "transfer": transfer, "photos": photos,
                 "plots": plots, "speed": speed, "training": training, "PART_B": True, "weights_path": None,
                 "flowers_dir": photo_folder, "PHOTO_EPOCHS": 1,
                 "pretrained_weights": transfer.conv_base().get_weights()}
    exec(definitions, namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a learner would see any warning in red
        for cell in part_b:
            exec(cell, namespace)
    base, model = namespace["photo_base"], namespace["photo_model"]
    assert base.trainable and not base.layers[0].trainable and base.layers[-1].trainable
    assert "val_accuracy" in namespace["fine_history"]
    assert model.predict(np.zeros((2, 32, 32, 3)), verbose=0).shape == (2, 3)


real_datasets, real_base = photos.photo_datasets, transfer.mobilenet_base


def test_notebook_06_head_freezes_to_its_own_weights():
    definitions, _ = _notebook_06_cells()
    namespace = {"keras": keras, "np": np, "transfer": transfer,
                 "pretrained_weights": transfer.conv_base().get_weights()}
    exec(definitions, namespace)  # also asserts, as in the notebook, that freezing leaves 645
    model = namespace["demo"]
    assert any(layer.name == "conv_base" for layer in model.layers)


@pytest.mark.slow
def test_damaged_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="weights.h5: not MobileNetV2 ImageNet weights"):
        transfer.mobilenet_base(weights=bad)


def test_missing_photo_assets_are_reported_as_none(offline):
    assert photos.find_photo_assets() == (None, None)


def test_incomplete_flower_folder_is_rejected(tmp_path):
    for name in photos.FLOWER_CLASSES:
        (tmp_path / name).mkdir()
    (tmp_path / "roses" / "a.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match="expected 3,670 photos.*found 1"):
        photos.check_flowers(tmp_path)


@pytest.mark.slow
def test_fetch_with_photos_offline_fails_clearly(offline, shared_mnist, tmp_path, capsys):
    dest = tmp_path / "classroom"
    code = cli.main(["fetch-data", "--out", str(dest), "--from", str(shared_mnist),
                     "--with-photos"])
    err = capsys.readouterr().err
    assert code == 1 and "offline" in err and err.count("\n") == 1
    assert [name for name in files_under(dest) if not name.startswith("mnist/")] == []


def _tiny_flower_archive(folder, per_class=2) -> bytes:
    """A flower_photos.tgz laid out like the real one, with tiny generated JPEGs."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in photos.FLOWER_CLASSES:
            for i in range(per_class):
                jpeg = io.BytesIO()
                Image.new("RGB", (8, 8), (40 * i, 100, 200)).save(jpeg, "JPEG")
                info = tarfile.TarInfo(f"flower_photos/{name}/{i}.jpg")
                info.size = len(jpeg.getvalue())
                tar.addfile(info, io.BytesIO(jpeg.getvalue()))
    return buffer.getvalue()


def test_fetching_photo_assets_checks_and_unpacks_them(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "flower_photos.tgz"
    archive.write_bytes(_tiny_flower_archive(served))
    weights = served / "weights.h5"
    weights.write_bytes(b"w" * 1000)
    monkeypatch.setattr(photos, "FLOWERS_URL", archive.as_uri())
    monkeypatch.setattr(photos, "FLOWERS_SHA256", hashlib.sha256(archive.read_bytes()).hexdigest())
    monkeypatch.setattr(photos, "FLOWERS_BYTES", archive.stat().st_size)
    monkeypatch.setattr(photos, "FLOWER_IMAGES", 2 * len(photos.FLOWER_CLASSES))
    monkeypatch.setattr(photos, "MOBILENET_URL", weights.as_uri())
    monkeypatch.setattr(photos, "MOBILENET_BYTES", 1000)
    dest = tmp_path / "classroom"
    got_weights, flowers = photos.fetch_photo_assets(dest)
    assert got_weights == dest / "mobilenet" / photos.MOBILENET_FILE
    assert got_weights.read_bytes() == b"w" * 1000
    assert flowers == dest / "flower_photos" and photos.check_flowers(flowers) == 10
    assert photos.find_photo_assets(dest) == (got_weights, flowers)
    # the archive is gone once unpacked; nothing temporary is left
    assert sorted(files_under(dest))[0].startswith("flower_photos/")
    assert not any(name.startswith(".") or name.endswith(".tgz") for name in files_under(dest))
    got_weights.write_bytes(b"w" * 999)   # cut off in copying: as good as missing
    assert photos.find_photo_assets(dest) == (None, flowers)


def test_a_damaged_weights_file_is_deleted_when_checked(tmp_path):
    bad = tmp_path / "weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="not MobileNetV2 ImageNet weights"):
        transfer.check_mobilenet_weights(bad)
    assert not bad.exists()
