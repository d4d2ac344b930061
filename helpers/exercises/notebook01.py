"""The checks of notebook 01's exercises (data)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answers, answer_near, exercise, probe_images, same_array


@exercise("01.1", "scaled images take four bytes per pixel, float32.")
def _float32_bytes(answer, x_train):
    return answer_near(answer, x_train.size * 4, rel=0, wrong={
        x_train.nbytes: "that is the uint8 size; float32 takes 4 bytes per pixel.",
        x_train.size * 8: "that is float64; the course scales to float32 (4 bytes).",
    })


@exercise("01.2", "the majority-class baseline is what any classifier must beat.")
def _majority_baseline(answer, y_fit, y_val):
    guess = np.bincount(y_fit, minlength=10).argmax()
    return answer_near(answer, float(np.mean(y_val == guess)), rel=1e-6, wrong={
        float(np.mean(y_fit == guess)): "that is the share in the training set; measure "
                                        "the guess on the validation set.",
        0.1: "0.1 is a uniform random guess; always guess the most common training digit.",
    })


@exercise("01.3", "your scale() gives float32 values in [0, 1], as the model expects.")
def _scale_function(answer):
    images = probe_images()
    out = np.asarray(answer(images))
    if out.dtype != np.float32:
        return f"the result is {out.dtype}; convert to float32 (half the memory of float64)."
    return same_array(out, images.astype(np.float32) / 255, "scale(x)")


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "01.1": """\
float32_bytes = x_train.size * 4""",
    "01.2": """\
most_common = np.bincount(y_fit, minlength=10).argmax()
majority_accuracy = np.mean(y_val == most_common)""",
    "01.3": '''\
def scale(x):
    """uint8 images to float32 values in [0, 1]."""
    return x.astype(np.float32) / 255''',
    "01.4": """\
```python
d = ((flat_templates[:, None] - flat_templates[None]) ** 2).sum(-1)
d[np.diag_indices(10)] = np.inf
a, b = np.unravel_index(d.argmin(), d.shape)
print(a, b)   # usually 7 and 9 (or 4 and 9): similar strokes in similar places
```""",
    "01.5": """\
```python
ink = [x_train[y_train == d].mean() for d in range(10)]
plt.bar(range(10), ink); plt.xlabel("digit"); plt.ylabel("mean pixel value")
# 0 and 8 use the most ink, 1 by far the least.
```""",
    "01.6": """\
```python
shifted = np.roll(x_val, 1, axis=2).reshape(len(x_val), -1).astype(np.float32)
dist = ((shifted[:, None] - flat_templates[None]) ** 2).sum(-1)
print(np.mean(dist.argmin(1) == y_val))   # several points lower
```
A one-pixel shift changes nothing for a person, but a lot for a pixel-by-pixel
comparison. Convolutions look for the same pattern at every position, and pooling
tolerates shifts within its window: the two ideas of the next notebook.""",
}

HINTS = {
    "01.1": '`x_train.size` is the number of pixels; a float32 takes 4 bytes.',
    "01.2": '`np.bincount(y_fit)` counts each digit; `.argmax()` is the most common. Then compare it with every validation label.',
    "01.3": 'Convert with `.astype(np.float32)` first, then divide by 255 (dividing first gives float64).',
}

answers(SOLUTIONS, HINTS)
