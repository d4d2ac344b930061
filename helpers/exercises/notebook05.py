"""The checks of notebook 05's exercises (data augmentation)."""
from __future__ import annotations

import numpy as np

from helpers.checking import augments_in_training_only, answers, answer_near, exercise


@exercise("05.1", "'errors removed' compares error rates, not accuracies.")
def _errors_removed(answer):
    return answer_near(answer, 0.5, wrong={
        50: "give it as a fraction (0.5), not a percentage.",
        0.05: "that is the gain in accuracy; the errors went from 10% to 5%.",
        0.0526: "that is the gain relative to the accuracy; compare the error rates.",
    })


def _digits(count=16):
    images = np.zeros((count, 28, 28, 1), np.float32)
    images[:, 6:22, 12:16] = 1.0      # an upright bar: a 1
    return images


@exercise("05.2", "small rotations, shifts and zooms: new digits that are still digits.")
def _digit_augmentation(answer):
    import keras

    augment = answer()
    if not isinstance(augment, keras.layers.Layer):
        return "return a Keras layer (a keras.Sequential of random layers), not a function or list."
    from helpers.blocks import leaf_layers

    leaves = list(leaf_layers(augment)) if isinstance(augment, keras.Sequential) else [augment]
    if any(isinstance(l, keras.layers.RandomFlip) for l in leaves):
        return "no flips: a mirrored 2, 3 or 7 is not a digit (and a flipped 6 is a 9 upside down)."
    for layer in leaves:
        if isinstance(layer, keras.layers.RandomRotation):
            if max(abs(f) for f in np.ravel(layer.factor)) > 10.1 / 360:  # 0.0278 is fine
                return "rotations beyond 10° turn some digits into others; the factor is a fraction of a turn."
        for name in ("height_factor", "width_factor"):
            factor = getattr(layer, name, None)
            if factor is not None and max(abs(f) for f in np.ravel(factor)) > 0.101:
                return f"{type(layer).__name__} goes beyond 10%: keep the digit in the picture."
    kinds = {type(l).__name__ for l in leaves}
    missing = {"RandomRotation", "RandomTranslation", "RandomZoom"} - kinds
    if missing:
        return f"the pipeline lacks {', '.join(sorted(missing))}."
    return augments_in_training_only(augment, _digits(), "images")


@exercise("05.3", "a tf.data pipeline that shuffles each epoch, batches and prefetches.")
def _training_pipeline(answer):
    import tensorflow as tf

    x = np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1) * np.ones((1, 28, 28, 1), np.float32)
    y = np.arange(100) % 10
    data = answer(x, y, 32)
    if not isinstance(data, tf.data.Dataset):
        return f"return a tf.data.Dataset, not {type(data).__name__}."
    if data.cardinality() == tf.data.INFINITE_CARDINALITY:
        return "no .repeat(): fit goes over the dataset once per epoch, and repeats it itself."
    batches = [(np.asarray(a), np.asarray(b)) for a, b in data]
    if batches[0][0].ndim != 4:
        return "its elements are single images: add .batch(batch_size)."
    if batches[0][0].shape[0] != 32:
        return f"its first batch holds {batches[0][0].shape[0]} images; batch_size asks for 32."
    firsts = np.concatenate([a[:, 0, 0, 0] for a, _ in batches])
    if sorted(firsts.tolist()) != list(range(100)):
        return "one pass over it does not give every image exactly once."
    if not all(np.array_equal(b, a[:, 0, 0, 0].astype(int) % 10) for a, b in batches):
        return "images and labels no longer match: shuffle them together, in one dataset."
    again = np.concatenate([np.asarray(a)[:, 0, 0, 0] for a, _ in data])
    if np.array_equal(firsts, np.arange(100)) or np.array_equal(firsts, again):
        return "the order is the same every epoch: add .shuffle(len(x)) before .batch."
    if "Prefetch" not in type(data).__name__:
        return "end with .prefetch(tf.data.AUTOTUNE), so the next batch is ready while one trains."
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "05.2": """\
def my_augmentation():
    return keras.Sequential([
        keras.layers.RandomRotation(10 / 360, fill_mode="constant"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        keras.layers.RandomZoom(0.1, fill_mode="constant"),
    ])""",
    "05.3": """\
import tensorflow as tf


def training_pipeline(x, y, batch_size):
    return (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x))
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE))""",
    "05.1": """\
errors_removed = 1 - (1 - 0.95) / (1 - 0.90)""",
    "05.4": """\
```python
def with_flips():
    return keras.Sequential([blocks.digit_augmentation(), keras.layers.RandomFlip("horizontal")])

xs, ys = mnist.subset(x_fit, y_fit, 2000)
recipe = dataclasses.replace(experiment_recipe(2000, True), augment=with_flips)
run = training.train(recipe, (xs, ys), verbose=False)
print(run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Expect the accuracy to fall below the run without flips: half of the training digits are
now mirror images that never occur in the test set, and some of them look like other
digits. Compare your number with the table above.""",
    "05.5": """\
```python
strong = lambda: blocks.digit_augmentation(rotation_degrees=30, shift=0.2, zoom=0.2)
```
Use it as the recipe's `augment`, and compare with the table. Expect stronger augmentation
to help less as the data grows, and possibly to hurt with all of it: the transformed digits
look less like real ones (a 6 rotated by 30° starts to resemble other digits). Your numbers
decide.""",
    "05.6": """\
```python
only = {
    "rotation": lambda: keras.layers.RandomRotation(10 / 360, fill_mode="constant"),
    "translation": lambda: keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
    "zoom": lambda: keras.layers.RandomZoom(0.1, fill_mode="constant"),
}
xs, ys = mnist.subset(x_fit, y_fit, 2000)
for name, layer in only.items():
    recipe = dataclasses.replace(experiment_recipe(2000, True), augment=layer)
    run = training.train(recipe, (xs, ys), verbose=False)
    print(name, run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Compare the three numbers with the "without" and "with" columns at 2,000 images. A
network without pooling (like `strided_cnn`) has little built-in tolerance to shifts, so
translation is the first one to suspect; your measurements decide.""",
    "05.7": """\
```python
for augment_on in (False, True):
    keras.utils.set_random_seed(0)
    recipe = dataclasses.replace(experiment_recipe(None, augment_on), epochs=10)
    run = training.train(recipe, (x_fit, y_fit), verbose=False)
    print(augment_on, run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Compare the gap with the three-epoch gap in the table: your measurement answers the
question for this network.""",
}

HINTS = {
    "05.1": 'Errors are 1 - accuracy: compare the errors after with the errors before.',
    "05.2": '`keras.layers.RandomRotation` takes a fraction of a full turn (10 / 360); `RandomTranslation` and `RandomZoom` take fractions of the image (0.1). No `RandomFlip`.',
    "05.3": 'Each method returns a new dataset, so chain them; shuffle single images before you batch them (a buffer as large as the data shuffles it all), and prefetch last.',
}

answers(SOLUTIONS, HINTS)
