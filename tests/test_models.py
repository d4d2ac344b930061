"""Networks, the course's layers, FLOP counts, and model files that travel."""
from __future__ import annotations

import functools
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from helpers import architectures, blocks, export, recipes, training
from helpers.errors import ModelError, UsageError

L = keras.layers


def test_article_cnn_has_the_articles_shape_and_parameter_count():
    model = architectures.article_cnn()
    assert model.output_shape == (None, 10)
    assert model.count_params() == 93_322
    assert [layer.output.shape[1:] for layer in model.layers if isinstance(layer, L.Conv2D)] == [
        (26, 26, 32), (11, 11, 64), (3, 3, 64)]


# --------------------------------------------------------------------------- FLOPs


def test_flops_per_image_matches_hand_count():
    by_hand = 2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 3 * 3 * 64 * 9 * 64
                   + 576 * 64 + 64 * 10)
    assert architectures.flops_per_image(architectures.article_cnn()) == by_hand  # 2.8 M MACs


def test_fast_model_is_much_cheaper_than_the_articles():
    assert architectures.flops_per_image(architectures.strided_cnn()) < \
        architectures.flops_per_image(architectures.article_cnn()) / 3


def test_flops_of_separable_and_depthwise_convolutions():
    separable = keras.Sequential([keras.Input((11, 11, 64)), L.SeparableConv2D(128, 3)])
    # depthwise 3x3 over 64 channels, then a 1x1 from 64 to 128, at each of 9x9 positions
    assert architectures.flops_per_image(separable) == 2 * 9 * 9 * (9 * 64 + 64 * 128)
    doubled = keras.Sequential([keras.Input((10, 10, 8)),
                                L.DepthwiseConv2D(5, depth_multiplier=2, padding="same")])
    assert architectures.flops_per_image(doubled) == 2 * 25 * 10 * 10 * 16


def test_flops_count_inside_nested_networks():
    inner = architectures.article_cnn()
    inputs = keras.Input((28, 28, 1))
    outer = keras.Model(inputs, inner(inputs))
    assert architectures.flops_per_image(outer) == architectures.flops_per_image(inner)


# --------------------------------------------------------------------------- batch norm


def test_the_courses_batch_norm_is_keras_own_and_its_statistics_keep_up():
    x = np.random.default_rng(0).normal(2.0, 3.0, (64, 5, 5, 8)).astype("float32")
    layer, default = blocks.batch_norm(), L.BatchNormalization()
    assert type(layer) is L.BatchNormalization and layer.momentum == blocks.BN_MOMENTUM
    for _ in range(20):   # 20 training steps on the same batch
        layer(x, training=True)
        default(x, training=True)
    mean = x.mean(axis=(0, 1, 2))
    # 1 - 0.9**20: 88% of the way to the batch's mean; Keras' default 0.99, 18%
    assert np.allclose(layer.moving_mean, mean * (1 - 0.9 ** 20), rtol=1e-3)
    assert np.allclose(default.moving_mean, mean * (1 - 0.99 ** 20), rtol=1e-3)


def test_augmentation_changes_digits_but_keeps_their_shape():
    augment = blocks.digit_augmentation()
    images = np.zeros((4, 28, 28, 1), "float32")
    images[:, 8:20, 12:16] = 1.0
    out = np.asarray(augment(images, training=True))
    assert out.shape == images.shape and not np.allclose(out, images)
    assert np.allclose(np.asarray(augment(images, training=False)), images)


# --------------------------------------------------------------------------- saving and loading


@pytest.mark.parametrize("build", [architectures.article_cnn, architectures.wide_cnn,
                                   functools.partial(architectures.wide_cnn, kernel_size=5)])
@pytest.mark.slow
def test_save_and_load_round_trip(tmp_path, build):
    keras.utils.set_random_seed(0)
    model = build()
    path = export.save_model(model, tmp_path / "sub" / "m.keras")
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    assert np.allclose(model.predict(x, verbose=0), export.load_model(path).predict(x, verbose=0),
                       atol=1e-6)
    assert [p.name for p in path.parent.iterdir()] == ["m.keras"]  # no temporary left over


