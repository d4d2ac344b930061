"""The checks of notebook 03's exercises (build and train)."""
from __future__ import annotations

import math

import numpy as np

from helpers.checking import answers, answer_near, exercise, same_array


@exercise("03.1", "the last, smaller batch is still a step.")
def _updates_per_epoch(answer, images, batch_size):
    return answer_near(answer, math.ceil(images / batch_size), rel=0, wrong={
        images // batch_size: "the last batch is smaller but still updates the weights: round up.",
    })


@exercise("03.2", "cross-entropy is the mean of -ln(probability of the right digit).")
def _cross_entropy(answer):
    import keras

    rng = np.random.default_rng(2)
    scores = rng.normal(size=(8, 10)) * 2
    probabilities = (np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)).astype(np.float32)
    labels = rng.integers(0, 10, size=8)
    labels[0] = int(np.argmin(probabilities[0]))        # at least one confident mistake
    expected = float(keras.losses.SparseCategoricalCrossentropy()(labels, probabilities))
    theirs = answer(probabilities, labels)
    if theirs is None:
        return "cross_entropy returned None: end your function with `return` and the loss."
    if np.ndim(theirs) == 1:
        return "that is one loss per image; return their mean, one number."
    right = probabilities[np.arange(8), labels]
    return answer_near(theirs, expected, rel=1e-4, wrong={
        expected / 10: "you averaged over the 10 classes too: the loss sums over the classes "
                       "(only the right one counts), then averages over the images.",
        float(np.mean(-np.log(probabilities[:, labels]))):
            "probabilities[:, labels] takes every image's probability of every label in the "
            "batch; pick one per image, probabilities[i, labels[i]].",
        float(np.mean(-np.log10(right))): "that is log base 10; Keras uses the natural logarithm.",
        float(np.sum(-np.log(right))): "that is the sum over the images; Keras averages them.",
        float(np.mean(np.log(right))): "the logarithm of a probability is negative: the loss is "
                                       "minus it.",
        float(np.mean(-np.log(probabilities.max(axis=1)))):
            "that uses the most probable digit; the loss takes the probability of the right one, "
            "probabilities[i, labels[i]].",
        float(np.mean(-np.log(probabilities))): "only the right digit's probability counts: "
                                                "pick probabilities[i, labels[i]] for each image.",
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


def _probe_batch(shape=(28, 28, 1), count=8):
    return np.random.default_rng(0).random((count, *shape), dtype=np.float32)


def _model_problem(model, spec: str) -> str | None:
    """What is wrong with a built model's interface: not a model, wrong input or output."""
    import keras

    if model is None:
        return "your function returned None: end it with `return` and the model."
    if not isinstance(model, keras.Model):
        return f"expected a Keras model, got {type(model).__name__}; {spec}"
    return None


@exercise("03.4", "your network has the specified layers, shapes and parameters.")
def _small_cnn(answer):
    import keras

    model = answer()
    problem = _model_problem(model, "build it with keras.Sequential or keras.Model.")
    if problem:
        return problem
    if tuple(model.input_shape[1:]) != (28, 28, 1):
        return f"it takes inputs shaped {model.input_shape[1:]}; start from keras.Input((28, 28, 1))."
    if tuple(model.output_shape[1:]) != (10,):
        return f"it gives {model.output_shape[1:]}; end with a Dense layer of 10 units."
    from helpers.blocks import leaf_layers

    layers = list(leaf_layers(model))
    convs = [l for l in layers if isinstance(l, keras.layers.Conv2D)]
    if [c.filters for c in convs] != [16, 32, 32]:
        return f"its convolutions have {[c.filters for c in convs]} filters; the spec asks for 16, 32, 32."
    if any(c.padding != "valid" for c in convs):
        return "a convolution pads its input ('same'); the spec's convolutions do not (the default)."
    if not any(isinstance(l, keras.layers.MaxPooling2D) for l in layers):
        return "there is no MaxPooling2D: the spec pools after the first two convolutions."
    outputs = np.asarray(model(_probe_batch(), training=False))
    if not np.allclose(outputs.sum(axis=1), 1, atol=1e-4) or outputs.min() < 0:
        return "its outputs are not probabilities: the last layer needs activation=\"softmax\"."
    if model.count_params() != 33_194:
        return (f"it has {model.count_params():,} parameters; the spec gives 33,194 (check the "
                "Dense layer of 64 after Flatten).")
    return None


@exercise("03.5", "compile and fit: an optimizer, a loss for integer labels, validation data.")
def _train_briefly(answer):
    import keras

    rng = np.random.default_rng(0)
    x = rng.random((128, 28, 28, 1), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(np.int64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    try:
        history = answer(model, x[:96], y[:96], x[96:], y[96:])
    except ValueError as exc:
        if "categorical" in str(exc) or "shape" in str(exc).lower():
            return ("Keras refused the labels: they are integers (0-9), so the loss is "
                    "\"sparse_categorical_crossentropy\".")
        raise
    if history is None or not hasattr(history, "history"):
        return "return what model.fit returns (its History), to read the curves."
    if "val_loss" not in history.history:
        return "there is no val_loss in the history: pass validation_data=(x_val, y_val) to fit."
    if not any(k.endswith(("accuracy", "acc")) for k in history.history if not k.startswith("val_")):
        return "the history has no accuracy: compile with metrics=[\"accuracy\"]."
    if len(history.history["loss"]) != 2:
        return f"it trained {len(history.history['loss'])} epochs; the exercise asks for 2."
    if not history.history["loss"][-1] < history.history["loss"][0]:
        return "the training loss did not fall: check the optimizer and its learning rate."
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "03.4": """\
def small_cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])""",
    "03.5": """\
def train_briefly(model, x, y, x_val, y_val):
    model.compile(optimizer=keras.optimizers.Adam(0.001),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, batch_size=32, epochs=2, validation_data=(x_val, y_val), verbose=0)""",
    "03.1": """\
updates_per_epoch = int(np.ceil(len(x_fit) / 128))   # the last, smaller batch counts too""",
    "03.2": """\
def cross_entropy(probabilities, labels):
    right = probabilities[np.arange(len(labels)), labels]
    return np.mean(-np.log(right))""",
    "03.3": '''\
def cosine_learning_rate(step, total_steps, initial=1e-3):
    """The cosine-decay learning rate at a step."""
    return initial * 0.5 * (1 + np.cos(np.pi * min(step, total_steps) / total_steps))''',
    "03.6": """\
The training loss keeps falling and training accuracy approaches 100%, while the
validation loss stops improving after a few epochs and starts to creep up: the growing
gap between the curves is overfitting beginning. Validation accuracy moves much less,
which is why the validation *loss* is the more sensitive signal. Compare with your curves.""",
    "03.7": """\
```python
sgd_model = keras.models.clone_model(model)
sgd_model.set_weights(initial_weights)
sgd_model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
sgd_model.fit(x_fit, y_fit, batch_size=BATCH_SIZE, epochs=5, validation_data=(x_val, y_val),
              verbose=0, callbacks=[training.EpochLog(5)])
```
Compare the epochs' validation accuracy with Adam's above: plain SGD at 0.01 learns more
slowly. Adding momentum (`SGD(0.01, momentum=0.9)`) closes much of the gap; momentum is one
of the two ideas Adam is built on.""",
    "03.8": """\
```python
for size in (1000, 5000, 20000):
    xs, ys = mnist.subset(x_fit, y_fit, size)
    m = keras.models.clone_model(model)
    m.set_weights(initial_weights)
    m.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(xs, ys, batch_size=BATCH_SIZE, epochs=5, validation_data=(x_val, y_val), verbose=0)
    print(size, h.history["val_accuracy"][-1])
```
Read your numbers: accuracy climbs with every increase, with diminishing returns, as each
step removes a part of the remaining errors. Notebook 05 measures this curve, and shows
how data augmentation buys more of it for free.""",
}

HINTS = {
    "03.1": 'One update per batch, and the last, smaller batch counts too: round up.',
    "03.2": "For image i you need one number, probabilities[i, labels[i]]: a loop over the images works, and so does indexing with two arrays at once, one of rows and one of columns. Then average minus its natural logarithm over the images.",
    "03.3": 'np.cos runs from 1 to -1 as its angle goes from 0 to pi: map the step onto that angle, then shift and scale the result to run from 1 to 0, times the initial rate.',
    "03.4": "Start from the article's network above and change the filters to 16, 32 and 32; keep the default padding, and the softmax at the end.",
    "03.5": '`model.compile(optimizer=..., loss=..., metrics=[...])`, then `return model.fit(..., validation_data=(x_val, y_val))`; integer labels take "sparse_categorical_crossentropy".',
}

answers(SOLUTIONS, HINTS)
