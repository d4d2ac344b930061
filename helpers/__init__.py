"""Helpers for the CNN course: data, networks, training, evaluation, plots and reporting.

Importing this package defines things and does nothing else: TensorFlow is imported only
by the modules that build or run networks, and a notebook's set-up is the explicit call
``session.setup()``.
"""
from helpers.errors import CourseError, DatasetError, ImageError, ModelError, UsageError

__version__ = "0.1.0"
__all__ = ["CourseError", "DatasetError", "ImageError", "ModelError", "UsageError",
           "__version__"]
