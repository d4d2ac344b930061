"""Judging a trained classifier: per-class scores (scikit-learn's), the most confused pair,
and the most confident mistakes."""
from __future__ import annotations

import keras
import numpy as np
from sklearn import metrics



def predict_probabilities(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities for every input, shape (N, classes)."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def most_confused_pair(matrix: np.ndarray) -> tuple[int, int, int]:
    """``(true, predicted, count)`` of the largest off-diagonal cell."""
    off = np.asarray(matrix).copy()
    np.fill_diagonal(off, -1)
    true, pred = np.unravel_index(np.argmax(off), off.shape)
    return int(true), int(pred), int(off[true, pred])


def per_class_scores(y_true, y_pred, num_classes: int = 10):
    """A table (pandas DataFrame) of precision, recall, F1 and support for each class."""
    import pandas as pd

    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(num_classes), zero_division=0)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support},
                        index=pd.Index(range(num_classes), name="digit"))


def most_confident_mistakes(probabilities: np.ndarray, y_true, k: int = 12) -> np.ndarray:
    """Indices of the ``k`` wrong predictions made with the highest confidence."""
    probabilities = np.asarray(probabilities)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(y_true))
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence)][:k]
