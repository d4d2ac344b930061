"""Starting TensorFlow without its start-up log: lines that say nothing a learner can act on.

``start_tensorflow()`` imports TensorFlow inside ``filtered_stderr()``, which captures the
process-level stderr and replays every line that is not known noise.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

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
        import keras  # noqa: F401  (Keras loads more of TensorFlow, which logs again)
        import tensorflow as tf

        tf.config.list_physical_devices()  # initialises devices now, inside the filter
    return tf
