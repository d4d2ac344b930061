"""The checks of notebook 02's exercises (building blocks)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answer_pair, answers, exercise, same_array


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


@exercise("02.2", "only the first layer's parameters change, and each layer's view widens with it.")
def _model_5x5(answer):
    return answer_pair(answer, (93_834, 20), ("the parameters", "the receptive field"), (
        {93_802: "each of the 32 filters also has a bias.",
         93_322: "that is the 3x3 model; the first layer's kernels grow to 5x5."},
        {18: "that is the 3x3 model's receptive field; the first kernel is now 5x5.",
         11: "a layer after pooling steps 2 (then 4) input pixels per output pixel: multiply "
             "its k - 1 by the jump."}))


def strongest_response(kernel, image) -> float:
    """The largest value of a 3x3 kernel's valid cross-correlation with a 2-D image."""
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return float(np.einsum("hwij,ij->hw", windows, kernel).max())


def strokes(size: int = 9) -> dict[str, np.ndarray]:
    """One-pixel strokes in four directions across a size x size image, and a filled one."""
    eye = np.eye(size, dtype=np.float32)
    middle = np.zeros((size, size), np.float32)
    middle[size // 2] = 1
    return {"bottom-left to top-right": eye[::-1], "top-left to bottom-right": eye,
            "horizontal": middle, "vertical": middle.T,
            "a filled area": np.ones((size, size), np.float32)}


@exercise("02.3", "your filter answers the rising stroke more than any other.")
def _diagonal_filter(answer):
    kernel = np.asarray(answer, dtype=np.float32)
    if kernel.shape == (3, 3, 1, 1):       # the shape conv2d takes
        kernel = kernel[:, :, 0, 0]
    if kernel.shape != (3, 3):
        return f"give a 3x3 array (or 3x3x1x1, as conv2d takes); yours is {kernel.shape}."
    responses = {name: strongest_response(kernel, image) for name, image in strokes().items()}
    wanted = responses.pop("bottom-left to top-right")
    rival = max(responses, key=responses.get)
    if wanted <= 0:
        return "it gives the rising stroke nothing (its strongest response is not positive)."
    if responses[rival] >= 0.8 * wanted:
        advice = {"top-left to bottom-right": " Rows count down: the bottom-left pixel is row 2, "
                                              "column 0.",
                  "a filled area": " Give the pixels beside the stroke negative weights, so "
                                   "that a filled area cancels out."}.get(rival, "")
        return (f"it answers {rival} with {responses[rival]:.2g}, against {wanted:.2g} for the "
                f"rising stroke: the rising one should stand out.{advice}")
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "02.1": '''\
def average_pool(x, size=2):
    """Mean of each size x size block of x (H, W, C); an odd last row or column is dropped."""
    h, w, c = x.shape
    h, w = h // size * size, w // size * size
    return x[:h, :w].reshape(h // size, size, w // size, size, c).mean(axis=(1, 3))''',
    "02.2": """\
# 28 -> conv 5x5: 24 -> pool: 12 -> conv: 10 -> pool: 5 -> conv: 3, so the flattened size
# stays 3*3*64 = 576; only the first layer changes, from (9*1 + 1)*32 to (25*1 + 1)*32.
parameters_5x5 = total_params - (3 * 3 * 1 + 1) * 32 + (5 * 5 * 1 + 1) * 32
field_5x5 = receptive_fields([("conv 5x5", 5, 1)] + article_geometry[1:])[-1][1]""",
    "02.3": """\
diagonal = np.array([[-1, -1, 2],
                     [-1, 2, -1],
                     [2, -1, -1]], np.float32)   # rows count down: the 2s rise to the right""",
    "02.4": """\
```python
dropped = keras.layers.Dropout(0.75, seed=0)
ones = keras.ops.convert_to_numpy(dropped(np.ones((1, 100_000), np.float32), training=True))
print(f"{np.mean(ones == 0):.1%} set to zero, the others {ones.max():.1f}, mean {ones.mean():.3f}")
```
The kept values are multiplied by 1 / (1 - 0.75) = 4: a quarter of them survive, so each
must count four times for the layer's average output to stay 1. The run shows about 75%
zeros, the others 4.0, and a mean close to 1. At prediction time the layer passes the
values through unchanged, so the next layer sees the same average in training and at
prediction.""",
    "02.5": """\
```python
diagonal = np.array([[-1, -1, 2], [-1, 2, -1], [2, -1, -1]], np.float32)  # exercise 3's answer
kernel = diagonal.reshape(3, 3, 1, 1)   # the shape conv2d takes
images, labels = mnist.to_model_input(x_train[:1000]), y_train[:1000]
total = np.array([relu(conv2d(im, kernel)).sum() for im in images])
per_ink = total / images.sum(axis=(1, 2, 3))
for d in np.argsort([-total[labels == d].mean() for d in range(10)]):
    print(f"{d}: total {total[labels == d].mean():6.1f}, per unit of ink {per_ink[labels == d].mean():.2f}")
```
Measured on the first 1,000 training digits (full MNIST and the offline sample alike):
the totals mostly follow how much ink a digit has, with 0, 8 and 6 on top and 7 and 1 at
the bottom, although the bar of a 7 is the clearest rising stroke among them. Per unit of
ink the digits differ by only about a fifth (about 0.9 to 1.1), and their order changes
from one set of digits to another. One hand-made filter tells digits apart poorly: that is why
a CNN learns dozens of filters and combines their maps in the layers after them.""",
}

HINTS = {
    "02.1": 'Crop to a multiple of `size`, then reshape (H, W, C) to (H/size, size, W/size, size, C) and take the mean over axes 1 and 3.',
    "02.2": "Only the first layer's parameters change: (kernel height x width x input channels + 1) x filters; does the flattened size change too? For the receptive field, change the first entry of `article_geometry` and pass the list to `receptive_fields`.",
    "02.3": "A filter answers most where the image under it looks like the filter. Which of the nine pixels does a rising stroke cross (rows count down)? And if the weights add up to about zero, what does a filled area give?",
}

answers(SOLUTIONS, HINTS)
