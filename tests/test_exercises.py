"""Checked exercises: every check accepts the right answer and refuses a typical wrong one
with advice; the notebooks hold no solutions, and every worked answer is offered and runs.

The notebooks run their own solutions through these checks (tests/test_notebooks.py asserts
each one recorded "right")."""
from __future__ import annotations

import math

import nbformat
import numpy as np
import pytest

from helpers import exercises
from helpers.commands import solutions
from helpers.commands.cli import main
from helpers.exercises import EXERCISES, HINTS, SOLUTIONS, verdict
from helpers.paths import NOTEBOOK_DIR

_y_train = np.array([1, 1, 1, 7, 2, 3])
_y_test = np.array([1, 7, 7, 2])
_x_train = np.zeros((6, 28, 28), np.uint8)


def _pool(x, size, reduce):
    h, w, c = x.shape
    h, w = h // size * size, w // size * size
    return reduce(x[:h, :w].reshape(h // size, size, w // size, size, c), axis=(1, 3))


def _model():
    from helpers.transfer import conv_base

    return conv_base()


# key: (context, right answer, typical wrong answer)
CASES = {
    "01.1": ({"x_train": _x_train}, _x_train.size * 4, _x_train.nbytes),
    "01.2": ({"y_fit": _y_train, "y_val": _y_test}, 0.25, 0.5),
    "01.3": ({}, lambda x: x.astype(np.float32) / 255, lambda x: x / 255),
    "02.1": ({}, lambda x, size=2: _pool(x, size, np.mean), lambda x, size=2: _pool(x, size, np.max)),
    "02.2": ({}, (93_834, 20), (93_802, 20)),
    "02.3": ({}, np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]]) * 3 - 1, np.eye(3) * 3 - 1),
    "03.1": ({"images": 54_000, "batch_size": 32}, 1688, 1687),
    "03.3": ({}, lambda step, total: 1e-3 * 0.5 * (1 + math.cos(math.pi * step / total)),
             lambda step, total: 1e-3 * 0.5 * (1 + math.cos(math.pi * step / 1000))),  # fixed total
    "04.3": ({}, (None, 5, 5, 64), (11, 11, 64)),
    "05.1": ({}, 0.5, 0.05),
    "06.1": ({}, 1290, 1280),
    "06.2": ({"model": None}, None, None),  # filled in by the test: needs a real model
    "07.1": ({}, 3_360, 27_648),
    "08.1": ({}, 0.1, 0.2),
    "08.2": ({}, None, None),  # filled in by the test: computed from the example image
    "08.3": ({}, lambda x: 1 - x, lambda x: 255 - x),
    "09.1": ({}, (128, 0.002), (128, 0.004)),
    # code a learner writes: a correct variant unlike the worked answer, and a typical mistake
    "03.2": ({}, lambda p, y: _cross_entropy(p, y), lambda p, y: _cross_entropy(p, y, log=np.log10)),
    "03.4": ({}, lambda: _functional_small_cnn(), lambda: _small_cnn(softmax=False)),
    "03.5": ({}, lambda *a: _train_briefly(*a), lambda *a: _train_briefly(*a, validate=False)),
    "05.2": ({}, lambda: _augmentation(), lambda: _augmentation(flip=True)),
    "05.3": ({}, lambda *a: _pipeline(*a), lambda *a: _pipeline(*a, shuffle=False)),
    "07.2": ({}, lambda batch_size: _adam(batch_size), lambda batch_size: _adam(batch_size, linear=True)),
    "07.3": ({}, lambda x, f: _residual(x, f), lambda x, f: _residual(x, f, skip=False)),
    "07.4": ({}, lambda x: _gap_head(x), lambda x: _gap_head(x, flatten=True)),
    "04.1": ({}, lambda m: _precision(m), lambda m: _precision(m, axis=1)),
    "04.2": ({}, lambda s, k: _probability_gradient(s, k), lambda s, k: _probability_gradient(s, k, log=True)),
    "04.4": ({}, lambda model, layer: _layer_model(model, layer),
             lambda model, layer: _layer_model(model, layer, end=model.outputs[0])),
    "04.5": ({}, lambda maps, grads: _grad_cam(maps, grads), lambda maps, grads: _grad_cam(maps, grads, relu=False)),
    "06.3": ({}, lambda base, n: _new_head(base, n), lambda base, n: _new_head(base, n, freeze=False)),
    "06.4": ({}, lambda base, k: _unfreeze(base, k), lambda base, k: _unfreeze(base, k, keep_norms=False)),
    "08.4": ({}, lambda ink: _crop(ink), lambda ink: _crop(ink, end=0)),
    "09.2": ({}, lambda y, p, n: _replica_loss(y, p, n), lambda y, p, n: _replica_loss(y, p, n, own=True)),
    "10.1": ({}, lambda: _photo_augmentation(), lambda: _photo_augmentation(mode="horizontal_and_vertical")),
    "10.2": ({}, lambda path: _callbacks(path), lambda path: _callbacks(path, restore=False)),
    "10.3": ({}, 324, 144),
    "09.3": ({}, lambda: _mixed(), lambda: _mixed(last="mixed_bfloat16")),
    "09.4": ({"strategy": None}, None, None),  # filled in by the test: needs a strategy
}


