"""Transfer learning helpers, and notebook 06 part B's code path on tiny generated photos."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import cli, data, models, training
from helpers.errors import DatasetError, ModelError
from helpers.session import keras


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


def test_part_b_code_path_with_random_weights(photo_folder):
    train, val, names = data.photo_datasets(photo_folder, image_size=(32, 32), batch_size=4,
                                            validation_split=0.25)
    assert names == ["blue", "green", "red"]
    keras.utils.set_random_seed(0)
    base = models.mobilenet_base(input_shape=(32, 32, 3), weights=None)
    model = models.classifier_on(base, len(names), preprocess=models.mobilenet_preprocessing())
    head, fine = training.head_then_fine_tune(model, base, train, val, head_epochs=1,
                                              fine_epochs=1, unfreeze_layers=10)
    assert "val_accuracy" in head and "val_accuracy" in fine
    assert base.trainable and not base.layers[0].trainable and base.layers[-1].trainable
    assert model.predict(np.zeros((2, 32, 32, 3)), verbose=0).shape == (2, 3)


def test_unfreeze_top_freezes_all_but_the_last_layers():
    base = models.conv_base()
    assert models.unfreeze_top(base, 3) == len(base.layers[-3].trainable_weights) + \
        len(base.layers[-2].trainable_weights) + len(base.layers[-1].trainable_weights)
    assert models.unfreeze_top(base, 0) == len(base.trainable_weights) > 0


def test_frozen_base_does_not_change_while_the_head_trains():
    keras.utils.set_random_seed(0)
    base = models.conv_base()
    before = [w.copy() for w in base.get_weights()]
    model = models.classifier_on(base, 5)
    x = np.random.default_rng(0).random((32, 28, 28, 1)).astype("float32")
    y = np.arange(32) % 5
    training.head_then_fine_tune(model, base, (x, y), head_epochs=2, fine_epochs=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))


def test_damaged_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="weights.h5: not MobileNetV2 ImageNet weights"):
        models.mobilenet_base(weights=bad)


def test_missing_photo_assets_are_reported_as_none(offline):
    assert data.find_photo_assets() == (None, None)


def test_incomplete_flower_folder_is_rejected(tmp_path):
    for name in data.FLOWER_CLASSES:
        (tmp_path / name).mkdir()
    (tmp_path / "roses" / "a.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match="expected 3,670 photos.*found 1"):
        data.check_flowers(tmp_path)


def test_fetch_with_photos_offline_fails_clearly(offline, shared_mnist, tmp_path, capsys):
    dest = tmp_path / "classroom"
    code = cli.main(["fetch-data", "--dest", str(dest), "--from", str(shared_mnist),
                     "--with-photos"])
    assert code == 1 and "offline" in capsys.readouterr().err
    assert not list(dest.rglob("*.part")) and not (dest / "flower_photos").exists()
