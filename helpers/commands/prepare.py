"""``cnn-course prepare``: the checkpoints the notebooks load, made by running the notebooks
that train them; which checkpoints each notebook makes, whether they are up to date with
the notebook's code, and copying verified ones from a prepared folder."""
from __future__ import annotations

import ast
import hashlib
import json
import shutil
from pathlib import Path

from helpers import paths, report
from helpers.checkpoints import REBUILD_ENV, checkpoint_dir, full_name, model_file, present
from helpers.files import atomic_write
from helpers.model_card import CardError, ModelCard
from helpers.paths import environment

# The checkpoints each notebook makes when `cnn-course prepare` runs it. 03_mnist_cnn is
# notebook 03's final model: notebooks 04 and 08 catch up from it.
NOTEBOOK_CHECKPOINTS = {
    "03_build_and_train": ("03_cosine_decay", "03_mnist_cnn"),
    "05_data_augmentation": ("05_largest_plain", "05_largest_augmented", "05_best"),
    "06_transfer_learning": ("06_digits_0_to_4",),
    "07_architectures": tuple(f"07_{slug}" for slug in (
        "article", "batch_norm", "global_avg_pool", "small_resnet", "inception_style",
        "depthwise_separable")),
    "10_cats_dogs_birds": ("10_small_augmented", "10_small_cured", "10_all_photos",
                           "10_seven_classes") + tuple(
        f"10_{kind}_{step}" for step in (1, 2, 3) for kind in ("scratch", "frozen", "fine_tuned")),
}


def notebook_code(stem: str) -> str:
    """A short hash of a notebook's code as Python reads it, written back in one canonical
    layout (``ast.unparse``): comments, blank lines and formatting do not count, so only a
    change to what the code does makes a checkpoint stale. A cell that is not valid Python
    (a half-edited one) counts as changed."""
    cells = json.loads((paths.NOTEBOOK_DIR / f"{stem}.ipynb").read_text())["cells"]
    try:
        code = [ast.unparse(ast.parse("".join(c["source"]))) for c in cells
                if c["cell_type"] == "code"]
    except SyntaxError:
        return "not valid Python"
    return hashlib.sha256("\n".join(code).encode()).hexdigest()[:16]


def up_to_date(stem: str, fast: bool = False, folder: Path | None = None) -> bool:
    """Whether every checkpoint of notebook ``stem`` is there, whole, and was made by
    ``prepare`` from the notebook's present code."""
    code = notebook_code(stem)
    try:
        return all(ModelCard.read(model_file(full_name(name, fast), folder)).notebook_code == code
                   for name in NOTEBOOK_CHECKPOINTS[stem])
    except CardError:
        return False


def stamp(stem: str, code: str, fast: bool = False) -> None:
    """Note in each checkpoint of notebook ``stem`` the code that made it (``code``, read
    before ``prepare`` ran it: an edit made meanwhile leaves the checkpoints stale)."""
    for name in NOTEBOOK_CHECKPOINTS[stem]:
        path = model_file(full_name(name, fast))
        card = ModelCard.read(path)
        card.notebook_code = code
        card.write(path.with_suffix(".json"))


def available(folder: Path | None = None) -> dict[str, ModelCard | CardError]:
    """Every checkpoint in ``folder``: its card, or the error that makes it unusable."""
    folder = folder or checkpoint_dir()
    names = sorted({p.stem for pattern in ("*.json", "*.keras") for p in folder.glob(pattern)
                    if not p.name.startswith(".")})  # not a file still being written
    found = {}
    for name in names:
        try:
            found[name] = ModelCard.read(model_file(name, folder))
        except CardError as exc:
            found[name] = exc
    return found


def copy_verified(source: Path, dest: Path | None = None) -> list[str]:
    """Copy every usable checkpoint from ``source`` into ``dest``, verified; the names copied."""
    dest = dest or checkpoint_dir()
    copied = []
    for name, card in available(source).items():
        if isinstance(card, CardError):
            report.announce(f"Checkpoints: not copying {name}: {card}.")
            continue
        (dest / f"{name}.json").unlink(missing_ok=True)  # no old card beside a new model
        for file in (f"{name}.keras", f"{name}.json"):  # the card last: whole or absent
            with atomic_write(dest / file) as tmp:
                shutil.copyfile(source / file, tmp)
        ModelCard.read(model_file(name, dest))
        copied.append(name)
    return copied


def notebooks_to_prepare(fast: bool = False, force: bool = False) -> list[str]:
    """The notebooks whose checkpoints are missing, damaged or made by other code (all of
    them with ``force``)."""
    return [stem for stem in NOTEBOOK_CHECKPOINTS
            if force or not up_to_date(stem, fast)]


def prepare(out_dir: Path, fast: bool = False, force: bool = False) -> dict:
    """Run each notebook whose checkpoints are missing, training and keeping them; returns
    the run's results (empty when every checkpoint was there already)."""
    from helpers.commands.runner import run_course

    todo = notebooks_to_prepare(fast, force)
    for stem in NOTEBOOK_CHECKPOINTS:
        if stem not in todo:
            report.announce(f"{stem}: its checkpoints are all in {checkpoint_dir()}, "
                            "made from its present code (--force makes them again)")
    if not todo:
        return {}
    report.announce(f"Making the checkpoints of {', '.join(todo)}: each notebook runs in full "
                    "and keeps its long trainings.")
    codes = {stem: notebook_code(stem) for stem in todo}   # the code each run will run
    with environment(**{REBUILD_ENV: "1"}):
        results = run_course(out_dir=out_dir, fast=fast, only=[stem[:2] for stem in todo],
                             targets=False, force=force)
    missing = [full_name(n, fast) for stem in todo if results[stem].status == "ok"
               for n in NOTEBOOK_CHECKPOINTS[stem] if not present(n, fast)]
    if missing:
        raise CardError(f"the notebooks ran but did not keep {', '.join(missing)}; "
                        f"see the executed notebooks in {out_dir}")
    for stem in todo:
        if results[stem].status == "ok":
            stamp(stem, codes[stem], fast)
    return results