def test_saved_files_get_normal_permissions(tmp_path):
    import os
    import stat

    path = export.save_model(architectures.article_cnn(), tmp_path / "m.keras")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.fixture(scope="module")
def trained_ensemble():
    """The best recipe's two networks, trained for one epoch on a few random digits."""
    import dataclasses

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((256, 28, 28, 1)).astype("float32")
    y = np.arange(256) % 10
    recipe = dataclasses.replace(recipes.get_recipe("best"), epochs=1)
    return training.train(recipe, (x, y), verbose=False).model


@pytest.mark.slow
def test_an_ensemble_saves_and_reloads(trained_ensemble, tmp_path):
    path = export.save_model(trained_ensemble, tmp_path / "best.keras")
    reloaded = export.load_model(path)
    x = np.random.default_rng(2).random((8, 28, 28, 1)).astype("float32")
    assert np.allclose(reloaded.predict(x, verbose=0), trained_ensemble.predict(x, verbose=0),
                       atol=1e-5)
    assert [layer.name for layer in reloaded.layers if isinstance(layer, keras.Model)] == \
        ["wide_cnn_3x3_1", "wide_cnn_5x5_2"]


PLAIN_KERAS = textwrap.dedent("""
    import sys
    sys.modules["helpers"] = None  # the course cannot be imported here
    import numpy as np, keras, tensorflow as tf
    model = keras.saving.load_model(sys.argv[1])
    x = np.load(sys.argv[2])
    assert np.allclose(model.predict(x, verbose=0), np.load(sys.argv[3]), atol=1e-5)
    lite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    interpreter = tf.lite.Interpreter(model_content=lite)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x[:1])
    interpreter.invoke()
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert np.allclose(out, np.load(sys.argv[3])[:1], atol=1e-4)
    print("loaded and converted without the course")
""")


@pytest.mark.slow
def test_course_models_load_and_convert_with_plain_keras(trained_ensemble, tmp_path):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(3).random((4, 28, 28, 1)).astype("float32")
    cases = {"fast": recipes.get_recipe("fast").build(), "best": trained_ensemble}
    for name, model in cases.items():
        path = export.save_model(model, tmp_path / f"{name}.keras")
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
        done = subprocess.run([sys.executable, "-c", PLAIN_KERAS, str(path),
                               str(tmp_path / "x.npy"), str(tmp_path / "expected.npy")],
                              capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert done.returncode == 0, (name, done.stderr[-2000:])
        assert "loaded and converted without the course" in done.stdout


def test_save_refuses_a_name_that_is_not_keras(tmp_path):
    for name in ("m.h5", "m"):
        with pytest.raises(UsageError, match="must end in .keras"):
            export.save_model(architectures.article_cnn(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"PK\x03\x04 not really a zip", "not a Keras model file"),
    (b"hello, I am text", "not a Keras model file"),
    ("truncated", "not a Keras model file"),
    ("wrong zip", "not a valid Keras model"),
])
def test_loading_a_bad_model_file_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "broken.keras"
    if content == "truncated":
        good = export.save_model(architectures.article_cnn(), tmp_path / "good.keras")
        content = good.read_bytes()[: good.stat().st_size // 2]
    elif content == "wrong zip":
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "not a model")
    if isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as info:
        export.load_model(path)
    assert "\n" not in str(info.value) and "File not found" not in str(info.value)


def test_missing_model_or_a_folder_says_so(tmp_path):
    with pytest.raises(ModelError, match="no model here. Train one with `cnn-course train`"):
        export.load_model(tmp_path / "absent.keras")
    with pytest.raises(ModelError, match="is a folder, not a model file"):
        export.load_model(tmp_path)


@pytest.mark.slow
def test_tflite_conversion_is_silent_and_agrees_with_keras(capfd):
    keras.utils.set_random_seed(0)
    model = architectures.strided_cnn()
    lite = export.TFLiteClassifier(export.to_tflite(model))
    x = np.random.default_rng(0).random((28, 28, 1)).astype("float32")
    assert np.allclose(lite(x), model.predict(x[None], verbose=0)[0], atol=1e-5)
    captured = capfd.readouterr()
    assert "Assets written" not in captured.err + captured.out
    assert "Saved artifact" not in captured.out
