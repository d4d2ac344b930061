"""The checkpoint folder: which checkpoints each notebook uses, their model cards, verified
against their model files, copied from a prepared folder, checked against the notebook code
that made them, and catching a learner up from notebook 03's.

A checkpoint is a model saved by the course (``NAME.keras``) and its model card
(``NAME.json``); ``helpers.checkpoints`` makes and loads them in the notebooks.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

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
    "05_data_augmentation": ("05_largest_plain", "05_largest_augmented", "05_best"),
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




def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    if file_sha256(model_path) != card["sha256"]:
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


def rebuilding() -> bool:
    return os.environ.get(REBUILD_ENV) == "1"


def describe(card: dict) -> str:
    """Where a checkpoint came from, in one sentence."""
    trained = card.get("training_seconds")
    took = (f"; its training took {trained:.0f} s ({card['reference_epochs']:.1f} reference "
            f"epochs) on {card['machine']}" if trained else "")
    return (f"made {card['date'][:16].replace('T', ' ')} by {card['made_by']} on "
            f"{card['data']['images']:,} training images{took}")


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
