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
# without checkpoints, fast mode) and the long steps a notebook announces before it trains.
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


def probe(train_steps: int = 120, eval_steps: int = 60) -> Speed:
    """Predict this machine's reference epoch: warm up, then time ``train_steps`` training
    steps and ``eval_steps`` evaluation batches of the article's recipe."""
    started = time.perf_counter()
    model = _article_model()
    x, y = _images(train_steps * BATCH_SIZE)
    model.fit(x[:20 * BATCH_SIZE], y[:20 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    model.evaluate(x[:10 * BATCH_SIZE], y[:10 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH_SIZE, verbose=0)
    train_step = (time.perf_counter() - t0) / train_steps
    n_eval = eval_steps * BATCH_SIZE
    t0 = time.perf_counter()
    model.evaluate(x[:n_eval], y[:n_eval], batch_size=BATCH_SIZE, verbose=0)
    eval_step = (time.perf_counter() - t0) / eval_steps
    epoch = (train_step * math.ceil(TRAIN_IMAGES / BATCH_SIZE)
             + eval_step * math.ceil(EVAL_IMAGES / BATCH_SIZE))
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
    """This machine's reference epoch in seconds: the runner's probe, a probe of the last
    hour, or a new probe (a few seconds, and kept)."""
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


def announce_long(what: str, reference_epochs: float, source: str | None = None,
                  progress: bool = True) -> float:
    """Say before a long step starts what it does and how long it will take here; returns
    the estimated seconds. ``source`` says where the estimate was measured, when it was;
    ``progress``: whether lines of progress follow."""
    seconds = reference_epochs * reference_epoch_seconds()
    measured = f", measured by {source}" if source else ""
    report.announce(
        f"{LONG_STEP_MARK} {what}: about {reference_epochs:.1f} reference epochs{measured}, "
        f"so about {duration(seconds)} on this machine." + (" Progress below." if progress else "")
    )
    return seconds
