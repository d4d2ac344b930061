"""The machine's own unit of time: the reference epoch.

One reference epoch is what the beginner article's recipe takes on this machine: its CNN
trained with Adam at batch 32 for one epoch of 60,000 images, then evaluated on 10,000.
Two machines of one kind can differ sixfold in seconds and agree in reference epochs, so
the course gives its times in them. ``probe`` predicts a reference epoch from a few timed
steps after a warm-up (a few seconds); ``measure_reference_epoch`` runs a whole one.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from helpers import report
from helpers.files import write_text
from helpers.paths import BUILD_DIR

TRAIN_IMAGES, EVAL_IMAGES, BATCH_SIZE = 60_000, 10_000, 32  # the article's epoch
SPEED_ENV = "CNN_COURSE_REFERENCE_EPOCH"  # seconds; the runner sets it for its notebooks
CACHE_PATH = BUILD_DIR / "speed.json"
CACHE_SECONDS = 3600                      # a machine's speed drifts; probe again after this
LONG_STEP_MARK = "⏱"                      # opens every announcement of a long step
# What the course's own runs measured, in reference epochs: each notebook (full mode with and
# without checkpoints, fast mode) and the long steps a notebook announces before it trains,
# each per epoch of 60,000 images, except 06's two, per epoch of their own data: one label
# budget's three trainings (06_transfer_epoch), the flowers' head and fine-tuning together;
# and the record of `cnn-course bench --seeds 3` (notebook 07 and the README show it).
MEASURED_TIMES = Path(__file__).with_name("measured_times.json")


@dataclass
class Speed:
    """A probe's result: the predicted reference epoch and the steps it was predicted from."""

    reference_epoch_seconds: float
    train_step_seconds: float
    eval_step_seconds: float
    probe_seconds: float
    host: str
    measured_at: str


def _article_model():
    from helpers.startup import start_tensorflow

    start_tensorflow()
    import keras

    from helpers import architectures

    model = architectures.article_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _images(count: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)  # speed does not depend on what the pixels show
    return (rng.random((count, 28, 28, 1), dtype=np.float32),
            rng.integers(0, 10, count).astype("int64"))


def _step_clock(train_ends: list, test_ends: list):
    """A Keras callback noting the clock at the end of every training and evaluation batch."""
    import keras

    class StepClock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            train_ends.append(time.perf_counter())

        def on_test_batch_end(self, batch, logs=None):
            test_ends.append(time.perf_counter())

    return StepClock()


def per_step_and_overhead(call_started: float, call_ended: float, step_ends: list[float],
                          skip: int) -> tuple[float, float]:
    """Seconds per step, from the steps after the first ``skip`` (the slope of the step
    clock), and the call's fixed cost: what its whole time leaves beyond that many steps."""
    per_step = (step_ends[-1] - step_ends[skip - 1]) / (len(step_ends) - skip)
    return per_step, max(call_ended - call_started - per_step * len(step_ends), 0.0)


def predict_epoch(train_step: float, fit_overhead: float, eval_step: float,
                  evaluate_overhead: float) -> float:
    """A reference epoch from its parts: one ``fit`` of 1,875 steps and one ``evaluate`` of
    313 batches, each paying its call's fixed cost once."""
    return (fit_overhead + train_step * math.ceil(TRAIN_IMAGES / BATCH_SIZE)
            + evaluate_overhead + eval_step * math.ceil(EVAL_IMAGES / BATCH_SIZE))


