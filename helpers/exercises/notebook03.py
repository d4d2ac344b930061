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


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "03.1": """\
updates_per_epoch = int(np.ceil(len(x_fit) / 128))   # the last, smaller batch counts too""",
    "03.2": """\
loss_at_quarter = -np.log(0.25)""",
    "03.3": '''\
def cosine_learning_rate(step, total_steps, initial=1e-3):
    """The cosine-decay learning rate at a step."""
    return initial * 0.5 * (1 + np.cos(np.pi * min(step, total_steps) / total_steps))''',
    "03.4": """\
The training loss keeps falling and training accuracy approaches 100%, while the
validation loss stops improving after a few epochs and starts to creep up: the growing
gap between the curves is overfitting beginning. Validation accuracy moves much less,
which is why the validation *loss* is the more sensitive signal. Compare with your curves.""",
    "03.5": """\
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
    "03.6": """\
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
    "03.2": "The loss is minus the natural logarithm of the right digit's probability: `-np.log(p)`.",
    "03.3": 'Half a cosine wave from 1 to 0: `0.5 * (1 + cos(pi * step / total_steps))`, times the initial rate.',
}

answers(SOLUTIONS, HINTS)
