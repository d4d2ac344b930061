"""``cnn-course bench``: train recipes one after another on the same data, each from one or
more seeds, and compare them; the results name the machine they were measured on.

For each recipe it measures training speed (seconds per epoch, images per second, achieved
GFLOP/s against this machine's matrix-multiply ceiling measured in the same run), the
training time until test accuracy first reaches 99.0% (checked several times per epoch,
with the clock stopped while checking; for an ensemble, the accuracy of the averaged
prediction), and the final test accuracy.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import files, mnist, recipes, report, training
from helpers.architectures import flops_per_image
from helpers.commands.bench_reading import times

TARGET_ACCURACY = 0.99
CHECKS_PER_EPOCH = 8
TRAINING_FLOPS_PER_FORWARD = 3  # backward pass costs about twice the forward pass


def matmul_ceiling_gflops(size: int = 2048, seconds: float = 2.0) -> float:
    """This machine's float32 matrix-multiply speed in TensorFlow, in GFLOP/s: a practical
    ceiling for the convolutions and dense layers of a training step."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(tf.linalg.matmul)
    matmul(a, b).numpy()  # warm up
    repeats, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        result = matmul(a, b)
        repeats += 1
    result.numpy()
    elapsed = time.perf_counter() - started
    return 2 * size**3 * repeats / elapsed / 1e9


class TimeToTarget(keras.callbacks.Callback):
    """Checks test accuracy every ``every`` training calls with the clock stopped; records
    the training seconds at which it first reaches ``target``.

    An ensemble's networks train one after another with the same timer: its clock counts
    every network's training, and each check measures the average of the finished
    networks' predictions and the current network's, as the ensemble will predict.
    """

    def __init__(self, x_test, y_test, every: int, target: float = TARGET_ACCURACY,
                 clock=time.perf_counter):
        super().__init__()
        self.x_test, self.y_test = x_test, y_test
        self.every, self.target, self.clock = max(every, 1), target, clock
        self._calls = 0
        self._finished_sum = None   # summed test probabilities of the finished networks
        self._finished_count = 0
        self.training_seconds = 0.0
        self.time_to_target: float | None = None
        self.checks: list[tuple[float, float]] = []  # (training seconds, test accuracy)

    def on_train_begin(self, logs=None):
        self._predict = tf.function(lambda x: self.model(x, training=False))
        self._resume()

    def _resume(self):
        self._started = self.clock()

    def _pause(self):
        self.training_seconds += self.clock() - self._started

    def on_train_batch_end(self, batch, logs=None):
        self._calls += 1  # once per call into TensorFlow (steps_per_execution steps)
        if self._calls % self.every == 0:
            self._check()

    def on_epoch_end(self, epoch, logs=None):
        self._check()

    def _check(self):
        self._pause()
        if self.time_to_target is None:
            accuracy = self.test_accuracy()
            self.checks.append((self.training_seconds, accuracy))
            if accuracy >= self.target:
                self.time_to_target = self.training_seconds
        self._resume()

    def on_train_end(self, logs=None):
        self._pause()
        if self.time_to_target is None:  # the next network joins this one's predictions
            probabilities = self.probabilities()
            self._finished_sum = probabilities if self._finished_sum is None \
                else self._finished_sum + probabilities
            self._finished_count += 1

    def probabilities(self) -> np.ndarray:
        """The current network's predicted probabilities for the test images."""
        batches = [self._predict(tf.constant(self.x_test[start : start + 2000])).numpy()
                   for start in range(0, len(self.x_test), 2000)]
        return np.concatenate(batches)

    def test_accuracy(self) -> float:
        """Test accuracy of the average of the finished networks and the current one."""
        probabilities = self.probabilities()
        if self._finished_sum is not None:
            probabilities = (self._finished_sum + probabilities) / (self._finished_count + 1)
        return float(np.mean(np.argmax(probabilities, axis=1) == self.y_test))


