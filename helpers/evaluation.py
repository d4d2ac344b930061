"""Judging a trained classifier: accuracy, confusions, per-class scores, and where it looks."""
from __future__ import annotations

import numpy as np

from helpers.session import keras, tf


def predict_probabilities(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities for every input, shape (N, classes)."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the labels."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def confusion_matrix(y_true, y_pred, num_classes: int = 10) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    matrix = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(matrix, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return matrix


def most_confused_pair(matrix: np.ndarray) -> tuple[int, int, int]:
    """``(true, predicted, count)`` of the largest off-diagonal cell."""
    off = np.asarray(matrix).copy()
    np.fill_diagonal(off, -1)
    true, pred = np.unravel_index(np.argmax(off), off.shape)
    return int(true), int(pred), int(off[true, pred])


def per_class_scores(y_true, y_pred, num_classes: int = 10):
    """A table (pandas DataFrame) of precision, recall, F1 and support for each class."""
    import pandas as pd

    matrix = confusion_matrix(y_true, y_pred, num_classes)
    hits = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall,
                   out=np.zeros_like(hits), where=(precision + recall) > 0)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": actual},
                        index=pd.Index(range(num_classes), name="digit"))


def most_confident_mistakes(probabilities: np.ndarray, y_true, k: int = 12) -> np.ndarray:
    """Indices of the ``k`` wrong predictions made with the highest confidence."""
    probabilities = np.asarray(probabilities)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(y_true))
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence)][:k]


def saliency_maps(model: keras.Model, images: np.ndarray, classes=None) -> np.ndarray:
    """|d score / d pixel| for each image's class (its prediction when ``classes`` is None).

    Bright pixels are those whose change would move the class score most: where the
    model is looking. Each map is scaled to [0, 1].
    """
    x = tf.convert_to_tensor(images, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = model(x, training=False)
        if classes is None:
            classes = tf.argmax(scores, axis=1)
        chosen = tf.gather(scores, tf.cast(classes, tf.int32), axis=1, batch_dims=1)
    grads = tf.abs(tape.gradient(chosen, x)).numpy()
    grads = grads.max(axis=-1)  # over channels
    peak = grads.reshape(len(grads), -1).max(axis=1).reshape(-1, 1, 1)
    return grads / np.maximum(peak, 1e-12)
