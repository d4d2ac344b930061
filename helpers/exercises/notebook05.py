"""The checks of notebook 05's exercises (data augmentation)."""
from __future__ import annotations

from helpers.checking import answer_near, exercise


@exercise("05.1", "Keras' RandomRotation takes a fraction of a full turn.")
def _rotation_factor(answer):
    return answer_near(answer, 10 / 360, wrong={
        10: "RandomRotation's factor is a fraction of a full circle (360°), not degrees.",
        0.1: "that is 36°; the factor is a fraction of a full circle.",
    })


@exercise("05.2", "a translation factor is a fraction of the image's height or width.")
def _shift_pixels(answer):
    return answer_near(answer, 2.8, wrong={0.1: "the factor is a fraction of 28 pixels: convert it."})


@exercise("05.3", "'errors removed' compares error rates, not accuracies.")
def _errors_removed(answer):
    return answer_near(answer, 0.5, wrong={
        0.05: "that is the gain in accuracy; the errors went from 10% to 5%.",
        0.0526: "that is the gain relative to the accuracy; compare the error rates.",
    })