def bench_recipe(recipe: recipes.Recipe, train_data, test_data, epochs: int | None = None,
                 seed: int = 0) -> dict:
    """Train one recipe on ``train_data`` from ``seed`` (its weights and the order of its
    images); its speed, time to 99% and final test accuracy."""
    (x_train, y_train), (x_test, y_test) = train_data, test_data
    epochs = epochs or recipe.epochs
    calls_per_epoch = np.ceil(len(x_train) / recipe.batch_size / recipe.steps_per_execution)
    timer = TimeToTarget(x_test, y_test, every=int(calls_per_epoch // CHECKS_PER_EPOCH))
    per_network = f" for each of {recipe.members} networks" if recipe.members > 1 else ""
    report.announce(f"bench: {recipe.name} ({recipe.summary}), {epochs} epoch(s){per_network}")
    keras.utils.set_random_seed(seed)
    run = training.train(recipe, (x_train, y_train), epochs=epochs, callbacks=[timer],
                         shuffle_seed=seed)
    # Epoch times include the accuracy checks; the timer's clock does not. An ensemble's
    # networks train one after another: each of their epochs counts, at the FLOPs per image
    # of the average network.
    flops = flops_per_image(run.model) // recipe.members * TRAINING_FLOPS_PER_FORWARD
    _, final_accuracy = run.model.evaluate(x_test, y_test, batch_size=2000, verbose=0)
    return {
        **speed_figures(len(x_train), timer.training_seconds, len(run.epoch_seconds), flops),
        "time_to_99": None if timer.time_to_target is None else round(timer.time_to_target, 2),
        "test_accuracy": round(float(final_accuracy), 5),
        "epochs": len(run.epoch_seconds),
        "training_seconds": round(timer.training_seconds, 2),
        "flops_per_image": flops,
    }


def speed_figures(images: int, training_seconds: float, epochs: int, flops: int) -> dict:
    """Seconds per epoch, images per second and achieved GFLOP/s of ``epochs`` epochs of
    ``images`` images that trained for ``training_seconds``, at ``flops`` per image."""
    seconds_per_epoch = training_seconds / epochs
    images_per_second = images / seconds_per_epoch
    return {"seconds_per_epoch": round(seconds_per_epoch, 3),
            "images_per_second": round(images_per_second, 1),
            "gflops": round(flops * images_per_second / 1e9, 2)}


def compute_alone_seconds(recipe: recipes.Recipe, model: keras.Model, x, y,
                          steps: int = 40) -> float:
    """Seconds per training step of ``model`` with the loop taken away: one batch already
    in memory, repeated, and ``steps`` steps per call into TensorFlow (no Python between
    steps, no input pipeline). What remains is the arithmetic and TensorFlow's own costs."""
    batch = (tf.constant(x[:recipe.batch_size]), tf.constant(y[:recipe.batch_size]))
    data = tf.data.Dataset.from_tensors(batch).repeat()
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy",
                  steps_per_execution=steps)
    model.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)  # warm up
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=4 * steps, epochs=1, shuffle=False, verbose=0)
    return (time.perf_counter() - started) / (4 * steps)


def bound(loop_share: float, compute_ratio: float) -> str:
    """What keeps a recipe from the matmul ceiling, from the two measured shares."""
    if loop_share >= 0.3:
        return (f"the training loop: Python and the input pipeline take {loop_share:.0%} of "
                "each step")
    return (f"the arithmetic itself: with the loop taken away, this network's layers reach "
            f"{compute_ratio:.0%} of the matmul ceiling (small convolutions and batch norm "
            "keep the cores short of work)")


def machine() -> dict:
    """What a reader needs to check a record: the CPU, its cores, and the software."""
    cpu = platform.processor() or platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass  # not Linux: the platform's own name
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__}


def summarise(runs: list[dict], reference_epoch: float, ceiling: float) -> dict:
    """One recipe's runs over seeds: the means, the spread of test accuracy, the median time
    to 99% of the seeds that reached it, and the training cost in reference epochs."""
    reached = [r["time_to_99"] for r in runs if r["time_to_99"] is not None]
    accuracies = [r["test_accuracy"] for r in runs]
    mean = lambda key: statistics.fmean(r[key] for r in runs)  # noqa: E731
    gflops = mean("gflops")
    time_to_99 = statistics.median(reached) if reached else None
    return {
        "time_to_99": round(time_to_99, 2) if reached else None,
        "time_to_99_reference_epochs": round(time_to_99 / reference_epoch, 2) if reached else None,
        "reached_99": f"{len(reached)} of {len(runs)}",
        "mean_test_accuracy": round(statistics.fmean(accuracies), 5),
        "sd_test_accuracy": round(statistics.stdev(accuracies), 5) if len(runs) > 1 else 0.0,
        "reference_epochs": round(mean("training_seconds") / reference_epoch, 2),
        "epochs": runs[0]["epochs"],
        "seconds_per_epoch": round(mean("seconds_per_epoch"), 3),
        "images_per_second": round(mean("images_per_second"), 1),
        "gflops": round(gflops, 2),
        "ceiling_ratio": round(gflops / ceiling, 3),
        "seeds": runs,
    }


