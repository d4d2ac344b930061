"""Training with the course's recipes, one line of progress per epoch.

``train`` runs a recipe from ``helpers.recipes`` on arrays: one network, or one after
another for an ensemble whose predictions are averaged.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import export, report
from helpers.architectures import average_of
from helpers.errors import CourseError
from helpers.model_card import TrainingRun
from helpers.recipes import Recipe, get_recipe


class EpochLog(keras.callbacks.Callback):
    """Print one line per epoch (loss, accuracy, validation, seconds): readable live and saved."""

    def __init__(self, epochs: int, verbose: bool = True):
        super().__init__()
        self.epochs, self.verbose = epochs, verbose
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._started
        self.epoch_seconds.append(seconds)
        if self.verbose:
            shown = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()
                              if k in {"loss", "accuracy", "val_loss", "val_accuracy"})
            report.announce(f"epoch {epoch + 1}/{self.epochs}  {shown}  ({seconds:.1f} s)")


def training_dataset(x, y, recipe: Recipe, seed: int = 0) -> tf.data.Dataset:
    """The recipe's input pipeline: cached in memory, reshuffled each epoch, batched,
    augmented on the fly when the recipe says so, and prefetched while the model trains."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(recipe.batch_size)
    if recipe.augment is not None:
        augment = recipe.augment()
        ds = ds.map(lambda images, labels: (augment(images, training=True), labels),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def train(recipe: str | Recipe, train_data, val_data=None, epochs: int | None = None,
          model: keras.Model | None = None, callbacks=(), verbose: bool = True,
          backup_dir: str | Path | None = None, shuffle_seed: int = 0) -> TrainingRun:
    """Train with ``recipe`` on ``(x, y)`` float inputs; validation data only for monitoring.
    A recipe fed through ``tf.data`` shuffles in the order ``shuffle_seed`` gives.
    With ``backup_dir``, the training is kept there after every epoch, and a training
    started again with the same folder resumes from its last epoch (Keras'
    ``BackupAndRestore``; one subfolder per network of an ensemble)."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if recipe.members > 1 and model is None:
        return _train_ensemble(recipe, train_data, val_data, epochs, callbacks, verbose, backup_dir,
                               shuffle_seed)
    if backup_dir is not None:
        _say_where_it_resumes(backup_dir, verbose)
        # first, so each epoch is kept before anything else can stop it; kept when done, since
        # the ensemble it belongs to may not be; the weights' previous copy is kept too, which
        # Keras falls back to if the last ones cannot be read
        callbacks = [_BackupAndRestore(str(backup_dir), delete_checkpoint=False,
                                       double_checkpoint=True), *callbacks]
    epochs = epochs or recipe.epochs
    x, y = train_data
    model = model or recipe.build()
    steps = int(np.ceil(len(x) / recipe.batch_size)) * epochs
    model.compile(
        optimizer=recipe.optimizer(steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=recipe.steps_per_execution,
    )
    log = EpochLog(epochs, verbose)
    fit_args = dict(epochs=epochs, validation_data=val_data, callbacks=[log, *callbacks],
                    verbose=0)
    if recipe.pipeline or recipe.augment is not None:
        history = model.fit(training_dataset(x, y, recipe, shuffle_seed), shuffle=False, **fit_args)
    else:
        history = model.fit(x, y, batch_size=recipe.batch_size, **fit_args)
    return TrainingRun(model, history.history, log.epoch_seconds)


class _BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' ``BackupAndRestore``, saying what to do when the training it keeps cannot be
    read (damaged, or written by another Keras)."""

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (OSError, ValueError) as exc:
            raise CourseError(f"the training kept in {self.backup_dir} cannot be read ({exc}): "
                              "delete that folder to start the training again.") from None


def _say_where_it_resumes(backup_dir: str | Path, verbose: bool) -> None:
    """Announce a training that ``BackupAndRestore`` will resume, and after which epoch."""
    import json

    kept = Path(backup_dir) / "training_metadata.json"
    if verbose and kept.is_file():
        try:
            done = f"after epoch {json.loads(kept.read_text())['epoch']}"
        except (ValueError, KeyError, TypeError):
            done = "where it stopped"
        report.announce(f"resuming {done}, from {backup_dir}")


def networks(recipe: Recipe) -> list[keras.Model]:
    """The recipe's networks, newly built, each named uniquely within its ensemble."""
    built = [build() for build in recipe.builders]
    if len(built) > 1:
        for member, model in enumerate(built, start=1):
            model.name = f"{model.name}_{member}"
    return built


def ensemble_of(models: list[keras.Model]) -> keras.Model:
    """One model averaging ``models``' predictions, compiled so that it saves and reloads
    whole."""
    ensemble = average_of(models)
    ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ensemble.optimizer.build(ensemble.trainable_variables)
    return ensemble


def _train_ensemble(recipe: Recipe, train_data, val_data, epochs, callbacks, verbose,
                    backup_dir, shuffle_seed) -> TrainingRun:
    """Train one network per builder, one after another; one model averages them."""
    runs = []
    for member, (build, model) in enumerate(zip(recipe.builders, networks(recipe)), start=1):
        if verbose:
            report.announce(f"network {member} of {recipe.members}: {model.name}")
        backup = Path(backup_dir) / f"network-{member}" if backup_dir is not None else None
        runs.append(train(replace(recipe, build=build), train_data, val_data, epochs,
                          model=model, callbacks=callbacks, verbose=verbose, backup_dir=backup,
                          shuffle_seed=shuffle_seed))
    ensemble = ensemble_of([run.model for run in runs])
    keys = dict.fromkeys(key for run in runs for key in run.history)  # a restored one has none
    history = {key: [v for run in runs for v in run.history.get(key, [])] for key in keys}
    if val_data is not None:
        loss, accuracy = ensemble.evaluate(*val_data, verbose=0)
        history["ensemble_val_loss"], history["ensemble_val_accuracy"] = [loss], [accuracy]
    return TrainingRun(ensemble, history, [s for run in runs for s in run.epoch_seconds])


def model_from_notebook_03(path: str | Path, train_data, val_data=None, recipe: str = "seed",
                           epochs: int | None = None, fast: bool = False) -> keras.Model:
    """Notebook 03's model for notebooks 04 and 08: the one saved at ``path``; else notebook
    03's checkpoint, copied there (catching up); else a model trained now with ``recipe``
    (announced with its estimate) and saved there."""
    from helpers import checkpoints, speed
    from helpers.model_card import CardError

    path = Path(path)
    if path.is_file():
        report.announce(f"Loaded the model saved at {path}.")
        return export.load_model(path)
    try:
        return export.load_model(checkpoints.catch_up(path, fast=fast))
    except CardError:
        pass  # no checkpoint either: train one
    recipe = get_recipe(recipe)
    epochs = epochs or recipe.epochs
    speed.announce_long(
        f"No model at {path} yet (notebook 03 saves one), and no checkpoint of it to catch up "
        f"from: training one now with the {recipe.name!r} recipe",
        reference_epochs=epochs * len(train_data[0]) / speed.TRAIN_IMAGES * recipe.epoch_cost,
        source=recipe.cost_source)
    run = train(recipe, train_data, val_data, epochs=epochs)
    export.save_model(run.model, path)
    return run.model
