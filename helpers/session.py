"""Start a notebook session: TensorFlow imported without start-up noise, one seed, a banner."""
from __future__ import annotations

import contextlib
import os
import platform
import re
import sys
import tempfile

from helpers.report import announce

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


def _import_tensorflow():
    with filtered_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # initialises devices now, inside the filter
    return tf


tf = _import_tensorflow()
import keras  # noqa: E402  (after TensorFlow, which picks the backend)


def device_summary() -> str:
    """'CPU (2 cores)' or 'GPU: <names>' for the banner."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "GPU: " + ", ".join(g.name for g in gpus)
    return f"CPU ({os.cpu_count()} cores)"


def setup(seed: int = 42) -> int:
    """Seed Python, NumPy and TensorFlow, and print a one-line banner; returns the seed."""
    keras.utils.set_random_seed(seed)
    announce(
        f"Python {platform.python_version()} | TensorFlow {tf.__version__} | "
        f"Keras {keras.__version__} | {device_summary()} | seed {seed}"
    )
    return seed
