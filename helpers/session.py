"""Start a notebook session: ``setup()`` starts TensorFlow quietly, seeds, styles, and greets.

Nothing happens on import. ``setup()`` is the one explicit set-up call a notebook makes.
"""
from __future__ import annotations

import logging
import os
import platform

from helpers import plots
from helpers.report import announce
from helpers.startup import start_tensorflow


class _NoRetracingNotes(logging.Filter):
    """Drops TensorFlow's note that a function was traced again: a notebook that trains
    several new models in a loop (notebooks 06 and 10) triggers it by design, and a learner
    can do nothing about it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def device_summary() -> str:
    """'CPU (2 cores)', 'CPU (2 cores, as 2 devices)' or 'GPU: <names>' for the banner."""
    tf = start_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "GPU: " + ", ".join(g.name for g in gpus)
    split = tf.config.get_logical_device_configuration(tf.config.list_physical_devices("CPU")[0])
    return f"CPU ({os.cpu_count()} cores" + (f", as {len(split)} devices)" if split else ")")


def setup(seed: int = 42, cpu_devices: int | None = None) -> int:
    """Start TensorFlow quietly (with the CPU split into ``cpu_devices`` devices, when given,
    for notebook 09's data parallelism), learn this machine's reference epoch (so that no
    later probe draws random numbers), seed Python, NumPy and TensorFlow, set the course's
    plot style, and print a one-line banner; returns the seed."""
    tf = start_tensorflow()
    import keras

    from helpers import speed

    if cpu_devices:
        from helpers.distributed import split_cpu

        split_cpu(cpu_devices)
    # In a notebook TensorFlow's Python log prints its INFO lines (what a distribution strategy
    # does at every step, say): nothing a learner acts on. Warnings and errors still show.
    tf.get_logger().setLevel("WARNING")
    if not any(isinstance(f, _NoRetracingNotes) for f in tf.get_logger().filters):
        tf.get_logger().addFilter(_NoRetracingNotes())
    reference = speed.reference_epoch_seconds()
    keras.utils.set_random_seed(seed)
    plots.use_course_style()
    announce(
        f"Python {platform.python_version()} | TensorFlow {tf.__version__} | "
        f"Keras {keras.__version__} | {device_summary()} | seed {seed} | "
        f"one reference epoch ≈ {reference:.0f} s"
    )
    return seed
