"""The course's named training recipes, shared by the notebooks and ``cnn-course train``.

A recipe names everything that decides how a model is trained: the architecture, the
optimizer and its learning-rate schedule, the batch size, the number of epochs, how the
data is fed, and any augmentation. ``training.train`` runs one. The table imports nothing
heavy: its builders import TensorFlow only when they build, so the command line can list
the recipes at once.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from helpers.errors import UsageError


def _builder(module: str, name: str, **kwargs) -> Callable:
    """``helpers.<module>.<name>(**kwargs)`` as a builder that imports the module when called."""
    def build():
        return getattr(importlib.import_module(f"helpers.{module}"), name)(**kwargs)

    build.__name__ = name
    return build


def adam(learning_rate: float = 1e-3) -> Callable:
    """Adam at a constant learning rate (the article's optimizer at its default)."""
    def make(total_steps: int):
        import keras

        return keras.optimizers.Adam(learning_rate)

    return make


def adam_one_cycle(peak: float, warmup: float = 0.2, average_weights: bool = False) -> Callable:
    """Adam whose learning rate rises linearly to ``peak`` for the first ``warmup`` share of
    the steps, then follows a cosine down to zero (a "one-cycle" schedule). With
    ``average_weights``, the final weights are a moving average over the last steps."""

    def make(total_steps: int):
        import keras

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
    build: Callable | tuple[Callable, ...]
    optimizer: Callable            # total training steps -> a Keras optimizer
    batch_size: int
    epochs: int
    pipeline: bool = False         # feed through tf.data: cache, shuffle, batch, prefetch
    augment: Callable | None = None  # makes the random transforms for training batches
    steps_per_execution: int = 1   # training steps per call into TensorFlow
    epoch_cost: float = 1.0        # one epoch of 60,000 images, in reference epochs (below)
    cost_source: str | None = "the definition of the reference epoch"

    @property
    def builders(self) -> tuple[Callable, ...]:
        """One builder per network the recipe trains (their predictions are averaged)."""
        return self.build if isinstance(self.build, tuple) else (self.build,)

    @property
    def members(self) -> int:
        """How many networks the recipe trains."""
        return len(self.builders)


# Where the recipes' epoch costs come from: the reference epochs of training per epoch that
# `cnn-course bench --seeds 3` measured (the README's record).
BENCH = "`cnn-course bench` (its training, in reference epochs per epoch)"

RECIPES: dict[str, Recipe] = {
    "seed": Recipe(
        name="seed",
        summary="the beginner article's recipe: its CNN, Adam, batch 32, 5 epochs",
        build=_builder("architectures", "article_cnn"),
        optimizer=adam(1e-3),
        batch_size=32,
        epochs=5,
    ),
    # The least wall-clock time to 99% on a CPU. A CNN with strided convolutions instead of
    # pooling does a quarter of the article's arithmetic; batch normalisation lets it train
    # at a thirty times larger learning rate; batches of 512 keep
    # both cores busy with fewer, larger steps; a one-cycle schedule warms up, then anneals
    # to zero by the third epoch; tf.data feeds batches from memory while a step computes.
    "fast": Recipe(
        name="fast",
        summary="strided CNN with batch norm, batch 512, one-cycle Adam to 0.03, 3 epochs",
        build=_builder("architectures", "strided_cnn"),
        optimizer=adam_one_cycle(3e-2),
        batch_size=512,
        epochs=3,
        pipeline=True,
        epoch_cost=0.23,
        cost_source=BENCH,
    ),
    # The highest accuracy in a few minutes of CPU training: a wider CNN with batch
    # normalisation (after every convolution but the first, where it took a large share of
    # the time and bought no accuracy, and after the hidden dense layer) and dropout, random
    # shifts, rotations and zooms of every training batch (new variants of each digit every
    # epoch), a one-cycle schedule, final weights averaged over the last steps; two such
    # networks, one seeing 3x3 and one 5x5 windows, whose predicted probabilities are
    # averaged (their mistakes differ, so the average usually makes fewer than either;
    # different designs differ a little more than two copies).
    "best": Recipe(
        name="best",
        summary="2 wider CNNs (3x3 and 5x5 kernels) with batch norm, dropout and augmentation, "
                "one-cycle Adam, 10 epochs each, predictions averaged",
        build=(_builder("architectures", "wide_cnn"),
               _builder("architectures", "wide_cnn", kernel_size=5)),
        optimizer=adam_one_cycle(4e-3, average_weights=True),
        batch_size=128,
        epochs=10,
        pipeline=True,
        augment=_builder("blocks", "digit_augmentation"),
        epoch_cost=2 * 0.87,   # each of its two networks, one after the other
        cost_source=BENCH,
    ),
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a clear error lists the choices."""
    if name not in RECIPES:
        raise UsageError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}.")
    return RECIPES[name]