def _precision(matrix, axis=0):
    return [matrix[c, c] / matrix.sum(axis=axis)[c] for c in range(len(matrix))]


def _probability_gradient(scores, k, log=False):
    import keras
    import tensorflow as tf

    scores = tf.Variable(scores)                 # a variable is watched without being told
    with tf.GradientTape() as tape:
        probabilities = keras.ops.softmax(scores)
        value = tf.math.log(probabilities[k]) if log else probabilities[k]
    return tape.gradient(value, scores).numpy()[k]


def _cross_entropy(probabilities, labels, log=np.log):
    one_hot = np.eye(probabilities.shape[1])[labels]
    return -(one_hot * log(probabilities)).sum(axis=1).mean()


def _replica_loss(labels, probabilities, global_batch_size, own=False):
    one_hot = np.eye(10)[labels]
    losses = -(one_hot * np.log(probabilities)).sum(axis=1)
    return losses.sum() / (len(labels) if own else global_batch_size)


def _photo_augmentation(mode="horizontal"):
    import keras

    return keras.Sequential([keras.layers.RandomContrast(0.15), keras.layers.RandomFlip(mode),
                             keras.layers.RandomRotation(0.02, fill_mode="reflect")])


def _callbacks(path, restore=True):
    import keras

    return (keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=5,
                                          restore_best_weights=restore))


def _adam(batch_size, linear=False):
    import keras

    ratio = batch_size / 32
    return keras.optimizers.Adam(1e-3 * (ratio if linear else math.sqrt(batch_size) / math.sqrt(32)))


def _layer_model(model, layer, end=None):
    import keras

    inputs = keras.Input(model.inputs[0].shape[1:])
    x = inputs
    for each in model.layers:          # the same layers, called again on a new input
        x = each(x)
        if each is layer:
            break
    return keras.Model(inputs, x if end is None else model(inputs))


def _grad_cam(maps, gradients, relu=True):
    import tensorflow as tf

    weights = tf.reduce_mean(gradients, axis=[1, 2])[:, None, None, :]
    cam = tf.reduce_sum(weights * maps, axis=3)
    return (tf.nn.relu(cam) if relu else cam).numpy()


def _new_head(base, num_classes, freeze=True):
    import keras

    if freeze:
        for layer in base.layers:       # freezing every layer freezes the base too
            layer.trainable = False
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Dense(32, activation="relu")(base(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


def _unfreeze(base, k, keep_norms=True):
    import keras

    base.trainable = True
    for position, layer in enumerate(base.layers):
        norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = position >= len(base.layers) - k and not (norm and keep_norms)


def _crop(ink, end=1):
    rows, cols = np.nonzero(ink > 0.3)
    return ink[rows.min():rows.max() + end, cols.min():cols.max() + end]


def _mixed(last="float32"):
    import keras

    L = keras.layers
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(16, (3, 3)), L.ReLU(),
                                 L.Flatten(), L.Dense(10, activation="softmax", dtype=last)])
    finally:
        keras.config.set_dtype_policy("float32")


