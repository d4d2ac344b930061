"""The checks of notebook 03's exercises (build and train)."""
from __future__ import annotations

import math

import numpy as np

from helpers.checking import answer_near, exercise, same_array


@exercise("03.1", "the last, smaller batch is still a step.")
def _updates_per_epoch(answer, images, batch_size):
    return answer_near(answer, math.ceil(images / batch_size), rel=0, wrong={
        images // batch_size: "the last batch is smaller but still updates the weights: round up.",
    })


@exercise("03.2", "cross-entropy is -ln(probability of the right digit).")
def _cross_entropy(answer):
    return answer_near(answer, -math.log(0.25), wrong={
        -math.log10(0.25): "that is log base 10; Keras uses the natural logarithm.",
        0.25: "that is the probability itself; the loss is its negative logarithm.",
        0.75: "that is 1 - p; the loss is -ln(p).",
    })


@exercise("03.3", "your cosine schedule matches keras.optimizers.schedules.CosineDecay.")
def _cosine_learning_rate(answer):
    import keras

    for total in (1000, 400):
        schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=total)
        steps = [0, total // 10, total // 4, total // 2, 3 * total // 4, total]
        theirs = np.array([float(schedule(s)) for s in steps])
        problem = same_array([answer(s, total) for s in steps], theirs,
                              f"cosine_learning_rate(step, {total}) at steps 0-{total}", atol=1e-8)
        if problem:
            return problem
    return None
