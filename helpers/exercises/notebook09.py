"""The checks of notebook 09's exercises (scaling up)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answer_pair, answers, exercise


@exercise("09.1", "4 GPUs at 32 each make batches of 128; for Adam the rate grows by √4 = 2.")
def _four_gpus(answer):
    return answer_pair(answer, (128, 0.002), ("the global batch", "the learning rate"), (
        {32: "each GPU keeps 32: the global batch is all of them together."},
        {0.001: "4x larger batches make 4x fewer steps: the rate must grow.",
         0.004: "that is the linear rule, which comes from SGD with a warm-up; for Adam "
                "multiply by the square root of the batch ratio."}))


@exercise("09.2", "each replica divides by the global batch, so their sum is the global mean.")
def _replica_loss(answer):
    import keras

    rng = np.random.default_rng(9)
    scores = rng.normal(size=(64, 10)).astype(np.float32)
    probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 10, size=64)
    per_image = keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(labels, probabilities))
    parts = []
    for share in (slice(0, 32), slice(32, 64)):          # two replicas, 32 images each
        part = answer(labels[share], probabilities[share], 64)
        if part is None:
            return "replica_loss returned None: end it with `return` and the loss."
        if np.size(part) != 1:
            return "that is one loss per image; return the replica's one number."
        parts.append(float(np.asarray(part).item()))
    mean = float(per_image.mean())
    if np.isclose(parts[0], per_image[:32].mean(), rtol=1e-4):
        return ("that is the mean over the replica's own 32 images; divide by the global "
                "batch (64), so that the replicas' parts add up to the mean over all 64.")
    if np.isclose(parts[0], per_image[:32].sum(), rtol=1e-4):
        return "that is the replica's sum; divide it by the global batch, 64."
    if not np.isclose(parts[0], per_image[:32].sum() / 64, rtol=1e-4):
        return (f"replica 0's loss is {parts[0]:.4g}; expected {per_image[:32].sum() / 64:.4g}, "
                "the sum of its per-image losses divided by the global batch.")
    if not np.isclose(sum(parts), mean, rtol=1e-4):
        return f"the two replicas' losses add up to {sum(parts):.4g}, not the batch mean {mean:.4g}."
    return None


@exercise("09.3", "16-bit arithmetic, 32-bit weights, and probabilities in float32.")
def _mixed_cnn(answer):
    import keras

    try:
        model = answer()
        left_mixed = keras.config.dtype_policy().name != "float32"
    finally:
        keras.config.set_dtype_policy("float32")   # later cells build float32 models
    if left_mixed:
        return ("the global policy is left at mixed precision: set it back with "
                "keras.config.set_dtype_policy(\"float32\") once the model is built.")
    if not isinstance(model, keras.Model):
        return "return the model."
    from helpers.blocks import leaf_layers

    convs = [l for l in leaf_layers(model) if isinstance(l, keras.layers.Conv2D)]
    if not convs:
        return "the model has no Conv2D layer."
    if any(l.variable_dtype != "float32" for l in convs):
        return ("its weights are 16-bit: a mixed policy (\"mixed_bfloat16\") keeps them in "
                "float32 and computes in bfloat16.")
    if any(l.compute_dtype != "bfloat16" for l in convs):
        return (f"its convolution computes in {convs[0].compute_dtype}: make it with the "
                "\"mixed_bfloat16\" policy.")
    probabilities = model(np.zeros((2, 28, 28, 1), np.float32))
    if tuple(probabilities.shape) != (2, 10):
        return f"its output is shaped {tuple(probabilities.shape[1:])}; the ten digits' probabilities are (10,)."
    if probabilities.dtype.name != "float32":
        return (f"its probabilities come out in {probabilities.dtype.name}: make the last layer "
                "with dtype=\"float32\", as architectures.article_cnn(output_dtype=\"float32\") does.")
    if not np.allclose(np.asarray(probabilities).sum(axis=1), 1, atol=1e-3):
        return 'its outputs are not probabilities: the last Dense layer needs activation="softmax".'
    return None


@exercise("09.4", "the model's weights and optimizer were made in the strategy's scope.")
def _in_scope(answer, strategy):
    import keras

    model = answer(strategy)
    if not isinstance(model, keras.Model):
        return "return the model."
    made_here = [strategy.extended.variable_created_in_scope(w.value) for w in model.weights]
    if not all(made_here):
        return ("its weights were made outside the strategy: build the model inside "
                "`with strategy.scope():`, where variables are mirrored on every replica.")
    if not model.compiled:
        return "compile it, inside the same `with strategy.scope():` block."
    if not strategy.extended.variable_created_in_scope(model.optimizer.iterations.value):
        return ("its optimizer was made outside the strategy: make it (and compile) inside the "
                "same `with strategy.scope():` block, since it has variables too.")
    if not isinstance(model.optimizer, keras.optimizers.Adam):
        return f"it compiles with {type(model.optimizer).__name__}; the question asks for Adam."
    if str(getattr(model.loss, "name", model.loss)) != "sparse_categorical_crossentropy":
        return ("the labels are digits 0-9, not one-hot vectors: compile with "
                "loss=\"sparse_categorical_crossentropy\".")
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "09.1": """\
four_gpus = (4 * 32, 0.001 * 4 ** 0.5)""",
    "09.2": """\