def probe(train_steps: int = 120, eval_steps: int = 60) -> Speed:
    """Predict this machine's reference epoch: warm up, then time ``train_steps`` training
    steps and ``eval_steps`` evaluation batches of the article's recipe, each step on the
    clock, on arrays as large as a whole epoch's (handing them to Keras is part of the
    cost), so that a call's fixed cost counts once per epoch, as it does in a whole one."""
    started = time.perf_counter()
    model = _article_model()
    x, y = _images(TRAIN_IMAGES)
    model.fit(x[:20 * BATCH_SIZE], y[:20 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    model.evaluate(x[:10 * BATCH_SIZE], y[:10 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    train_ends, test_ends = [], []
    clock = _step_clock(train_ends, test_ends)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH_SIZE, steps_per_epoch=train_steps, verbose=0,
              callbacks=[clock])
    train_step, fit_overhead = per_step_and_overhead(t0, time.perf_counter(), train_ends,
                                                     skip=max(train_steps // 6, 1))
    t0 = time.perf_counter()
    model.evaluate(x[:EVAL_IMAGES], y[:EVAL_IMAGES], batch_size=BATCH_SIZE, steps=eval_steps,
                   verbose=0, callbacks=[clock])
    eval_step, evaluate_overhead = per_step_and_overhead(t0, time.perf_counter(), test_ends,
                                                         skip=max(eval_steps // 6, 1))
    epoch = predict_epoch(train_step, fit_overhead, eval_step, evaluate_overhead)
    return Speed(round(epoch, 2), train_step, eval_step,
                 round(time.perf_counter() - started, 1), platform.node(),
                 dt.datetime.now().isoformat(timespec="seconds"))


def measure_reference_epoch() -> float:
    """Seconds for one whole reference epoch (after a warm-up), to check ``probe`` against."""
    model = _article_model()
    x, y = _images(TRAIN_IMAGES)
    model.fit(x[:20 * BATCH_SIZE], y[:20 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    model.evaluate(x[:10 * BATCH_SIZE], y[:10 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH_SIZE, verbose=0)
    model.evaluate(x[:EVAL_IMAGES], y[:EVAL_IMAGES], batch_size=BATCH_SIZE, verbose=0)
    return time.perf_counter() - t0


def measure() -> Speed:
    """Start TensorFlow quietly, probe, and keep the result (``save``)."""
    from helpers.startup import start_tensorflow

    start_tensorflow()
    return save(probe())


def save(speed: Speed) -> Speed:
    """Keep a probe's result for the notebooks opened on this machine in the next hour."""
    write_text(CACHE_PATH, json.dumps(asdict(speed), indent=2) + "\n")
    return speed


def _cached() -> float | None:
    try:
        saved = json.loads(CACHE_PATH.read_text())
        age = dt.datetime.now() - dt.datetime.fromisoformat(saved["measured_at"])
        if saved["host"] == platform.node() and age.total_seconds() < CACHE_SECONDS:
            return float(saved["reference_epoch_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def reference_epoch_seconds() -> float:
    """This machine's reference epoch in seconds: the one the runner timed whole, a probe of
    the last hour, or a new probe (a few seconds, and kept)."""
    given = os.environ.get(SPEED_ENV)
    if given:
        return float(given)
    cached = _cached()
    if cached is not None:
        return cached
    report.announce("Measuring this machine's speed (a few seconds, once an hour)...")
    try:
        return measure().reference_epoch_seconds
    except OSError:  # build/ cannot be written: measure each time instead of keeping it
        return probe().reference_epoch_seconds


def measured_times() -> dict:
    """The course's measured times (``measured_times.json``)."""
    return json.loads(MEASURED_TIMES.read_text())


def measured(step: str) -> tuple[float, str]:
    """A long step's measured cost in reference epochs, and what measured it."""
    times = measured_times()
    return times["steps"][step], times.get("steps_measured_on", {}).get(step, times["measured_by"])


def duration(seconds: float) -> str:
    """'40 s', '3.5 minutes', '1.2 hours'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} minutes"
    return f"{seconds / 3600:.1f} hours"


def announce_training(what: str, cost: str, epochs: float = 1, images: int | None = None,
                      progress: bool = True) -> float:
    """``announce_long`` for ``epochs`` epochs of a training whose cost was measured as the
    step ``cost`` of ``measured_times.json``: per epoch of 60,000 images when ``images`` is
    given, else per epoch of the data that step measured."""
    per_epoch, source = measured(cost)
    share = 1.0 if images is None else images / TRAIN_IMAGES
    return announce_long(what, per_epoch * epochs * share, source, progress)


def announce_long(what: str, reference_epochs: float, source: str | None = None,
                  progress: bool = True) -> float:
    """Say before a long step starts what it does and how long it will take here; returns
    the estimated seconds. ``source`` says where the estimate was measured, when it was;
    ``progress``: whether lines of progress follow."""
    seconds = reference_epochs * reference_epoch_seconds()
    measured = f", measured by {source}" if source else ""
    amount = f"about {reference_epochs:.1f}" if reference_epochs >= 0.05 else "under 0.1"
    how_long = f"about {duration(seconds)}" if seconds >= 1 else "under a second"
    report.announce(
        f"{LONG_STEP_MARK} {what}: {amount} reference epochs{measured}, "
        f"so {how_long} on this machine." + (" Progress below." if progress else "")
    )
    return seconds