def _strategy():
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(["/cpu:0"])


def _compiled(strategy, in_scope=True):
    import contextlib

    import keras

    from helpers import architectures

    with strategy.scope() if in_scope else contextlib.nullcontext():
        model = architectures.article_cnn()
    with strategy.scope():
        model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy())
    return model


def _small_cnn(softmax=True):
    import keras

    L = keras.layers
    return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(16, 3, activation="relu"),
                             L.MaxPooling2D(), L.Conv2D(32, 3, activation="relu"),
                             L.MaxPooling2D(), L.Conv2D(32, 3, activation="relu"), L.Flatten(),
                             L.Dense(64, activation="relu"),
                             L.Dense(10, activation="softmax" if softmax else None)])


def _functional_small_cnn():
    import keras

    L = keras.layers
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for filters in (16, 32):
        x = L.MaxPooling2D((2, 2))(L.ReLU()(L.Conv2D(filters, (3, 3))(x)))
    x = L.Flatten()(L.Conv2D(32, 3, activation="relu")(x))
    return keras.Model(inputs, L.Softmax()(L.Dense(10)(L.Dense(64, activation="relu")(x))))


def _train_briefly(model, x, y, x_val, y_val, validate=True):
    import keras

    model.compile(keras.optimizers.Adam(learning_rate=1e-3),
                  keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model.fit(x, y, epochs=2, validation_data=(x_val, y_val) if validate else None,
                     verbose=0)


def _augmentation(flip=False):
    import keras

    L = keras.layers
    return keras.Sequential([L.RandomZoom(0.08), L.RandomRotation(0.02), L.RandomTranslation(0.1, 0.05)]
                            + ([L.RandomFlip("horizontal")] if flip else []))


def _pipeline(x, y, batch_size, shuffle=True):
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(10_000, seed=None)
    return data.batch(batch_size).prefetch(2)


def _residual(x, filters, skip=True):
    import keras

    L = keras.layers
    y = x
    for kernel, width in [(1, filters // 4), (3, filters // 4)]:
        y = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(width, kernel, padding="same")(y)))
    y = L.BatchNormalization()(L.Conv2D(filters, (1, 1))(y))
    return L.Activation("relu")(L.add([x, y]) if skip else y)


def _gap_head(x, flatten=False):
    import keras

    x = (keras.layers.Flatten() if flatten else keras.layers.GlobalAveragePooling2D())(x)
    return keras.layers.Dense(10, activation="softmax")(x)


# What each check says to the typical wrong answer above: the advice a learner reads.
ADVICE = {
    "01.1": "float32 takes 4 bytes per pixel", "01.2": "measure the guess on the validation set",
    "01.3": "convert to float32", "02.1": "differs by up to", "02.2": "also has a bias",
    "02.3": "Rows count down",
    "03.1": "round up", "03.2": "Keras uses the natural logarithm",
    "03.3": "cosine_learning_rate(step, 400) at steps 0-400 differs",
    "04.1": "that is recall", "04.2": "gradient of the log-probability", "04.3": "the pooling after it halves it",
    "05.1": "the errors went from 10% to 5%", "06.1": "also has a bias",
    "06.2": "moving mean and variance are weights too",
    "07.1": "an ordinary 3x3 convolution",
    "07.2": "that is the linear rule", "08.1": "the longer side decides",
    "08.2": "give (row, column)", "08.3": "differs by up to 254",
    "09.1": "that is the linear rule", "09.2": "divide by the global batch",
    "03.4": 'activation="softmax"', "03.5": "pass validation_data", "05.2": "no flips",
    "05.3": "the order is the same every epoch", "07.3": "outputs zeros",
    "07.4": "flattens the maps", "04.4": "end the model at layer.output",
    "04.5": "keep only the positive part", "06.3": "freeze it with base.trainable = False",
    "06.4": "a batch-norm layer trains", "08.4": "cuts off the last inked row and column",
    "09.3": "probabilities come out in bfloat16",
    "10.1": "flip left to right only", "10.2": "restore_best_weights=True",
    "10.3": "the 2x2-cell blocks step by one cell", "09.4": "made outside the strategy",
}


def _case(key):
    context, right, wrong = CASES[key]
    if key == "06.2":
        model = _model()
        statistics = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
        return {"model": model}, statistics, 0
    if key == "09.4":
        return {"strategy": _strategy()}, _compiled, lambda strategy: _compiled(strategy, False)
    if key == "08.2":
        ink = exercises.example_ink()
        rows, cols = np.indices(ink.shape)
        centre = ((rows * ink).sum() / ink.sum(), (cols * ink).sum() / ink.sum())
        return context, centre, centre[::-1]
    return context, right, wrong


def test_every_exercise_has_a_case_and_each_notebook_three():
    assert set(CASES) == set(EXERCISES) == set(ADVICE)
    for number in ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10"):
        assert sum(key.startswith(number + ".") for key in EXERCISES) >= 3, number


CODE = ["01.3", "02.1", "03.2", "03.3", "03.4", "03.5", "04.1", "04.2", "04.4", "04.5", "05.2", "05.3", "06.3", "06.4",
        "07.2", "07.3", "07.4", "08.3", "08.4", "09.2", "09.3", "09.4", "10.1", "10.2"]   # checked exercises that write code


def test_each_notebook_from_03_has_two_code_writing_exercises():
    # a checked exercise whose worked answer defines a function: the learner writes code
    writes_code = sorted(key for key, answer in SOLUTIONS.items()
                         if key in EXERCISES and "def " in answer)
    assert writes_code == CODE
    for number in ("03", "04", "05", "06", "07", "08", "09", "10"):
        assert sum(key.startswith(number + ".") for key in writes_code) >= 2, number


@pytest.mark.parametrize("key", CODE)
def test_every_worked_answer_of_code_passes_its_check(key):
    import keras
    import tensorflow as tf

    from helpers import architectures

    given = {"keras": keras, "tf": tf, "np": np, "architectures": architectures}
    namespace = dict(given)
    exec(SOLUTIONS[key], namespace)
    [name] = [n for n in namespace if n not in given and n != "__builtins__"]
    context = _case(key)[0]
    assert verdict(key, namespace[name], **context) is None


@pytest.mark.parametrize("key", sorted(CASES))
def test_check_accepts_the_right_answer_and_refuses_a_typical_wrong_one(key):
    context, right, wrong = _case(key)
    assert verdict(key, right, **context) is None
    problem = verdict(key, wrong, **context)
    assert isinstance(problem, str) and ADVICE[key] in problem, problem
    assert verdict(key, ..., **context).startswith("replace the `...`")


def test_check_prints_the_verdict_and_records_it(capsys):
    exercises.check("02.2", (93_802, 20))
    exercises.check("02.2", (93_834, 20))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✗ 02.2 not yet: the parameters: each of the 32 filters also has a bias")
    assert out[1].startswith("✓ 02.2 right")
    from helpers import report

    assert report.recorded()["metrics"]["exercise_02.2"] == 1.0


def test_a_failing_answer_is_a_verdict_not_a_traceback():
    def broken(x, size=2):
        raise IndexError("oops")

    assert verdict("02.1", broken) == "your answer raised IndexError: oops"
    assert "returned None: end your function with `return`" in verdict("08.3", lambda x: None)
    with pytest.raises(KeyError, match="no exercise '99.1'"):
        verdict("99.1", 1)


def test_the_notebooks_a_learner_opens_hold_no_solution():
    for path in sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            assert "BEGIN SOLUTION" not in cell.source and "<details>" not in cell.source, \
                path.name
            if cell.cell_type == "code" and 'check("' in cell.source:
                before_check = cell.source[:cell.source.index('check("')]
                assert "..." in before_check, f"{path.name}: an exercise cell with an answer"


def test_every_exercise_has_a_hint_and_every_solution_a_question():
    assert set(HINTS) == set(EXERCISES)
    assert set(EXERCISES) <= set(SOLUTIONS)
    text = "".join(path.read_text() for path in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    for key in SOLUTIONS:
        assert f'solution(\\"{key}\\")' in text, f"no cell offers solution({key!r})"


def test_solved_source_replaces_what_is_above_the_check():
    cell = 'from helpers import x\nanswer = ...   # your answer\ncheck("02.2", answer)\n# hint("02.2")'
    assert solutions.solved_source(cell) == SOLUTIONS["02.2"] + '\ncheck("02.2", answer)\n# hint("02.2")'
    assert solutions.solved_source("print(1)") == "print(1)"


def test_hint_and_solution_on_demand(capsys):
    exercises.hint("03.1")
    exercises.solution("03.1")
    exercises.solution("03.4")
    out = capsys.readouterr().out
    assert HINTS["03.1"] in out and SOLUTIONS["03.1"] in out and SOLUTIONS["03.4"] in out
    with pytest.raises(KeyError, match="no hint for '99.1'"):
        exercises.hint("99.1")


def test_solutions_copy_solves_every_exercise(tmp_path, capsys):
    assert main(["solutions-copy", "--out", str(tmp_path)]) == 0
    copies = sorted(tmp_path.glob("*.ipynb"))
    assert [p.name for p in copies] == sorted(p.name for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    solved = 0
    for path in copies:
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type == "code" and 'check("' in cell.source:
                compile(cell.source, path.name, "exec")  # valid Python
                key = cell.source.split('check("')[1][:4]
                assert cell.source.startswith(SOLUTIONS[key])
                solved += 1
    assert solved == len(EXERCISES)


def test_solutions_copy_refuses_the_notebooks_own_folder(capsys):
    assert main(["solutions-copy", "--out", str(NOTEBOOK_DIR)]) == 2
    assert "notebooks' own folder" in capsys.readouterr().err


def test_the_code_checks_know_more_mistakes_and_more_right_variants():
    import keras
    import tensorflow as tf

    L = keras.layers

    def repeated(x, y, batch_size):   # a common habit from tutorials: it would never end
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(100).batch(batch_size).repeat()

    assert "no .repeat()" in verdict("05.3", repeated)
    rotation = 0.0278   # 10 degrees as a fraction of a turn, rounded
    assert verdict("05.2", lambda: keras.Sequential([
        L.RandomRotation(rotation), L.RandomTranslation(0.1, 0.1), L.RandomZoom(0.1)])) is None
    assert "a fraction" in verdict("05.1", 50)

    def no_last_relu(x, filters):
        y = L.Conv2D(filters // 4, 1)(x)
        y = L.Conv2D(filters // 4, 3, padding="same")(L.ReLU()(L.BatchNormalization()(y)))
        y = L.Conv2D(filters, 1)(L.ReLU()(L.BatchNormalization()(y)))
        return L.Add()([x, L.BatchNormalization()(y)])

    assert "apply a ReLU after the addition" in verdict("07.3", no_last_relu)


def test_the_new_code_checks_name_the_usual_slips():
    import keras
    import tensorflow as tf

    def unwatched(scores, k):   # a constant the tape was not told to watch
        scores = tf.constant(scores)
        with tf.GradientTape() as tape:
            probability = tf.nn.softmax(scores)[k]
        return tape.gradient(probability, scores)[k]

    assert "tape.watch(scores)" in verdict("04.2", unwatched)
    assert "averaged over the 10 classes" in verdict(
        "03.2", lambda p, y: -(np.eye(10)[y] * np.log(p)).mean())
    assert "integer division" in verdict("04.1", lambda m: np.diag(m) // m.sum(axis=0))
    assert verdict("07.2", lambda b: keras.optimizers.Adam(1e-3 * (b // 32) ** 0.5)) is not None
    assert "one loss per image" in verdict(
        "09.2", lambda y, p, n: keras.losses.sparse_categorical_crossentropy(y, p))
