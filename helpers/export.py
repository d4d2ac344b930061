"""Models leave the notebook: saved and loaded as ``.keras`` files that need nothing but
Keras, and converted to TensorFlow Lite for phones and small devices."""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers.errors import ModelError
from helpers.files import atomic_write, check_output_file
from helpers.startup import filtered_stderr

MODEL_SUFFIX = ".keras"


def save_model(model: keras.Model, path: str | Path) -> Path:
    """Save in Keras' ``.keras`` format, atomically (a crash never leaves half a file); the
    course's networks use Keras' own layers only, so plain ``keras.saving.load_model`` reads
    it anywhere."""
    path = check_output_file(path, MODEL_SUFFIX, what="model")
    with atomic_write(path) as tmp:
        model.save(tmp)
    return path


def load_model(path: str | Path) -> keras.Model:
    """Load a ``.keras`` model in Keras' safe mode; a ModelError that says what is wrong with
    the file when that fails."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a model file; give the path of a "
                         f"{MODEL_SUFFIX} file.")
    if not path.is_file():
        raise ModelError(
            f"{path}: no model here. Train one with `cnn-course train` or run notebook 03."
        )
    if path.stat().st_size == 0:
        raise ModelError(f"{path}: the file is empty (0 bytes), not a model; train or copy "
                         "it again.")
    if path.suffix == MODEL_SUFFIX and not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras model file (a {MODEL_SUFFIX} file is a zip "
                         "archive; this one is damaged, truncated or something else); train "
                         "or copy it again.")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelError(
            f"{path}: not a valid Keras model ({type(exc).__name__}: {first_line[:200]})."
        ) from None


def to_tflite(model: keras.Model) -> bytes:
    """The model converted to TensorFlow Lite, the format for phones and small devices."""
    # The converter prints and logs what it does with a temporary SavedModel: nothing to act on.
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), filtered_stderr():
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            return converter.convert()
    finally:
        tf_logger.setLevel(level)


class TFLiteClassifier:
    """Runs a TensorFlow Lite model with the LiteRT interpreter (TensorFlow's own where
    LiteRT is not installed)."""

    def __init__(self, content: bytes):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            Interpreter = tf.lite.Interpreter
        with warnings.catch_warnings(), filtered_stderr():
            warnings.simplefilter("ignore", UserWarning)  # tf.lite's notice to use LiteRT
            self.interpreter = Interpreter(model_content=content)
            self.interpreter.allocate_tensors()
            details = self.interpreter.get_input_details()[0]
            self._input = details["index"]
            self._output = self.interpreter.get_output_details()[0]["index"]
            self(np.zeros(details["shape"][1:], np.float32))  # the first call sets up kernels

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities for one image shaped like the model's input, without batch axis."""
        self.interpreter.set_tensor(self._input, np.asarray(image, np.float32)[np.newaxis])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output)[0]
