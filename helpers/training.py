"""Training recipes that notebooks and the command line share, and one-line-per-epoch logs.

A recipe names everything that decides how a model is trained: the architecture, the
optimizer and its learning-rate schedule, the batch size, the number of epochs, how the
data is fed, and any augmentation. ``train`` runs one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from helpers import models, report
from helpers.session import keras, tf


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


def adam(learning_rate: float = 1e-3) -> Callable[[int], keras.optimizers.Optimizer]:
    """Adam at a constant learning rate (the article's optimizer at its default)."""
    return lambda total_steps: keras.optimizers.Adam(learning_rate)


def adam_one_cycle(peak: float, warmup: float = 0.2,
                   average_weights: bool = False) -> Callable[[int], keras.optimizers.Optimizer]:
    """Adam whose learning rate rises linearly to ``peak`` for the first ``warmup`` share of
    the steps, then follows a cosine down to zero (a "one-cycle" schedule). With
    ``average_weights``, the final weights are a moving average over the last steps."""

    def make(total_steps: int):
        warmup_steps = max(int(total_steps * warmup), 1)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=peak / 25, decay_steps=max(total_steps - warmup_steps, 1),
            warmup_target=peak, warmup_steps=warmup_steps, alpha=0.0,
        )
        return keras.optimizers.Adam(schedule, use_ema=average_weights, ema_momentum=0.99)

    return make


@dataclass(frozen=True)
class Recipe:
    """How to train: model, optimizer (given the total number of steps), batch size, epochs,
    and how the data is fed (plain arrays, or a ``tf.data`` pipeline with optional augmentation).
    ``build`` makes the model; a tuple of builders makes an ensemble, one network from each."""

    name: str
    summary: str
    build: Callable[[], keras.Model] | tuple[Callable[[], keras.Model], ...]
    optimizer: Callable[[int], keras.optimizers.Optimizer]
    batch_size: int
    epochs: int
    pipeline: bool = False               # feed through tf.data: cache, shuffle, batch, prefetch
    augment: Callable[[], keras.Layer] | None = None   # random transforms for training batches
    steps_per_execution: int = 1         # training steps per call into TensorFlow

    @property
    def members(self) -> int:
        """How many networks the recipe trains (their predictions are averaged)."""
        return len(self.build) if isinstance(self.build, tuple) else 1


