"""Checkpoints in a notebook: a long training loaded from its checkpoint when its settings
and data match the notebook's, saying where it came from; otherwise trained, and kept only
when ``cnn-course prepare`` runs the notebook (it sets ``CNN_COURSE_REBUILD``), so that a
learner's experiment never stands in for a prepared checkpoint. A checkpoint is a model
(``NAME.keras``) and its model card (``NAME.json``, :mod:`helpers.model_card`). Fast mode
has its own (``NAME_fast``). Notebooks 04 and 08 catch up from notebook 03's model.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from helpers import paths, report
from helpers.files import atomic_write, replace_together
from helpers.model_card import (CardError, ModelCard, TrainingRun, card_path, config_fingerprint,
                                data_fingerprint, fingerprint)

CHECKPOINT_ENV = "CNN_COURSE_CHECKPOINTS"  # another checkpoint folder (the tests use their own)
REBUILD_ENV = "CNN_COURSE_REBUILD"         # "1": train and replace (what `prepare` sets)
CATCH_UP = "03_mnist_cnn"                  # notebook 03's final model: what a learner catches up from
GET_CHECKPOINTS = ("run `cnn-course prepare` (it trains them), or copy them from a prepared "
                   "folder with `cnn-course fetch-data --from DIR`")


def checkpoint_dir() -> Path:
    """Where checkpoints live: ``$CNN_COURSE_CHECKPOINTS``, or the course's ``checkpoints/``."""
    return Path(os.environ.get(CHECKPOINT_ENV) or paths.CHECKPOINT_DIR)


def full_name(name: str, fast: bool = False) -> str:
    """A checkpoint's name in fast mode (``NAME_fast``) or full mode."""
    return f"{name}_fast" if fast else name


def model_file(name: str, folder: Path | None = None) -> Path:
    """Checkpoint ``name``'s model file."""
    return (folder or checkpoint_dir()) / f"{name}.keras"


def rebuilding() -> bool:
    """Whether ``cnn-course prepare`` is running this notebook (train and keep)."""
    return os.environ.get(REBUILD_ENV) == "1"


def present(name: str, fast: bool = False) -> bool:
    """Whether checkpoint ``name`` is there and whole (its settings are checked on loading)."""
    try:
        ModelCard.read(model_file(full_name(name, fast)))
        return True
    except CardError:
        return False


def recipe_settings(recipe, epochs: int) -> dict:
    """What decides a recipe's training, as a checkpoint's settings: its networks, optimizer
    and augmentation (a fingerprint of each one's configuration), batch size and epochs."""
    import keras

    builders = recipe.builders
    return {
        "recipe": recipe.name, "epochs": epochs, "batch_size": recipe.batch_size,
        "networks": config_fingerprint([build().get_config() for build in builders]),
        "optimizer": config_fingerprint(keras.optimizers.serialize(recipe.optimizer(1000))),
        "augmentation": config_fingerprint(recipe.augment().get_config())
        if recipe.augment else None,
    }


@dataclass
class Checkpointed(TrainingRun):
    """A long training, trained here or loaded: its card (``None`` when it was trained here
    and not kept), whether it was loaded, and the accuracy measured on it by this run."""

    card: ModelCard | None = None
    loaded: bool = False
    accuracy: float | None = None


def _matching_card(name: str, wanted: dict) -> tuple[ModelCard | None, str | None]:
    """The card of checkpoint ``name`` if it was made with ``wanted``'s settings and data;
    else ``None`` and why (``None`` too when there is no checkpoint)."""
    if not model_file(name).with_suffix(".json").exists():
        return None, None
    try:
        card = ModelCard.read(model_file(name))
    except CardError as exc:
        return None, str(exc)
    for key, what in (("data", "training data"), ("settings", "settings")):
        if getattr(card, key) != wanted[key]:
            return None, f"it was made with other {what} ({getattr(card, key)}, here {wanted[key]})"
    return card, None


def _load(name: str, wanted: dict) -> tuple[Checkpointed | None, str | None]:
    from helpers import export
    from helpers.errors import ModelError

    card, reason = _matching_card(name, wanted)
    if card is None:
        return None, reason
    try:
        model = export.load_model(model_file(name))
    except ModelError as exc:  # another Keras, say: train instead
        return None, str(exc)
    return Checkpointed(model, card.history, card.epoch_seconds, card, loaded=True), None


_loads_to_say: list[ModelCard] | None = None   # inside ``loads_said_together``: the loads so far


