"""The checks of notebook 01's exercises (data)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answer_near, exercise, probe_images, same_array


@exercise("01.1", "scaled images take four bytes per pixel, float32.")
def _float32_bytes(answer, x_train):
    return answer_near(answer, x_train.size * 4, rel=0, wrong={
        x_train.nbytes: "that is the uint8 size; float32 takes 4 bytes per pixel.",
        x_train.size * 8: "that is float64; the course scales to float32 (4 bytes).",
    })


@exercise("01.2", "the majority-class baseline is what any classifier must beat.")
def _majority_baseline(answer, y_train, y_test):
    guess = np.bincount(y_train, minlength=10).argmax()
    return answer_near(answer, float(np.mean(y_test == guess)), rel=1e-6, wrong={
        float(np.mean(y_train == guess)): "that is the share in the training set; measure "
                                          "the guess on the test set.",
        0.1: "0.1 is a uniform random guess; always guess the most common training digit.",
    })


@exercise("01.3", "your scale() gives float32 values in [0, 1], as the model expects.")
def _scale_function(answer):
    images = probe_images()
    out = np.asarray(answer(images))
    if out.dtype != np.float32:
        return f"the result is {out.dtype}; convert to float32 (half the memory of float64)."
    return same_array(out, images.astype(np.float32) / 255, "scale(x)")