def replica_loss(labels, probabilities, global_batch_size):
    losses = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
    return tf.nn.compute_average_loss(losses, global_batch_size=global_batch_size)""",
    "09.3": '''\
def mixed_cnn():
    """Conv2D(16, 3) and a softmax Dense(10), computing in bfloat16, probabilities in float32."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu", dtype="mixed_bfloat16"),
        keras.layers.Flatten(dtype="mixed_bfloat16"),
        keras.layers.Dense(10, activation="softmax", dtype="float32"),
    ])''',
    "09.4": '''\
def compiled_in(strategy):
    """The article's network, built and compiled in ``strategy``'s scope."""
    with strategy.scope():
        model = architectures.article_cnn()
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model''',
    "09.5": """\
```python
def heavy(x, y):
    for _ in range(3):
        x = augment(x, training=True)
    return x, y

print(f"compute alone (part 1): {timings['compute alone']:.2f} s")
for parallel in (False, True):
    calls = tf.data.AUTOTUNE if parallel else None
    ds = digit_pipeline(parallel=parallel).map(heavy, num_parallel_calls=calls)
    if parallel:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    print(f"{'parallel, prefetch' if parallel else 'plain':18s} input alone "
          f"{best_of(lambda: read_all(ds)):.2f} s, training {best_of(lambda: train_epoch(ds)):.2f} s")
```
Once the input alone takes longer than the compute, the training takes about as long as
the input: the model waits. Parallel calls split the input over the cores,
which pays more here than before, since the input is most of the work.""",
    "09.6": """\
```python
global_batch = 64 * strategy.num_replicas_in_sync
print(f"part 3, global batch {GLOBAL_BATCH}: {accuracies['mirrored']:.2%}")
for rate in (1e-3, 1e-3 * (global_batch / GLOBAL_BATCH) ** 0.5):
    model = article_model(strategy, learning_rate=rate)
    model.fit(x_fit, y_fit, batch_size=global_batch, epochs=EPOCHS, verbose=0)
    print(f"global batch {global_batch}, rate {rate:g}: "
          f"{model.evaluate(x_val, y_val, verbose=0)[1]:.2%}")
```
With batches twice as large there are half as many steps. At the same rate the model has
moved less after the same epochs; a larger rate makes up for part of it. Adam adapts
its steps to the gradients' size, so the square-root rule is a starting point, not a law:
your two numbers say how far it gets here.""",
    "09.7": """\
```python
args = ["--recipe", "seed", "--epochs", "2", "--batch-size", "96", "--train-size", str(WORKER_IMAGES)]
three = cluster.run_workers(3, args, work / "three", timeout=600)
weights = [cluster.weights(p) for p in three.weight_files]
print([cluster.largest_difference(weights[0], w) for w in weights[1:]])
print(three.results[0]["networks"][0]["epoch_seconds"])
```
All three end identical. On one machine the three share the same cores (each gets a
third, rounded down to at least one thread), and every step now waits for three
processes and more exchanges: more workers add speed only where each one brings its own
processors.""",
}

HINTS = {
    "09.1": 'The global batch is the per-GPU batch times the GPUs; the square-root rule multiplies the rate by the square root of that factor.',
    "09.2": "The per-image losses come from a Keras loss without reduction, as in `replica_step`; the division by the whole batch, not the replica's share, is the one thing `tf.nn.compute_average_loss` is for.",
    "09.3": 'Two ways, both in the section on mixed precision: a `dtype=` for each layer, or the global policy set, the model built, and the policy set back (in a `finally:`, as `article_cnn_in` does). Either way the last layer is the exception.',
    "09.4": 'Part 3 builds its models this way: which lines does `article_model` put inside the `with` block, and why both?',
}

answers(SOLUTIONS, HINTS)
