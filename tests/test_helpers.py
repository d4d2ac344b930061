"""helpers: models, training, evaluation, plots, reporting and the quiet TensorFlow start."""
from __future__ import annotations

import dataclasses
import functools
import json
import os

import matplotlib
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

from helpers import data, evaluation, models, plots, report, session, training
from helpers.errors import ModelError
from helpers.session import keras

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def sample():
    """The offline sample, scaled: ((x_train, y_train), (x_test, y_test))."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist(source="sample")
    return (data.to_model_input(x_train), y_train), (data.to_model_input(x_test), y_test)


# --------------------------------------------------------------------------- models


def test_article_cnn_has_the_articles_shape_and_parameter_count():
    model = models.article_cnn()
    assert model.output_shape == (None, 10)
    assert model.count_params() == 93_322
    assert [layer.output.shape[1:] for layer in models.conv_layers(model)] == [
        (26, 26, 32), (11, 11, 64), (3, 3, 64)]


def test_fast_model_is_much_cheaper_than_the_articles():
    assert models.flops_per_image(models.strided_cnn()) < models.flops_per_image(
        models.article_cnn()) / 3


def test_flops_per_image_matches_hand_count():
    by_hand = 2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 3 * 3 * 64 * 9 * 64
                   + 576 * 64 + 64 * 10)
    assert models.flops_per_image(models.article_cnn()) == by_hand  # 2.8 M multiply-adds


def test_feature_extractor_returns_every_conv_output():
    outputs = models.feature_extractor(models.article_cnn())(np.zeros((2, 28, 28, 1)))
    assert [tuple(o.shape) for o in outputs] == [(2, 26, 26, 32), (2, 11, 11, 64), (2, 3, 3, 64)]


@pytest.mark.parametrize("shape", [(64, 5, 5, 8), (1600, 8)])  # after a convolution, a dense layer
def test_fused_batch_norm_agrees_with_keras(shape):
    x = np.random.default_rng(0).normal(2.0, 3.0, shape).astype("float32")
    fused = models.FusedBatchNorm(momentum=0.9)
    reference = keras.layers.BatchNormalization(momentum=0.9)
    for training in (True, False):  # batch statistics, then the running averages just updated
        # (the fused kernel's running variance is the unbiased one: larger by n/(n-1))
        assert np.allclose(fused(x, training=training), reference(x, training=training),
                           rtol=2e-3, atol=1e-4)
    assert np.allclose(fused.moving_mean, reference.moving_mean, atol=1e-5)
    assert not np.allclose(fused.moving_mean, 0)


def test_frozen_fused_batch_norm_keeps_its_running_statistics():
    x = np.random.default_rng(0).normal(2.0, 3.0, (16, 4, 4, 3)).astype("float32")
    layer = models.FusedBatchNorm()
    layer.build(x.shape)
    layer.trainable = False
    assert np.allclose(layer(x, training=True), layer(x, training=False))
    assert np.allclose(layer.moving_mean, 0) and np.allclose(layer.moving_variance, 1)


# --------------------------------------------------------------------------- data preparation


def test_to_model_input_scales_and_adds_channel():
    x = data.to_model_input(np.array([[[0, 255]]], dtype=np.uint8))
    assert x.dtype == np.float32 and x.shape == (1, 1, 2, 1) and x.max() == 1.0


def test_split_validation_is_stratified_and_disjoint():
    x = np.arange(1000)
    y = np.repeat(np.arange(10), 100)
    (x_tr, y_tr), (x_val, y_val) = data.split_validation(x, y, size=200)
    assert np.bincount(y_val).tolist() == [20] * 10
    assert len(set(x_tr) & set(x_val)) == 0 and len(x_tr) == 800


def test_subset_keeps_classes_balanced():
    x, y = np.arange(1000), np.repeat(np.arange(10), 100)
    _, y_small = data.subset(x, y, 100)
    assert np.bincount(y_small).tolist() == [10] * 10
    assert len(data.subset(x, y, None)[1]) == 1000


# --------------------------------------------------------------------------- training


def test_seed_recipe_learns_on_the_sample(sample, capsys):
    (x_train, y_train), (x_test, y_test) = sample
    keras.utils.set_random_seed(0)
    run = training.train("seed", (x_train[:2000], y_train[:2000]), (x_test, y_test), epochs=2)
    assert run.history["loss"][1] < run.history["loss"][0]
    assert run.history["val_accuracy"][-1] > 0.5  # chance is 0.1
    assert len(run.epoch_seconds) == 2 and run.seconds_per_epoch > 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and "val_accuracy" in lines[0]  # one line per epoch, no bars


def test_unknown_recipe_lists_choices():
    with pytest.raises(ValueError, match="unknown recipe 'turbo'; choose one of seed, fast, best"):
        training.get_recipe("turbo")


@pytest.mark.parametrize("name", ["seed", "fast", "best"])
def test_every_recipe_learns_in_a_few_steps(sample, name):
    (x_train, y_train), (x_test, y_test) = sample
    keras.utils.set_random_seed(0)
    run = training.train(name, (x_train[:3000], y_train[:3000]), (x_test, y_test), epochs=2,
                         verbose=False)
    assert run.history["loss"][-1] < run.history["loss"][0]
    # Training accuracy: after so few steps, batch norm's running statistics (used for
    # validation) have not caught up yet; over a real run they do.
    assert run.history["accuracy"][-1] > 0.3  # chance is 0.1


def test_an_ensemble_recipe_trains_one_network_per_builder_and_averages_them(sample):
    (x_train, y_train), (x_test, _) = sample
    recipe = dataclasses.replace(training.get_recipe("best"), epochs=1,
                                 build=(models.article_cnn, models.strided_cnn))
    keras.utils.set_random_seed(0)
    run = training.train(recipe, (x_train[:512], y_train[:512]), verbose=False)
    networks = [layer for layer in run.model.layers if isinstance(layer, keras.Model)]
    assert [network.name for network in networks] == ["article_cnn_1", "strided_cnn_2"]
    assert len(run.epoch_seconds) == 2  # one epoch each
    expected = np.mean([network.predict(x_test[:16], verbose=0) for network in networks], axis=0)
    assert np.allclose(run.model.predict(x_test[:16], verbose=0), expected, atol=1e-6)


def test_the_best_recipe_averages_networks_of_two_designs():
    recipe = training.get_recipe("best")
    first, second = (build() for build in recipe.build)
    assert recipe.members == 2
    assert first.layers[0].kernel_size == (3, 3) and second.layers[0].kernel_size == (5, 5)


def test_one_cycle_schedule_warms_up_then_anneals_to_zero():
    schedule = training.adam_one_cycle(1e-2, warmup=0.2)(100)._learning_rate
    rates = [float(schedule(step)) for step in (0, 10, 20, 60, 100)]
    assert rates[0] == pytest.approx(1e-2 / 25)
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-2)
    assert rates[2] > rates[3] > rates[4] and rates[4] == pytest.approx(0, abs=1e-6)


def test_augmentation_changes_digits_but_keeps_their_shape():
    augment = models.digit_augmentation()
    images = np.zeros((4, 28, 28, 1), "float32")
    images[:, 8:20, 12:16] = 1.0
    out = np.asarray(augment(images, training=True))
    assert out.shape == images.shape and not np.allclose(out, images)
    assert np.allclose(np.asarray(augment(images, training=False)), images)


# --------------------------------------------------------------------------- evaluation


def test_confusion_and_scores_agree_with_scikit_learn():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    matrix = evaluation.confusion_matrix(y_true, y_pred)
    assert np.array_equal(matrix, sk_confusion(y_true, y_pred, labels=range(10)))
    scores = evaluation.per_class_scores(y_true, y_pred)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred,
                                                                     labels=range(10))
    assert np.allclose(scores["precision"], precision) and np.allclose(scores["recall"], recall)
    assert np.allclose(scores["f1"], f1) and np.array_equal(scores["support"], support)


def test_most_confused_pair_ignores_the_diagonal():
    matrix = np.diag([100] * 10)
    matrix[4, 9] = 7
    matrix[7, 2] = 5
    assert evaluation.most_confused_pair(matrix) == (4, 9, 7)


def test_most_confident_mistakes_are_wrong_and_sorted():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]])
    y = np.array([1, 1, 1, 0])
    assert evaluation.most_confident_mistakes(probs, y, k=5).tolist() == [3, 0, 2]


def test_saliency_maps_are_normalised_per_image():
    keras.utils.set_random_seed(0)
    model = models.article_cnn()
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    maps = evaluation.saliency_maps(model, images)
    assert maps.shape == (3, 28, 28)
    assert np.allclose(maps.reshape(3, -1).max(axis=1), 1.0) and maps.min() >= 0


# --------------------------------------------------------------------------- plots


def test_plots_label_their_axes():
    history = {"loss": [1.0, 0.5], "accuracy": [0.6, 0.8], "val_loss": [0.9, 0.6],
               "val_accuracy": [0.7, 0.75]}
    figures = [plots.plot_history(history), plots.class_balance(np.arange(10)),
               plots.confusion_heatmap(np.eye(10, dtype=int) * 5)]
    for fig in figures:
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel()
    grid = plots.digit_grid(np.zeros((3, 28, 28)), [1, 2, 3], predictions=[1, 5, 3])
    assert [ax.get_title() for ax in grid.axes] == ["1", "2→5", "3"]
    matplotlib.pyplot.close("all")


# --------------------------------------------------------------------------- report and session


def test_record_writes_the_runner_file(tmp_path, monkeypatch):
    target = tmp_path / "m.json"
    monkeypatch.setenv(report.METRICS_ENV, str(target))
    assert report.record("test_accuracy", np.float32(0.5)) == 0.5
    assert json.loads(target.read_text())["metrics"]["test_accuracy"] == 0.5
    with pytest.raises(TypeError, match="takes a number"):
        report.record("pair", (3, 5))


def test_filtered_stderr_drops_known_noise_and_keeps_the_rest(capfd):
    with session.filtered_stderr():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"something a learner must see\n")
    err = capfd.readouterr().err
    assert "something a learner must see" in err and "oneDNN" not in err


def test_setup_seeds_and_prints_one_banner(capsys):
    session.setup(7)
    first = np.random.random()
    session.setup(7)
    assert np.random.random() == first
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and "TensorFlow" in out[0] and "seed 7" in out[0]


# --------------------------------------------------------------------------- saving and loading


@pytest.mark.parametrize("build", [models.article_cnn, models.wide_cnn,
                                   functools.partial(models.wide_cnn, kernel_size=5)])
def test_save_and_load_round_trip(tmp_path, build):
    keras.utils.set_random_seed(0)
    model = build()
    path = models.save_model(model, tmp_path / "sub" / "m.keras")
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    assert np.allclose(model.predict(x, verbose=0), models.load_model(path).predict(x, verbose=0))
    assert [p.name for p in path.parent.iterdir()] == ["m.keras"]  # no temporary left over


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"hello"])
def test_loading_a_bad_model_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "broken.keras"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="broken.keras: not a valid Keras model") as info:
        models.load_model(path)
    assert "\n" not in str(info.value)


def test_missing_model_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelError, match="no model here. Train one with `cnn-course train`"):
        models.load_model(tmp_path / "absent.keras")


def test_load_or_train_trains_once_then_loads(sample, tmp_path, capsys):
    (x_train, y_train), _ = sample
    path = tmp_path / "m.keras"
    first = training.load_or_train(path, (x_train[:256], y_train[:256]), epochs=1)
    assert path.is_file() and "training one now" in capsys.readouterr().out
    second = training.load_or_train(path, (x_train[:256], y_train[:256]), epochs=1)
    assert "Loaded the model" in capsys.readouterr().out
    assert np.allclose(first.get_weights()[0], second.get_weights()[0])


def test_tflite_conversion_is_silent_and_agrees_with_keras(capfd):
    keras.utils.set_random_seed(0)
    model = models.strided_cnn()
    lite = models.TFLiteClassifier(models.to_tflite(model))
    x = np.random.default_rng(0).random((28, 28, 1)).astype("float32")
    assert np.allclose(lite(x), model.predict(x[None], verbose=0)[0], atol=1e-5)
    captured = capfd.readouterr()
    assert "Assets written" not in captured.err + captured.out
    assert "Saved artifact" not in captured.out
