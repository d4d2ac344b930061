"""Where the course keeps things, relative to the course folder (the one holding README.md),
and setting environment variables for a while."""
import contextlib
import os
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = COURSE_ROOT / "notebooks"
DATA_DIR = COURSE_ROOT / "data"      # `cnn-course fetch-data` puts datasets here by default
DATA_ENV = "CNN_COURSE_DATA"         # a prepared data folder, which the course prefers to its own
MODEL_DIR = COURSE_ROOT / "models"   # trained models that notebooks and the CLI share
MODEL_ENV = "CNN_COURSE_MODELS"      # another models folder (the tests use their own)
BUILD_DIR = COURSE_ROOT / "build"    # executed notebooks and run reports
CHECKPOINT_DIR = COURSE_ROOT / "checkpoints"  # long trainings the notebooks reuse (prepare)
OWN_DIGITS_DIR = COURSE_ROOT / "my_digits"  # notebook 08 saves labelled drawings here


def data_roots(data_dir=None) -> list[Path]:
    """The folders the course looks in for data, in order: ``data_dir`` when given,
    ``$CNN_COURSE_DATA``, then the course's own ``data/``."""
    roots = [data_dir, os.environ.get(DATA_ENV), DATA_DIR]
    return [Path(r).expanduser() for r in roots if r]


def model_path(fast: bool = False) -> Path:
    """Where notebook 03 saves the course's MNIST model, and notebook 04 and the CLI find it.

    A fast-mode run saves to its own file, so a quick test never replaces a real model.
    """
    folder = Path(os.environ.get(MODEL_ENV) or MODEL_DIR)
    return folder / ("mnist_cnn_fast.keras" if fast else "mnist_cnn.keras")


def photo_model_path(fast: bool = False) -> Path:
    """Where notebook 10 saves its bird, cat and dog model (with a card naming the classes)."""
    folder = Path(os.environ.get(MODEL_ENV) or MODEL_DIR)
    return folder / ("cifar10_animals_fast.keras" if fast else "cifar10_animals.keras")


@contextlib.contextmanager
def environment(**variables: str):
    """Set environment variables for the block, then put back what was there."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
