"""Start a notebook session: ``setup()`` starts TensorFlow quietly, seeds, styles, and greets.

Nothing happens on import. ``setup()`` is the one explicit set-up call a notebook makes.
"""
from __future__ import annotations

import contextlib
import os
import platform
import re
import sys
import tempfile

from helpers.report import announce

TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"  # 2: TensorFlow's C++ log shows errors only

# TensorFlow's C++ start-up lines that say nothing a learner can act on.
_NOISE = re.compile(
    r"absl::InitializeLog|oneDNN custom operations|Could not find cuda drivers|"
    r"failed call to cuInit|cpu_feature_guard|This TensorFlow binary is optimized|"
    r"To enable the following instructions|Unable to register cu(DNN|FFT|BLAS) factory|"
    r"computation placer already registered|TF-TRT Warning|"
    r"Created TensorFlow Lite XNNPACK delegate"
)


@contextlib.contextmanager
def filtered_stderr():
    """Capture the process-level stderr; replay every line that is not known noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and not _NOISE.search(line):
                    print(line, file=sys.stderr)


def start_tensorflow():
    """Import TensorFlow with its start-up log silenced (C++ log at errors only, unless the
    environment already says otherwise); returns the module."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault(TF_LOG_ENV, "2")
    with filtered_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # initialises devices now, inside the filter
    return tf


def device_summary() -> str:
    """'CPU (2 cores)' or 'GPU: <names>' for the banner."""
    tf = start_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "GPU: " + ", ".join(g.name for g in gpus)
    return f"CPU ({os.cpu_count()} cores)"


def setup(seed: int = 42) -> int:
    """Start TensorFlow quietly, seed Python, NumPy and TensorFlow, set the course's plot
    style, and print a one-line banner; returns the seed."""
    tf = start_tensorflow()
    import keras

    from helpers import plots

    keras.utils.set_random_seed(seed)
    plots.use_course_style()
    announce(
        f"Python {platform.python_version()} | TensorFlow {tf.__version__} | "
        f"Keras {keras.__version__} | {device_summary()} | seed {seed}"
    )
    return seed
