"""The checks of notebook 08's exercises (your own digits)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answers, answer_near, exercise, same_array


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


@exercise("08.4", "the bounding box runs from the first to the last inked row and column.")
def _crop(answer):
    ink = np.zeros((12, 10), np.float32)
    ink[3:8, 2:6] = 0.9
    ink[0, 9] = 0.2                      # paper noise, below 0.3
    cropped = answer(ink.copy())
    if cropped is None:
        return "crop_to_ink returned None: end it with `return` and the cropped image."
    cropped = np.asarray(cropped)
    if cropped.dtype == bool:
        return "it returns the mask: return the image's values inside the box."
    if cropped.shape == (4, 3):
        return ("it cuts off the last inked row and column: a slice ends before its stop, "
                "so stop at the last index + 1.")
    if cropped.shape == (8, 8):
        return "it keeps the paper noise at 0.2: count as ink only the pixels above 0.3."
    if cropped.shape == (4, 5):
        return "rows and columns are swapped: .any(axis=1) says which rows hold ink."
    if cropped.shape == ink.shape:
        return "it returns the whole image: keep only the rows and columns with ink above 0.3."
    problem = same_array(cropped, ink[3:8, 2:6], "crop_to_ink(ink)")
    if problem:
        return problem
    ink[8, 6] = 0.4                      # a faint stroke's end: still ink
    if np.asarray(answer(ink.copy())).shape != (6, 5):
        return "a faint pixel at 0.4 is left out: everything above 0.3 is ink."
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "08.1": """\
box_scale = 20 / max(200, 100)""",
    "08.2": """\
from helpers import exercises

ink = exercises.example_ink()
rows, cols = np.indices(ink.shape)
centre_of_mass = ((rows * ink).sum() / ink.sum(), (cols * ink).sum() / ink.sum())""",
    "08.3": '''\
def invert(x):
    """Dark-on-light values in [0, 1] to light-on-dark."""
    return 1 - x''',
    "08.4": '''\
def crop_to_ink(ink):
    """The bounding box of the pixels above 0.3."""
    rows = np.flatnonzero((ink > 0.3).any(axis=1))   # rows with ink
    cols = np.flatnonzero((ink > 0.3).any(axis=0))   # columns with ink
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]''',
    "08.5": """\
```python
def uncentred(sample):
    scaled = preprocessing.to_mnist_steps(sample.data)["scaled"]
    out = np.zeros((28, 28, 1), np.float32)
    out[:scaled.shape[0], :scaled.shape[1], 0] = scaled
    return out

x = np.stack([uncentred(s) for s in test_images])
print(np.mean(model.predict(x, verbose=0).argmax(1) == labels))
```
Compare with the preprocessed column of the table. Convolutions find strokes anywhere,
but the layers at the end learned *where* MNIST's strokes usually are, so expect a
clear loss.""",
    "08.6": """\
Use the table: the kind with the lowest accuracy after preprocessing. Printed digits
differ in shape from handwriting (serifs on 1, a closed top on 4, the flat top of some
7s); photographed ones sometimes lose faint strokes to the noise threshold. Showing the
steps of a misread image usually tells which.""",
    "08.7": """\
```python
import tensorflow as tf
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
small = converter.convert()
small_lite = export.TFLiteClassifier(small)
agree = np.mean([small_lite(x).argmax() == p for x, p in zip(prepared, predicted)])
print(len(small) / len(tflite_bytes), agree)
```
Expect close to four times smaller (8-bit instead of 32-bit weights); the second number
is the share of images on which both models give the same answer.""",
    "08.8": """\
```python
from helpers import blocks

mine = own_digits.read_examples(MY_DIGITS)
x = np.stack([preprocessing.to_mnist(e.file) for e in mine])
y = np.array([e.label for e in mine])
order = np.random.default_rng(0).permutation(len(y))
train, held_out = order[: len(y) // 2], order[len(y) // 2 :]

tuned = keras.models.clone_model(model)
tuned.set_weights(model.get_weights())
for layer in blocks.leaf_layers(tuned):   # keep MNIST's batch statistics (notebook 06)
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
tuned.compile(optimizer=keras.optimizers.Adam(1e-4),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
before = tuned.evaluate(x[held_out], y[held_out], verbose=0)[1]
tuned.fit(x[train], y[train], epochs=5, batch_size=8, verbose=0)
after = tuned.evaluate(x[held_out], y[held_out], verbose=0)[1]
print(f"on the digits it did not train on: {before:.1%} before, {after:.1%} after")
```
A handful of examples can teach the model your 1s or 7s, but with so few it can also learn
them by heart: only digits it never saw tell which. With 10-20 held-out digits each one is
5-10 points, so one run says little; repeat with another split (another seed) before you
trust a difference. A low learning rate keeps what MNIST taught it; so does freezing batch
normalisation (if the model has it), whose running statistics a handful of digits would
otherwise replace within a few steps.""",
}

HINTS = {
    "08.1": 'The longer side, 200 pixels, must become 20.',
    "08.2": "`np.indices(ink.shape)` gives each pixel's row and column; weight them by the ink and divide by the total ink.",
    "08.3": 'In [0, 1], white paper is 1 and dark ink near 0; MNIST wants the ink near 1.',
    "08.4": 'First find which rows hold a pixel above 0.3 (`.any(axis=...)` on `ink > 0.3`) and their indices (`np.flatnonzero`); the same for the columns; then slice.',
}

answers(SOLUTIONS, HINTS)
