"""Checkpoints in a notebook: a long training loaded from its checkpoint when its settings
and data match the notebook's, saying where it came from; otherwise trained, and kept only
when ``cnn-course prepare`` runs the notebook (it sets ``CNN_COURSE_REBUILD``), so that a
learner's experiment never stands in for a prepared checkpoint. A model card holds what the
checkpoint is, its settings and data (fingerprints), its curves and times (seconds and
reference epochs), what its run measured, versions, date, machine and the model's sha256.
Fast mode has its own (``NAME_fast``). The folder itself is ``helpers.checkpoint_store``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from typing import Callable

from helpers import report
from helpers.checkpoint_store import (
    CARD_FORMAT, CheckpointError, file_sha256, checkpoint_dir, describe, full_name, read_card,
    rebuilding,
)
from helpers.files import write_text
from helpers.training import TrainingRun


def fingerprint(*arrays) -> str:
    """A short hash of arrays (weights, say): equal arrays, equal fingerprints."""
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _config_fingerprint(config) -> str:
    """A short hash of a Keras configuration, without the names Keras numbers as it goes."""
    def unnamed(value):
        if isinstance(value, dict):
            return {k: unnamed(v) for k, v in value.items() if k != "name"}
        if isinstance(value, (list, tuple)):
            return [unnamed(v) for v in value]
        return value

    text = json.dumps(unnamed(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def recipe_settings(recipe, epochs: int) -> dict:
    """What decides a recipe's training, as a checkpoint's settings: its networks, optimizer
    and augmentation (a fingerprint of each one's configuration), batch size and epochs."""
    import keras

    builders = recipe.builders
    return {
        "recipe": recipe.name, "epochs": epochs, "batch_size": recipe.batch_size,
        "networks": _config_fingerprint([build().get_config() for build in builders]),
        "optimizer": _config_fingerprint(keras.optimizers.serialize(recipe.optimizer(1000))),
        "augmentation": _config_fingerprint(recipe.augment().get_config())
        if recipe.augment else None,
    }


def data_fingerprint(x, y) -> dict:
    """Enough to tell two training sets apart: their size and a hash of labels and pixels."""
    return {"images": int(len(x)), "sha256": fingerprint(y, x[::max(len(x) // 1000, 1)])}


@dataclass
class Checkpointed(TrainingRun):
    """What ``load_or_train`` gives: a training run, with its card and whether it was loaded."""

    card: dict = field(default_factory=dict)
    loaded: bool = False


def _matching_card(name: str, wanted: dict) -> tuple[dict | None, str | None]:
    """The card of checkpoint ``name`` if it was made with ``wanted``'s settings and data;
    else ``None`` and why (``None`` too when there is no checkpoint)."""
    if not (checkpoint_dir() / f"{name}.json").exists():
        return None, None
    try:
        card = read_card(name)
    except CheckpointError as exc:
        return None, str(exc)
    for key, what in (("data", "training data"), ("settings", "settings")):
        if card.get(key) != wanted[key]:
            return None, f"it was made with other {what} ({card.get(key)}, here {wanted[key]})"
    return card, None


def _load(name: str, wanted: dict) -> tuple[Checkpointed | None, str | None]:
    from helpers import export
    from helpers.errors import ModelError

    card, reason = _matching_card(name, wanted)
    if card is None:
        return None, reason
    try:
        model = export.load_model(checkpoint_dir() / f"{name}.keras")
    except ModelError as exc:  # another Keras, say: train instead
        return None, str(exc)
    return Checkpointed(model, card["history"], card["epoch_seconds"], card, loaded=True), None


def will_load(name: str, settings: dict, data, *, fast: bool = False, use: bool = True) -> bool:
    """Whether ``load_or_train`` with these arguments will load rather than train."""
    if not use or rebuilding():
        return False
    wanted = {"settings": settings, "data": data_fingerprint(*data)}
    return _matching_card(full_name(name, fast), wanted)[0] is not None


def save(name: str, run, card: dict) -> dict:
    """Write ``run``'s model and then its card into the checkpoint folder."""
    from helpers import export

    folder = checkpoint_dir()
    (folder / f"{name}.json").unlink(missing_ok=True)  # no old card beside a new model
    model_file = export.save_model(run.model, folder / f"{name}.keras")
    card = dict(card, format=CARD_FORMAT, sha256=file_sha256(model_file))
    write_text(folder / f"{name}.json", json.dumps(card, indent=1) + "\n")
    return card


def _new_card(name: str, what: str, wanted: dict, run) -> dict:
    import keras

    from helpers import speed

    seconds = float(sum(run.epoch_seconds))
    return {
        "name": name, "what": what, **wanted,
        "history": {k: [v if isinstance(v, str) else float(v) for v in values]
                    for k, values in run.history.items()},
        "epoch_seconds": [round(float(s), 2) for s in run.epoch_seconds],
        "training_seconds": round(seconds, 1),
        "reference_epochs": round(seconds / speed.reference_epoch_seconds(), 2),
        "measured": {},
        "made_by": "cnn-course prepare",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores ({platform.node()})",
        "versions": {"python": platform.python_version(), "keras": keras.__version__},
        "date": dt.datetime.now().isoformat(timespec="seconds"),
    }


def load_or_train(name: str, what: str, settings: dict, data, train: Callable, *,
                  fast: bool = False, use: bool = True) -> Checkpointed:
    """Checkpoint ``name`` when it matches ``settings`` and the training ``data`` (x, y);
    otherwise ``train()`` (a ``TrainingRun`` or anything with ``model``, ``history`` and
    ``epoch_seconds``), kept as the checkpoint when ``prepare`` runs. ``use=False`` trains."""
    name = full_name(name, fast)
    wanted = {"settings": settings, "data": data_fingerprint(*data)}
    if use and not rebuilding():
        found, reason = _load(name, wanted)
        if found:
            report.announce(f"Loaded checkpoint {name} instead of training: {what}, "
                            f"{describe(found.card)}. To train it here, set "
                            "USE_CHECKPOINTS = False in the settings cell.")
            return found
        if reason:
            report.announce(f"Not using checkpoint {name}: {reason}. Training instead.")
    return _keep(name, what, wanted, train())


def _keep(name: str, what: str, wanted: dict, run, measured: dict | None = None) -> Checkpointed:
    result = Checkpointed(run.model, run.history, list(run.epoch_seconds))
    if rebuilding():
        card = _new_card(name, what, wanted, run)
        card["measured"] = {k: float(v) for k, v in (measured or {}).items()}
        result.card = save(name, run, card)
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
        then = result.card.get("measured", {}).get(key)
        if then is not None:
            report.announce(f"{key}: {value:.4f} now, {then:.4f} when the checkpoint was made.")
    elif result.card:
        result.card["measured"][key] = float(value)
        write_text(checkpoint_dir() / f"{result.card['name']}.json",
                   json.dumps(result.card, indent=1) + "\n")
    return value