def run_bench(recipe_names: list[str], epochs: int | None = None, train_size: int | None = None,
              data_source: str = "auto", seeds: int = 1, ceiling_seconds: float = 2.0) -> dict:
    """Benchmark the named recipes in this process on the same data, each from ``seeds``
    seeds; returns the JSON report. A whole reference epoch is timed first, for the unit."""
    from helpers import speed

    keras.utils.set_random_seed(0)
    data = mnist.load_mnist(source=data_source)
    (x_train, y_train), (x_test, y_test) = data
    x_train, y_train = mnist.subset(mnist.to_model_input(x_train), y_train, train_size)
    x_test = mnist.to_model_input(x_test)
    ceiling = matmul_ceiling_gflops(seconds=ceiling_seconds)
    report.announce(f"bench: float32 matmul ceiling {ceiling:.1f} GFLOP/s")
    reference = speed.measure_reference_epoch()
    report.announce(f"bench: one whole reference epoch {reference:.1f} s")
    results = {}
    for name in recipe_names:
        recipe, runs = recipes.get_recipe(name), []
        for seed in range(seeds):
            keras.backend.clear_session()  # each run starts from a clean slate
            runs.append({"seed": seed, **bench_recipe(recipe, (x_train, y_train),
                                                      (x_test, y_test), epochs, seed)})
        results[name] = summarise(runs, reference, ceiling)
        if results[name]["ceiling_ratio"] < 0.5:
            model = recipe.builders[0]()
            step = runs[0]["training_seconds"] / runs[0]["epochs"] / np.ceil(
                len(x_train) / recipe.batch_size) / recipe.members
            alone = compute_alone_seconds(recipe, model, x_train, y_train)
            compute_ratio = runs[0]["flops_per_image"] * recipe.batch_size / alone / 1e9 / ceiling
            results[name]["bound"] = bound(max(1 - alone / step, 0.0), compute_ratio)
    seed_t = results.get("seed", {}).get("time_to_99")
    fast_t = results.get("fast", {}).get("time_to_99")
    return {
        "machine": machine(),
        "data_source": data.source,
        "train_images": int(len(x_train)),
        "seeds": seeds,
        "ceiling_gflops": round(ceiling, 1),
        "reference_epoch_seconds": round(reference, 2),
        "recipes": results,
        "speedup_time_to_99": round(seed_t / fast_t, 2) if seed_t and fast_t else None,
    }


def format_table(result: dict) -> str:
    """The bench result as a Markdown table."""
    m = result["machine"]
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, TensorFlow "
        f"{m['tensorflow']}, Keras {m['keras']}",
        f"data: {result['data_source']} ({result['train_images']:,} training images), "
        f"{result['seeds']} seed(s) per recipe, matmul ceiling {result['ceiling_gflops']:.0f} "
        f"GFLOP/s, one reference epoch {result['reference_epoch_seconds']:.1f} s",
        "",
        "| recipe | epochs | s/epoch | images/s | GFLOP/s (of ceiling) | time to 99% "
        "| test accuracy (sd) | reference epochs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in result["recipes"].items():
        t99 = "never" if r["time_to_99"] is None else (
            f"{r['time_to_99']:.1f} s = {r['time_to_99_reference_epochs']:.2f} ref. epochs")
        lines.append(
            f"| {name} | {r['epochs']} | {r['seconds_per_epoch']:.1f} | "
            f"{r['images_per_second']:,.0f} | {r['gflops']:.0f} ({r['ceiling_ratio']:.0%}) | "
            f"{t99} ({r['reached_99']}) | {r['mean_test_accuracy']:.2%} "
            f"({r['sd_test_accuracy']:.2%}) | {r['reference_epochs']:.1f} |")
    # what helpers.recipes records as each recipe's epoch_cost (times its networks)
    lines += ["", "training in reference epochs per epoch of each network: " + ", ".join(
        f"{name} {r['reference_epochs'] / r['epochs']:.2f}" for name, r in result["recipes"].items())]
    lines += [f"{name}, short of half the ceiling; what bounds it: {r['bound']}"
              for name, r in result["recipes"].items() if "bound" in r]
    if result["speedup_time_to_99"] is not None:
        lines += ["", "time to 99%: the fast recipe is "
                  f"{times(result['speedup_time_to_99'])} than the seed recipe"]
    return "\n".join(lines)


def write_json(result: dict, path: str | Path) -> Path:
    """Write the bench result as JSON (atomically)."""
    return files.write_text(path, json.dumps(result, indent=2) + "\n")