@contextlib.contextmanager
def loads_said_together(what: str):
    """Within the block, the checkpoints that load are said in one line at its end, not a
    line each (``what``: the trainings they stand for)."""
    global _loads_to_say
    outer, _loads_to_say = _loads_to_say, []
    try:
        yield
        cards = _loads_to_say
    finally:
        _loads_to_say = outer
    if cards:
        days = sorted({card.date[:10] for card in cards})
        report.announce(
            f"Loaded {len(cards)} of {what} from checkpoints made {days[0]}"
            f"{' to ' + days[-1] if len(days) > 1 else ''} by {cards[0].made_by} (their "
            f"trainings took {sum(c.training_seconds for c in cards):.0f} s, "
            f"{sum(c.reference_epochs for c in cards):.1f} reference epochs, on "
            f"{cards[0].machine}); any other trained here, announced. To train them all here, "
            "set USE_CHECKPOINTS = False in the settings cell.")


def load_or_train(name: str, what: str, settings: dict, data, train: Callable, *,
                  fast: bool = False, use: bool = True) -> Checkpointed:
    """Checkpoint ``name`` when it matches ``settings`` and the training ``data`` (x, y);
    otherwise ``train()`` (a ``TrainingRun`` or anything with ``model``, ``history`` and
    ``epoch_seconds``), kept as the checkpoint when ``prepare`` runs. ``use=False`` trains."""
    name = full_name(name, fast)
    wanted = {"settings": settings, "data": data_fingerprint(*data)}
    if use and not rebuilding():
        found, reason = _load(name, wanted)
        if found and _loads_to_say is not None:
            _loads_to_say.append(found.card)
            return found
        if found:
            report.announce(f"Loaded checkpoint {name} instead of training: {what}, "
                            f"{found.card.describe()}. To train it here, set "
                            "USE_CHECKPOINTS = False in the settings cell.")
            return found
        if reason:
            report.announce(f"Not using checkpoint {name}: {reason}. Training instead.")
    return _keep(name, what, wanted, train())


def _keep(name: str, what: str, wanted: dict, run, measured: dict | None = None) -> Checkpointed:
    result = Checkpointed(run.model, run.history, list(run.epoch_seconds))
    if rebuilding():
        card = ModelCard.for_run(name, what, "cnn-course prepare", run, **wanted,
                                 measured={k: float(v) for k, v in (measured or {}).items()})
        result.card = card.save_with(run.model, model_file(name))
        report.announce(f"Kept as checkpoint {name} in {checkpoint_dir()}.")
    return result


def keep(name: str, what: str, run, data, measured: dict, *, fast: bool = False) -> None:
    """Keep a finished training as checkpoint ``name`` when ``prepare`` runs, with what was
    measured on it: what a learner catches up from."""
    _keep(full_name(name, fast), what, {"settings": {}, "data": data_fingerprint(*data)},
          run, measured)


def record_measurement(result: Checkpointed, key: str, value: float) -> float:
    """Note what a run measured on its checkpoint's model: kept in a new card; compared with
    the card's value when the checkpoint was loaded. Returns ``value``."""
    if result.loaded:
        then = result.card.measured.get(key)
        if then is not None:
            report.announce(f"{key}: {value:.4f} now, {then:.4f} when the checkpoint was made.")
    elif result.card:
        result.card.measured[key] = float(value)
        result.card.write(model_file(result.card.name).with_suffix(".json"))
    return value


def _measured(run: Checkpointed, evaluate_on: dict | None) -> Checkpointed:
    """``run`` with its accuracy on ``evaluate_on`` ({"validation": (x, y)}, say) measured
    by this run, kept in a new card and compared with a loaded one's."""
    for where, (x, y) in (evaluate_on or {}).items():
        run.accuracy = record_measurement(
            run, f"{where}_accuracy", float(run.model.evaluate(x, y, verbose=0)[1]))
    return run


def _estimate(what: str, cost: float | str, images: int, source: str | None = None,
              progress: bool = True) -> float:
    """Announce a training of ``images`` images (epochs counted in) at ``cost`` reference
    epochs per 60,000 images (measured by ``source``), or at the cost measured for the step
    named ``cost``; ``progress``: whether a line per epoch follows."""
    from helpers import speed

    if isinstance(cost, str):
        return speed.announce_training(f"Training {what}", cost, images=images, progress=progress)
    return speed.announce_long(f"Training {what}", cost * images / speed.TRAIN_IMAGES, source,
                               progress)


