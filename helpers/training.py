"""Training recipes that notebooks and the command line share, and one-line-per-epoch logs."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pathlib import Path

from helpers import models, report
from helpers.session import keras


class EpochLog(keras.callbacks.Callback):
    """Print one line per epoch (loss, accuracy, validation, seconds): readable live and saved."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._started
        self.epoch_seconds.append(seconds)
        shown = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()
                          if k in {"loss", "accuracy", "val_loss", "val_accuracy"})
        report.announce(f"epoch {epoch + 1}/{self.epochs}  {shown}  ({seconds:.1f} s)")


@dataclass(frozen=True)
class Recipe:
    """How to train: a model builder, an optimizer, a batch size and a number of epochs."""

    name: str
    summary: str
    build: Callable[[], keras.Model]
    optimizer: Callable[[int], keras.optimizers.Optimizer]  # takes the total number of steps
    batch_size: int
    epochs: int


RECIPES: dict[str, Recipe] = {
    "seed": Recipe(
        name="seed",
        summary="the beginner article's recipe: Adam, batch 32, 5 epochs",
        build=models.article_cnn,
        optimizer=lambda total_steps: keras.optimizers.Adam(),
        batch_size=32,
        epochs=5,
    ),
}


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


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a clear error lists the choices."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def train(recipe: str | Recipe, train_data, val_data=None, epochs: int | None = None,
          model: keras.Model | None = None) -> TrainingRun:
    """Train with ``recipe`` on ``(x, y)`` float inputs; validation data only for monitoring."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    epochs = epochs or recipe.epochs
    x, y = train_data
    model = model or recipe.build()
    steps = int(np.ceil(len(x) / recipe.batch_size)) * epochs
    model.compile(optimizer=recipe.optimizer(steps), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    log = EpochLog(epochs)
    history = model.fit(x, y, batch_size=recipe.batch_size, epochs=epochs,
                        validation_data=val_data, callbacks=[log], verbose=0)
    return TrainingRun(model, history.history, log.epoch_seconds)


def load_or_train(path: str | Path, train_data, val_data=None, recipe: str = "seed",
                  epochs: int | None = None) -> keras.Model:
    """The model saved at ``path``; if there is none, train one with ``recipe`` and save it."""
    path = Path(path)
    if path.is_file():
        report.announce(f"Loaded the model saved at {path}.")
        return models.load_model(path)
    report.announce(f"No model at {path} yet (notebook 03 saves one): training one now "
                    f"with the {recipe!r} recipe.")
    run = train(recipe, train_data, val_data, epochs=epochs)
    models.save_model(run.model, path)
    return run.model
