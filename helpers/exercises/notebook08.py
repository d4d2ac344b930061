"""The checks of notebook 08's exercises (your own digits)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answer_near, exercise, same_array


@exercise("08.1", "the longer side decides the scale, so the digit fits the 20-pixel box.")
def _box_scale(answer):
    return answer_near(answer, 20 / 200, wrong={
        20 / 100: "with that scale the 200-pixel side becomes 40 pixels: the longer side decides.",
    })


@exercise("08.2", "the centre of mass weighs every pixel by its ink.")
def _centre_of_mass(answer):
    ink = example_ink()
    rows, cols = np.indices(ink.shape)
    expected = np.array([(rows * ink).sum(), (cols * ink).sum()]) / ink.sum()
    problem = same_array(np.asarray(answer, dtype=float), expected, "(row, column)", atol=1e-6)
    if problem and np.allclose(np.asarray(answer, dtype=float), expected[::-1], atol=1e-6):
        return "you have (column, row); give (row, column)."
    return problem


def example_ink() -> np.ndarray:
    """The small ink image of exercise 08.2."""
    ink = np.zeros((6, 8))
    ink[1:3, 1:3] = 1.0
    ink[3:5, 5:7] = 3.0
    return ink


@exercise("08.3", "a dark digit on light paper becomes MNIST's light digit on black.")
def _invert(answer):
    x = np.random.default_rng(2).random((5, 5)).astype(np.float32)
    return same_array(answer(x), 1 - x, "invert(x) on values in [0, 1]")