def train_recipe(name: str | None, recipe, data, *, epochs: int | None = None,
                 what: str | None = None, evaluate_on: dict | None = None,
                 cost: float | str | None = None, verbose: bool = True, fast: bool = False,
                 use: bool = True) -> Checkpointed:
    """``recipe`` trained on ``data`` (x, y) from seed 0, as one long step: loaded from
    checkpoint ``name`` when one matches the recipe's settings and these images (saying
    where it came from); otherwise announced with its estimate for this machine, trained
    here, and kept when ``cnn-course prepare`` runs (``name=None``: always trained, never
    kept). ``evaluate_on``: the accuracy this run measures (``{"validation": (x, y)}``),
    compared with the checkpoint's. ``cost``: reference epochs per 60,000 images, or the
    name of a step the course measured; the recipe's own by default."""
    import keras

    from helpers import training

    epochs = epochs or recipe.epochs
    what = what or f"{recipe.name}: {len(data[0]):,} images, {epochs} epoch{'s' * (epochs != 1)}"

    def train():
        _estimate(what, recipe.epoch_cost if cost is None else cost, epochs * len(data[0]),
                  recipe.cost_source if cost is None else None, progress=verbose)
        keras.utils.set_random_seed(0)
        return training.train(recipe, data, epochs=epochs, verbose=verbose)

    if name is None:
        return _measured(Checkpointed(**vars(train())), evaluate_on)
    return _measured(load_or_train(name, what, recipe_settings(recipe, epochs), data, train,
                                   fast=fast, use=use), evaluate_on)


def fit_or_load(name: str, model, x, y, *, epochs: int, batch_size: int, validation_data=None,
                what: str, evaluate_on: dict | None = None, cost: float = 1.0,
                fast: bool = False, use: bool = True) -> Checkpointed:
    """``model.fit(x, y, ...)`` for a compiled model, as one long step: its weights loaded
    from checkpoint ``name`` when one matches the network, its optimizer, its random start,
    the batch size, epochs and these images; otherwise announced (``cost``: reference epochs
    per 60,000 images, 1 for the article's recipe), fitted here with one line per epoch,
    and kept when ``cnn-course prepare`` runs. ``evaluate_on`` as for :func:`train_recipe`."""
    import keras

    from helpers import training

    settings = {"network": config_fingerprint(model.get_config()),
                "optimizer": config_fingerprint(keras.optimizers.serialize(model.optimizer)),
                "random_start": fingerprint(*model.get_weights()),
                "epochs": epochs, "batch_size": batch_size}

    def fit():
        _estimate(what, cost, epochs * len(x))
        log = training.EpochLog(epochs)
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                            validation_data=validation_data, callbacks=[log])
        return TrainingRun(model, history.history, log.epoch_seconds)

    run = load_or_train(name, what, settings, (x, y), fit, fast=fast, use=use)
    if run.loaded:  # the notebook's own model holds the checkpoint's weights and optimizer
        model.set_weights(run.model.get_weights())
        model.optimizer.build(model.trainable_variables)
        for mine, kept in zip(model.optimizer.variables, run.model.optimizer.variables):
            mine.assign(kept)
        run.model = model
    return _measured(run, evaluate_on)


def catch_up(dest: Path | None = None, fast: bool = False) -> Path:
    """Put notebook 03's model where notebooks 04 and 08 look (``models/``), from its
    checkpoint (verified), with its model card; returns the model's path."""
    name = full_name(CATCH_UP, fast)
    try:
        card = ModelCard.read(model_file(name))
    except CardError as exc:
        raise CardError(f"cannot catch up: {exc}. To get the checkpoints, "
                        f"{GET_CHECKPOINTS}.") from None
    from helpers import export
    from helpers.errors import ModelError

    try:
        export.load_model(model_file(name))  # installed only if Keras opens it
    except ModelError as exc:
        raise CardError(f"cannot catch up: the checkpoint {exc} To get the checkpoints again, "
                        f"{GET_CHECKPOINTS}.") from None
    dest = Path(dest or paths.model_path(fast))
    with atomic_write(dest) as model_tmp, atomic_write(card_path(dest)) as card_tmp:
        shutil.copyfile(model_file(name), model_tmp)
        card_tmp.write_text(card.to_json(), encoding="utf-8")
        replace_together([(model_tmp, dest), (card_tmp, card_path(dest))])
    scores = ", ".join(f"{k} {v:.2%}" for k, v in card.measured.items())
    report.announce(f"Caught up: notebook 03's model ({card.describe()}"
                    f"{'; ' + scores if scores else ''}) is now at {dest}.")
    return dest
