"""Judging a trained classifier: accuracy, confusions and per-class scores (scikit-learn's),
the most confident mistakes, and looking inside: filters, feature maps, saliency."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn import metrics

from helpers.errors import ModelError


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


# --------------------------------------------------------------------------- looking inside


def conv_layers(model: keras.Model) -> list:
    """The model's Conv2D layers, in order."""
    return [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]


def feature_extractor(model: keras.Model, layer_list=None) -> keras.Model:
    """A model that maps an input to the outputs of ``layer_list`` (default: every Conv2D)."""
    chosen = layer_list if layer_list is not None else conv_layers(model)
    return keras.Model(inputs=model.inputs[0], outputs=[layer.output for layer in chosen])


def class_scores(model: keras.Model):
    """A function giving the model's class scores before its final softmax (the logits)."""
    last = model.layers[-1]
    if not (isinstance(last, keras.layers.Dense)
            and getattr(last.activation, "__name__", "") == "softmax"):
        raise ModelError(f"{model.name}: its last layer is not a softmax Dense layer, so the "
                         "class scores before softmax are not available.")
    features = keras.Model(model.inputs, last.input)

    def scores(x):
        logits = tf.matmul(features(x, training=False), last.kernel)
        return logits + last.bias if last.use_bias else logits

    return scores


def saliency_maps(model: keras.Model, images: np.ndarray, classes=None, of: str = "score",
                  normalise: bool = True) -> np.ndarray:
    """|d class score / d pixel| for each image's class (its prediction when ``classes`` is
    None): the score before softmax (``of="score"``, the method's definition) or the softmax
    probability (``of="probability"``, whose gradient vanishes for confident digits).

    Bright pixels are those whose change would move the class score most: where the
    model is looking. With ``normalise`` each map is scaled to [0, 1].
    """
    if of not in ("score", "probability"):
        raise ValueError(f"of={of!r}: use 'score' or 'probability'")
    scores_of = class_scores(model) if of == "score" else (lambda x: model(x, training=False))
    x = tf.convert_to_tensor(images, dtype=tf.float32)
    if classes is None:
        classes = np.argmax(model.predict(images, verbose=0), axis=1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = scores_of(x)
        chosen = tf.gather(scores, tf.cast(classes, tf.int32), axis=1, batch_dims=1)
    grads = tf.abs(tape.gradient(chosen, x)).numpy()
    grads = grads.max(axis=-1)  # over channels
    if not normalise:
        return grads
    peak = grads.reshape(len(grads), -1).max(axis=1).reshape(-1, 1, 1)
    return grads / np.maximum(peak, 1e-12)
