"""Helpers for the CNN course: data, models, training, evaluation, plots and reporting.

Importing this package is cheap; TensorFlow is imported (quietly) only by the modules
that need it.
"""
import os

# Keep TensorFlow's C++ start-up chatter out of notebooks; set before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from helpers.errors import CourseError, DatasetError, ImageError, ModelError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["CourseError", "DatasetError", "ImageError", "ModelError", "__version__"]
