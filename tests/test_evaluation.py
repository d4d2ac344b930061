"""Evaluation helpers, notebook 04's saliency code, and the course's plots."""
from __future__ import annotations

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np

import nbformat

from helpers import evaluation, plots
from helpers.paths import NOTEBOOK_DIR


def test_per_class_scores():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2])
    scores = evaluation.per_class_scores(y_true, y_pred, num_classes=3)
    assert scores["recall"].round(3).tolist() == [0.5, 1.0, 0.667]
    assert scores["precision"].round(3).tolist() == [0.5, 0.667, 1.0]
    assert scores["support"].tolist() == [2, 2, 3]


def test_a_class_never_predicted_scores_zero_without_warnings(recwarn):
    scores = evaluation.per_class_scores([0, 1], [0, 0], num_classes=3)
    assert scores["precision"].tolist() == [0.5, 0.0, 0.0]
    assert not [w for w in recwarn if "ill-defined" in str(w.message)]


def test_most_confused_pair_ignores_the_diagonal():
    matrix = np.diag([100] * 10)
    matrix[4, 9] = 7
    matrix[7, 2] = 5
    assert evaluation.most_confused_pair(matrix) == (4, 9, 7)


def test_most_confident_mistakes_are_wrong_and_sorted():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]])
    y = np.array([1, 1, 1, 0])
    assert evaluation.most_confident_mistakes(probs, y, k=5).tolist() == [3, 0, 2]


def _linear_softmax_model():
    # the score of class c is the sum of the pixels times a weight map, then softmax
    weights = np.zeros((28 * 28, 2), "float32")
    weights[:28 * 14, 0] = 1.0   # class 0 looks at the top half
    weights[28 * 14:, 1] = 2.0   # class 1 at the bottom half
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.layers[-1].set_weights([weights, np.zeros(2, "float32")])
    return model


def _notebook_04_saliency(model):
    """Notebook 04's saliency code (the cell tagged "saliency", up to its plot), run on ``model``."""
    import tensorflow as tf

    notebook = nbformat.read(NOTEBOOK_DIR / "04_evaluate_and_inspect.ipynb", as_version=4)
    [cell] = [c.source for c in notebook.cells if "saliency" in c.metadata.get("tags", [])]
    namespace = {"keras": keras, "tf": tf, "np": np, "model": model}
    exec(cell[:cell.index("\nexamples = ")], namespace)
    return namespace["class_scores"], namespace["saliency_maps"]


def test_notebook_04s_saliency_is_the_gradient_of_the_class_score_before_softmax():
    model = _linear_softmax_model()
    class_scores, saliency_maps = _notebook_04_saliency(model)
    maps = saliency_maps(class_scores, np.zeros((2, 28, 28, 1), "float32"), np.array([0, 1]))
    assert np.allclose(maps[0, :14], 1) and np.allclose(maps[0, 14:], 0)
    assert np.allclose(maps[1, 14:], 2) and np.allclose(maps[1, :14], 0)


def test_the_probability_gradient_vanishes_for_a_confident_digit_the_score_does_not():
    model = _linear_softmax_model()
    class_scores, saliency_maps = _notebook_04_saliency(model)
    confident = np.zeros((1, 28, 28, 1), "float32")
    confident[0, 14:] = 0.05                  # class 1's score: 2 * 0.05 * 392 = 39
    score = saliency_maps(class_scores, confident, np.array([1]))
    probability = saliency_maps(model, confident, np.array([1]))
    assert np.allclose(score[0, 14:], 2.0)
    assert probability.max() < 1e-6 * score.max()


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
    plt.close("all")


def test_probability_bars_highlight_the_winner():
    fig = plots.probability_bars(np.array([0.1, 0.7, 0.2]), title="a digit")
    assert isinstance(fig, matplotlib.figure.Figure)
    bars = fig.axes[0].patches
    assert [round(b.get_height(), 2) for b in bars] == [0.1, 0.7, 0.2]
    assert bars[1].get_facecolor() != bars[0].get_facecolor() == bars[2].get_facecolor()
    plt.close("all")


def test_overlay_heatmaps_draws_each_image_with_its_map():
    images, maps = np.zeros((3, 28, 28, 1)), np.random.default_rng(0).random((3, 28, 28))
    fig = plots.overlay_heatmaps(images, maps, titles=["a", "b", "c"], cols=2)
    assert isinstance(fig, matplotlib.figure.Figure)
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == ["a", "b", "c"]
    assert all(len(ax.images) == 2 for ax in drawn)  # the digit and its heat map
    plt.close("all")
