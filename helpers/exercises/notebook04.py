"""The checks of notebook 04's exercises (evaluate and inspect)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answer_near, exercise


EXAMPLE_CONFUSION = np.array([[50, 2, 0], [5, 40, 5], [0, 3, 45]])  # rows: true class


@exercise("04.1", "precision divides by the column (everything predicted as the class).")
def _precision(answer):
    column = EXAMPLE_CONFUSION[:, 1]
    return answer_near(answer, column[1] / column.sum(), wrong={
        40 / 50: "that is recall (divided by the row, the true 1s); precision divides by the "
                 "column, everything predicted as 1.",
    })


@exercise("04.2", "a softmax probability near 1 has a gradient near 0: saliency uses logits.")
def _softmax_gradient(answer):
    p = 0.999
    return answer_near(answer, p * (1 - p), rel=1e-2, wrong={
        p: "that is the probability itself; its derivative with respect to its own score is "
           "p(1 - p).",
        1.0: "the derivative of the score itself is 1; the probability's is p(1 - p).",
    })


@exercise("04.3", "a 3x3 valid convolution takes 2 pixels, pooling halves (rounding down).")
def _feature_map_shape(answer):
    expected = (5, 5, 64)
    shape = tuple(answer)
    if shape and shape[0] is None:  # a Keras shape, with its batch axis
        shape = shape[1:]
    if shape == expected:
        return None
    if shape == (11, 11, 64):
        return "that is the second convolution's output; the pooling after it halves it."
    return f"{answer} is not it: follow 28 through conv, pool, conv, pool (the channels " \
           "are the second convolution's filters)."
