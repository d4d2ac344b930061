"""Checkpoints: long trainings a notebook reuses instead of repeating them in class.

A checkpoint is a model saved by the course (``NAME.keras``) and its model card
(``NAME.json``): what it is, the settings and data it was trained with, its training
history and time (seconds and reference epochs), what the run that made it measured,
versions, date, machine, and the model file's sha256. ``load_or_train`` loads one when its
settings and data match the notebook's, saying where it came from; otherwise it trains,
and only ``cnn-course prepare`` (which sets ``CNN_COURSE_REBUILD``) keeps what it trains, so a
learner's experiment never stands in for the prepared checkpoint. Fast mode has its own
(``NAME_fast``), as it has its own model file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from helpers import paths, report
from helpers.errors import CourseError
from helpers.files import atomic_write, write_text

CHECKPOINT_ENV = "CNN_COURSE_CHECKPOINTS"  # another checkpoint folder (the tests use their own)
REBUILD_ENV = "CNN_COURSE_REBUILD"         # "1": train and replace (what `prepare` sets)
CARD_FORMAT = 1

# The checkpoints each notebook uses (and `cnn-course prepare` makes by running it).
# 03_mnist_cnn is notebook 03's final model: notebooks 04 and 08 catch up from it.
NOTEBOOK_CHECKPOINTS = {
    "03_build_and_train": ("03_cosine_decay", "03_mnist_cnn"),
    "05_data_augmentation": ("05_best",),
    "07_architectures": tuple(f"07_{slug}" for slug in (
        "article", "batch_norm", "global_avg_pool", "small_resnet", "inception_style",
        "depthwise_separable")),
}
CATCH_UP = "03_mnist_cnn"


GET_CHECKPOINTS = ("run `cnn-course prepare` (it trains them), or copy them from a prepared "
                   "folder with `cnn-course fetch-data --from DIR`")


class CheckpointError(CourseError):
    """A checkpoint is damaged, incomplete or not one the course wrote."""


def checkpoint_dir() -> Path:
    """Where checkpoints live: ``$CNN_COURSE_CHECKPOINTS``, or the course's ``checkpoints/``."""
    return Path(os.environ.get(CHECKPOINT_ENV) or paths.CHECKPOINT_DIR)


def full_name(name: str, fast: bool = False) -> str:
    return f"{name}_fast" if fast else name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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

    builders = recipe.build if isinstance(recipe.build, tuple) else (recipe.build,)
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