RECIPES: dict[str, Recipe] = {
    "seed": Recipe(
        name="seed",
        summary="the beginner article's recipe: its CNN, Adam, batch 32, 5 epochs",
        build=models.article_cnn,
        optimizer=adam(1e-3),
        batch_size=32,
        epochs=5,
    ),
    # The least wall-clock time to 99% on a CPU. A CNN with strided convolutions instead of
    # pooling does a quarter of the article's arithmetic; batch normalisation (TensorFlow's
    # fused kernel) lets it train at a thirty times larger learning rate; batches of 512 keep
    # both cores busy with fewer, larger steps; a one-cycle schedule warms up, then anneals
    # to zero by the third epoch; tf.data feeds batches from memory while a step computes.
    "fast": Recipe(
        name="fast",
        summary="strided CNN with batch norm, batch 512, one-cycle Adam to 0.03, 3 epochs",
        build=models.strided_cnn,
        optimizer=adam_one_cycle(3e-2),
        batch_size=512,
        epochs=3,
        pipeline=True,
    ),
    # The highest accuracy in a few minutes of CPU training: a wider CNN with batch
    # normalisation and dropout, random shifts, rotations and zooms of every training batch
    # (new variants of each digit every epoch), a one-cycle schedule, final weights averaged
    # over the last steps; two such networks, one seeing 3x3 and one 5x5 windows, whose
    # predicted probabilities are averaged (their mistakes differ, so the average usually
    # makes fewer than either; different designs differ a little more than two copies).
    "best": Recipe(
        name="best",
        summary="2 wider CNNs (3x3 and 5x5 kernels) with batch norm, dropout and augmentation, "
                "one-cycle Adam, 10 epochs each, predictions averaged",
        build=(models.wide_cnn, partial(models.wide_cnn, kernel_size=5)),
        optimizer=adam_one_cycle(4e-3, average_weights=True),
        batch_size=128,
        epochs=10,
        pipeline=True,
        augment=models.digit_augmentation,
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
          model: keras.Model | None = None, callbacks=(), verbose: bool = True) -> TrainingRun:
    """Train with ``recipe`` on ``(x, y)`` float inputs; validation data only for monitoring."""
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if isinstance(recipe.build, tuple) and model is None:
        return _train_ensemble(recipe, train_data, val_data, epochs, callbacks, verbose)
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
        history = model.fit(training_dataset(x, y, recipe), shuffle=False, **fit_args)
    else:
        history = model.fit(x, y, batch_size=recipe.batch_size, **fit_args)
    return TrainingRun(model, history.history, log.epoch_seconds)


def _train_ensemble(recipe: Recipe, train_data, val_data, epochs, callbacks, verbose) -> TrainingRun:
    """Train one network per builder, one after another; one model averages them."""
    runs = []
    for member, build in enumerate(recipe.build, start=1):
        model = build()
        model.name = f"{model.name}_{member}"  # names must be unique inside the ensemble
        if verbose:
            report.announce(f"network {member} of {recipe.members}: {model.name}")
        runs.append(train(replace(recipe, build=build), train_data, val_data, epochs,
                          model=model, callbacks=callbacks, verbose=verbose))
    ensemble = models.average_of([run.model for run in runs])
    ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ensemble.optimizer.build(ensemble.trainable_variables)  # so that it saves and reloads whole
    history = {key: [v for run in runs for v in run.history[key]] for key in runs[0].history}
    if val_data is not None:
        loss, accuracy = ensemble.evaluate(*val_data, verbose=0)
        history["ensemble_val_loss"], history["ensemble_val_accuracy"] = [loss], [accuracy]
    return TrainingRun(ensemble, history, [s for run in runs for s in run.epoch_seconds])


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


def train_and_save(recipe_name: str, path: str | Path, epochs: int | None = None) -> dict:
    """Train ``recipe_name`` on all training images of the best available data, measure test
    accuracy once, save the model and a JSON model card beside it; returns the card."""
    import datetime as dt
    import json
    import platform

    from helpers import data

    recipe = get_recipe(recipe_name)
    mnist = data.load_mnist()
    (x_train, y_train), (x_test, y_test) = mnist
    run = train(recipe, (data.to_model_input(x_train), y_train), epochs=epochs)
    _, test_accuracy = run.model.evaluate(data.to_model_input(x_test), y_test, verbose=0)
    path = models.save_model(run.model, path)
    card = {
        "recipe": recipe.name,
        "summary": recipe.summary,
        "epochs": len(run.epoch_seconds),
        "data_source": mnist.source,
        "train_images": int(len(x_train)),
        "test_accuracy": round(float(test_accuracy), 5),
        "training_seconds": round(run.seconds, 1),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__},
        "date": dt.datetime.now().isoformat(timespec="seconds"),
    }
    path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def head_then_fine_tune(model: keras.Model, base: keras.Model, train_data, val_data=None,
                        head_epochs: int = 5, fine_epochs: int = 5, unfreeze_layers: int = 0,
                        head_lr: float = 1e-3, fine_lr: float = 1e-4,
                        batch_size: int = 32) -> tuple[dict, dict]:
    """Transfer learning in two phases: train only the new head on the frozen ``base``, then
    unfreeze the base's last ``unfreeze_layers`` (all when 0) and continue at a low learning
    rate. Data: ``(x, y)`` arrays or ``tf.data`` datasets. Returns both phases' histories."""

    def fit(epochs, learning_rate):
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        if isinstance(train_data, tf.data.Dataset):
            return model.fit(train_data, validation_data=val_data, epochs=epochs,
                             shuffle=False, verbose=0).history  # the dataset shuffles itself
        x, y = train_data
        return model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=val_data,
                         verbose=0).history

    base.trainable = False
    head_history = fit(head_epochs, head_lr)
    models.unfreeze_top(base, unfreeze_layers)
    fine_history = fit(fine_epochs, fine_lr) if fine_epochs else {}
    return head_history, fine_history
