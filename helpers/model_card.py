"""Model cards: what a saved model is, how it was trained and what it measured, in a JSON
file beside it (``NAME.json`` beside ``NAME.keras``). One schema for every model the course
saves: ``cnn-course train``, the checkpoints ``cnn-course prepare`` keeps, and the model a
learner catches up from. A card names its model file's sha256, so a damaged or swapped
model is refused rather than loaded. A card is made from a :class:`TrainingRun`: the trained
model with its history and epoch times. Nothing here imports TensorFlow until a card is made.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.errors import ModelError
from helpers.files import atomic_write, file_sha256, replace_together, write_text

if TYPE_CHECKING:
    import keras

CARD_FORMAT = 2


class CardError(ModelError):
    """A model card is missing or unreadable, or its model file is missing or not the one
    it describes."""


def fingerprint(*arrays) -> str:
    """A short hash of arrays (weights, say): equal arrays, equal fingerprints."""
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def data_fingerprint(x, y) -> dict:
    """Enough to tell two training sets apart: their size and a hash of labels and pixels."""
    return {"images": int(len(x)), "sha256": fingerprint(y, x[::max(len(x) // 1000, 1)])}


def config_fingerprint(config) -> str:
    """A short hash of a Keras configuration, without the names Keras numbers as it goes
    (``conv2d_7``): each name, and every reference to it (a functional model's connections),
    becomes its order of appearance, so the same network built later hashes the same."""
    names: dict[str, str] = {}

    def collect(value):
        if isinstance(value, dict):
            if isinstance(value.get("name"), str):
                names.setdefault(value["name"], f"#{len(names)}")
            for item in value.values():
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)

    def renamed(value):
        if isinstance(value, dict):
            return {k: renamed(v) for k, v in value.items() if k != "name"}
        if isinstance(value, (list, tuple)):
            return [renamed(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    collect(config)
    text = json.dumps(renamed(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class TrainingRun:
    """A trained model with its per-epoch history and timings."""

    model: keras.Model
    history: dict = field(default_factory=dict)
    epoch_seconds: list = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return float(sum(self.epoch_seconds))

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(len(self.epoch_seconds), 1)


def card_path(model_path: str | Path) -> Path:
    """Where the card of the model at ``model_path`` lives."""
    return Path(model_path).with_suffix(".json")


@dataclass
class ModelCard:
    """The card of one saved model (see the module's docstring)."""

    name: str                  # the model file's name without .keras
    what: str                  # what the model is, in a few words
    made_by: str               # the command that trained it
    settings: dict             # what decided the training: recipe, epochs, fingerprints
    data: dict                 # the training images: {"images", "sha256"}, and "source"
    history: dict              # Keras' history: a list per metric, one value per epoch
    epoch_seconds: list
    training_seconds: float
    reference_epochs: float    # training_seconds in this machine's reference epochs
    measured: dict = field(default_factory=dict)  # what was measured on the model
    machine: str = ""
    versions: dict = field(default_factory=dict)
    date: str = ""
    resumed: bool = False              # the training resumed from a kept epoch
    distribution: dict | None = None   # the tf.distribute strategy and devices, if any
    notebook_code: str | None = None   # the code of the notebook that made it (prepare)
    classes: list | None = None        # its outputs' names, in order (None: the digits 0-9)
    sha256: str = ""                   # of the model file
    format: int = CARD_FORMAT

    @classmethod
    def for_run(cls, name: str, what: str, made_by: str, run, settings: dict, data: dict,
                **more) -> "ModelCard":
        """A new card for a finished training ``run`` (a ``TrainingRun``), made here, now."""
        import keras
        import tensorflow as tf

        from helpers import speed

        seconds = float(sum(run.epoch_seconds))
        return cls(
            name=name, what=what, made_by=made_by, settings=settings, data=data,
            history={k: [v if isinstance(v, str) else float(v) for v in values]
                     for k, values in run.history.items()},
            epoch_seconds=[round(float(s), 2) for s in run.epoch_seconds],
            training_seconds=round(seconds, 1),
            reference_epochs=round(seconds / speed.reference_epoch_seconds(), 2),
            machine=f"{platform.machine()}, {os.cpu_count()} CPU cores ({platform.node()})",
            versions={"python": platform.python_version(), "tensorflow": tf.__version__,
                      "keras": keras.__version__},
            date=dt.datetime.now().isoformat(timespec="seconds"), **more)

    def describe(self) -> str:
        """Where the model came from, in one sentence."""
        return (f"made {self.date[:16].replace('T', ' ')} by {self.made_by} on "
                f"{self.data['images']:,} training images; its training took "
                f"{self.training_seconds:.0f} s ({self.reference_epochs:.1f} reference epochs) "
                f"on {self.machine}")

    def write(self, path: str | Path) -> Path:
        """Write the card alone, atomically, to ``path`` (a ``.json`` file)."""
        return write_text(path, self.to_json())

    def save_with(self, model, model_path: str | Path) -> "ModelCard":
        """Save ``model`` at ``model_path`` with this card beside it, naming the file's sha256.
        Both are written under temporary names and moved into place together: an
        interruption leaves the old model and card, or the new ones, never one of each."""
        from helpers import export
        from helpers.files import check_output_file

        model_path = check_output_file(model_path, export.MODEL_SUFFIX, what="model")
        card_file = card_path(model_path)
        with atomic_write(model_path) as model_tmp, atomic_write(card_file) as card_tmp:
            model.save(model_tmp)
            self.sha256 = file_sha256(model_tmp)
            card_tmp.write_text(self.to_json(), encoding="utf-8")
            replace_together([(model_tmp, model_path), (card_tmp, card_file)])
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1) + "\n"

    @classmethod
    def read(cls, model_path: str | Path) -> "ModelCard":
        """The card of the model at ``model_path``, checked against the model file."""
        model_path, path = Path(model_path), card_path(model_path)
        try:
            fields = json.loads(path.read_text())
        except FileNotFoundError:
            raise CardError(f"{path}: no model card") from None
        except (OSError, ValueError) as exc:
            raise CardError(f"{path}: unreadable model card ({exc})") from None
        if not isinstance(fields, dict) or fields.get("format") != CARD_FORMAT:
            raise CardError(f"{path}: not a model card written by this version of the course")
        try:
            card = cls(**fields)
        except TypeError as exc:
            raise CardError(f"{path}: not a whole model card ({exc})") from None
        try:
            card.describe()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CardError(f"{path}: not a whole model card ({type(exc).__name__}: {exc})") from None
        if not model_path.is_file():
            raise CardError(f"{model_path}: missing (its model card is there)")
        if file_sha256(model_path) != card.sha256:
            raise CardError(f"{model_path}: not the model its card describes (their sha256 "
                            "differ: the file was damaged, or replaced without its card)")
        return card


def save_model_with_card(run, path: str | Path, what: str, made_by: str, data, classes) -> Path:
    """Save a trained ``run``'s model at ``path`` with a card naming its ``classes`` in
    output order (``data``: the training images and labels), so that ``cnn-course predict``
    reads images with it."""
    path = Path(path)
    card = ModelCard.for_run(path.stem, what, made_by, run, settings={},
                             data=data_fingerprint(*data), classes=[str(c) for c in classes])
    card.save_with(run.model, path)
    return path


def refuse_replacing(model_path: str | Path, train_images: int | None = None,
                     force: bool = False) -> None:
    """Before a model is saved at ``model_path``: refuse (``UsageError``) to replace a
    ``.json`` beside it that is not a model card, a model no card describes (a learner's
    own?), or, when ``train_images`` is given, a model trained on more images. ``force``
    accepts all three."""
    from helpers.errors import UsageError

    model_path, card_file = Path(model_path), card_path(model_path)
    how = "Give another --out, or add --force to replace it."
    if force:
        return
    if card_file.exists():
        try:
            fields = json.loads(card_file.read_text())
        except (OSError, ValueError):
            fields = None
        if not (isinstance(fields, dict) and "sha256" in fields and "made_by" in fields):
            raise UsageError(f"{card_file} is not a model card, and the model's card would "
                             f"replace it. {how}")
    if not model_path.exists():
        return
    try:
        card = ModelCard.read(model_path)
    except CardError as exc:
        raise UsageError(f"there is a model at {model_path} that no model card of the course "
                         f"describes (yours?): {exc}. {how}") from None
    if train_images is not None and card.data["images"] > train_images:
        scores = ", ".join(f"{k} {v:.2%}" for k, v in card.measured.items()
                           if isinstance(v, float))
        raise UsageError(f"{model_path} was trained on {card.data['images']:,} images"
                         f"{' (' + scores + ')' if scores else ''}; this training has "
                         f"{train_images:,} and would replace it with a weaker model. Get the "
                         f"full dataset with `cnn-course fetch-data`, or: {how}")