def read_card(name: str, folder: Path | None = None) -> dict:
    """The model card of checkpoint ``name``, verified against its model file."""
    folder = folder or checkpoint_dir()
    card_path = folder / f"{name}.json"
    try:
        card = json.loads(card_path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{card_path}: no model card") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{card_path}: unreadable model card ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT or not card.get("sha256"):
        raise CheckpointError(f"{card_path}: not a model card written by this course")
    model_path = folder / f"{name}.keras"
    if not model_path.is_file():
        raise CheckpointError(f"{model_path}: missing (its model card is there)")
    if _sha256(model_path) != card["sha256"]:
        raise CheckpointError(f"{model_path}: damaged (its sha256 differs from its card's)")
    return card


def present(name: str, fast: bool = False) -> bool:
    """Whether checkpoint ``name`` is there and whole (its settings are checked on loading)."""
    try:
        read_card(full_name(name, fast))
        return True
    except CheckpointError:
        return False


def notebook_code(stem: str) -> str:
    """A short hash of a notebook's code cells: a checkpoint made by other code is stale."""
    cells = json.loads((paths.NOTEBOOK_DIR / f"{stem}.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def up_to_date(stem: str, fast: bool = False, folder: Path | None = None) -> bool:
    """Whether every checkpoint of notebook ``stem`` is there, whole, and was made by
    ``prepare`` from the notebook's present code."""
    code = notebook_code(stem)
    try:
        return all(read_card(full_name(name, fast), folder).get("notebook_code") == code
                   for name in NOTEBOOK_CHECKPOINTS[stem])
    except CheckpointError:
        return False


def stamp(stem: str, fast: bool = False) -> None:
    """Note in each checkpoint of notebook ``stem`` the code that made it (after ``prepare``)."""
    for name in NOTEBOOK_CHECKPOINTS[stem]:
        name = full_name(name, fast)
        card = dict(read_card(name), notebook_code=notebook_code(stem))
        write_text(checkpoint_dir() / f"{name}.json", json.dumps(card, indent=1) + "\n")


def available(folder: Path | None = None) -> dict[str, dict | CheckpointError]:
    """Every checkpoint in ``folder``: its card, or the error that makes it unusable."""
    folder = folder or checkpoint_dir()
    names = sorted({p.stem for pattern in ("*.json", "*.keras") for p in folder.glob(pattern)
                    if not p.name.startswith(".")})  # not a file still being written
    found = {}
    for name in names:
        try:
            found[name] = read_card(name, folder)
        except CheckpointError as exc:
            found[name] = exc
    return found


def copy_verified(source: Path, dest: Path | None = None) -> list[str]:
    """Copy every usable checkpoint from ``source`` into ``dest``, verified; the names copied."""
    dest = dest or checkpoint_dir()
    copied = []
    for name, card in available(source).items():
        if isinstance(card, CheckpointError):
            report.announce(f"Checkpoints: not copying {name}: {card}.")
            continue
        (dest / f"{name}.json").unlink(missing_ok=True)  # no old card beside a new model
        for file in (f"{name}.keras", f"{name}.json"):  # the card last: whole or absent
            with atomic_write(dest / file) as tmp:
                shutil.copyfile(source / file, tmp)
        read_card(name, dest)
        copied.append(name)
    return copied


@dataclass
class Checkpointed:
    """What ``load_or_train`` gives: the model, its history and epoch times, and its card."""

    model: object
    history: dict
    epoch_seconds: list
    card: dict = field(default_factory=dict)
    loaded: bool = False

    @property
    def seconds(self) -> float:
        return float(sum(self.epoch_seconds))

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(len(self.epoch_seconds), 1)


def _rebuilding() -> bool:
    return os.environ.get(REBUILD_ENV) == "1"


def describe(card: dict) -> str:
    """Where a checkpoint came from, in one sentence."""
    trained = card.get("training_seconds")
    took = (f"; its training took {trained:.0f} s ({card['reference_epochs']:.1f} reference "
            f"epochs) on {card['machine']}" if trained else "")
    return (f"made {card['date'][:16].replace('T', ' ')} by {card['made_by']} on "
            f"{card['data']['images']:,} training images{took}")


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
    if not use or _rebuilding():
        return False
    wanted = {"settings": settings, "data": data_fingerprint(*data)}
    return _matching_card(full_name(name, fast), wanted)[0] is not None


def save(name: str, run, card: dict) -> dict:
    """Write ``run``'s model and then its card into the checkpoint folder."""
    from helpers import export

    folder = checkpoint_dir()
    (folder / f"{name}.json").unlink(missing_ok=True)  # no old card beside a new model
    model_file = export.save_model(run.model, folder / f"{name}.keras")
    card = dict(card, format=CARD_FORMAT, sha256=_sha256(model_file))
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
    if use and not _rebuilding():
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
    if _rebuilding():
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


def catch_up(dest: Path | None = None, fast: bool = False) -> Path:
    """Put notebook 03's model where notebooks 04 and 08 look (``models/``), from its
    checkpoint (verified), with its model card; returns the model's path."""
    name = full_name(CATCH_UP, fast)
    try:
        card = read_card(name)
    except CheckpointError as exc:
        raise CheckpointError(f"cannot catch up: {exc}. To get the checkpoints, "
                              f"{GET_CHECKPOINTS}.") from None
    dest = Path(dest or paths.model_path(fast))
    with atomic_write(dest) as tmp:
        shutil.copyfile(checkpoint_dir() / f"{name}.keras", tmp)
    write_text(dest.with_suffix(".json"), json.dumps(card, indent=1) + "\n")
    scores = ", ".join(f"{k} {v:.2%}" for k, v in card.get("measured", {}).items())
    report.announce(f"Caught up: notebook 03's model ({describe(card)}"
                    f"{'; ' + scores if scores else ''}) is now at {dest}.")
    return dest
