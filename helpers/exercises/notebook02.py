"""The checks of notebook 02's exercises (building blocks)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answer_near, exercise, same_array


@exercise("02.1", "average pooling is a mean where max pooling takes the largest value.")
def _average_pool(answer):
    import keras

    x = np.random.default_rng(1).random((6, 7, 3)).astype(np.float32)
    for size in (2, 3):
        theirs = keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(size)(x[None]))[0]
        problem = same_array(answer(x, size), theirs, f"average_pool(x, size={size}) on a 6x7x3 input")
        if problem:
            return problem
    return None


@exercise("02.2", "only the first layer's parameters change; the flattened size stays 576.")
def _parameters_5x5(answer):
    return answer_near(answer, 93_834, rel=0, wrong={
        93_802: "each of the 32 filters also has a bias.",
        93_322: "that is the 3x3 model; the first layer's kernels grow to 5x5.",
    })


@exercise("02.3", "each 3x3 convolution after pooling adds more than 2 pixels of view.")
def _receptive_field_5x5(answer):
    return answer_near(answer, 20, rel=0, wrong={
        18: "that is the 3x3 model's receptive field; the first kernel is now 5x5.",
        11: "a layer after pooling steps 2 (then 4) input pixels per output pixel: multiply "
            "its k - 1 by the jump.",
    })


@exercise("02.4", "inverted dropout scales the kept values by 1 / (1 - rate) in training.")
def _dropout_scale(answer):
    return answer_near(answer, 1 / (1 - 0.75), wrong={
        0.75: "0.75 is the share that is dropped; the kept values are scaled up, so that the "
              "layer's average output stays the same.",
        0.25: "0.25 is the share that is kept; the kept values are divided by it.",
        2.0: "that is the factor for a rate of 0.5; this layer drops 75%.",
        1.0: "that is inference time; in training the kept values are scaled up.",
    })
