"""Getting a room ready: the checkpoints (``cnn-course prepare``) and the Jupyter kernel
(``cnn-course install-kernel``)."""
from __future__ import annotations

from pathlib import Path

from helpers import checkpoint_store, report
from helpers.checkpoint_store import CheckpointError, full_name
from helpers.paths import environment


def notebooks_to_prepare(fast: bool = False, force: bool = False) -> list[str]:
    """The notebooks whose checkpoints are missing, damaged or made by other code (all of
    them with ``force``)."""
    return [stem for stem in checkpoint_store.NOTEBOOK_CHECKPOINTS
            if force or not checkpoint_store.up_to_date(stem, fast)]


def prepare(out_dir: Path, fast: bool = False, force: bool = False) -> dict:
    """Run each notebook whose checkpoints are missing, training and keeping them; returns
    the run's results (empty when every checkpoint was there already)."""
    from helpers.runner import run_course

    todo = notebooks_to_prepare(fast, force)
    for stem in checkpoint_store.NOTEBOOK_CHECKPOINTS:
        if stem not in todo:
            report.announce(f"{stem}: its checkpoints are all in {checkpoint_store.checkpoint_dir()}, "
                            "made from its present code (--force makes them again)")
    if not todo:
        return {}
    report.announce(f"Making the checkpoints of {', '.join(todo)}: each notebook runs in full "
                    "and keeps its long trainings.")
    with environment(**{checkpoint_store.REBUILD_ENV: "1"}):
        results = run_course(out_dir=out_dir, fast=fast, only=[stem[:2] for stem in todo],
                             targets=False)
    missing = [full_name(n, fast) for stem in todo if results[stem].status == "ok"
               for n in checkpoint_store.NOTEBOOK_CHECKPOINTS[stem] if not checkpoint_store.present(n, fast)]
    if missing:
        raise CheckpointError(f"the notebooks ran but did not keep {', '.join(missing)}; "
                              f"see the executed notebooks in {out_dir}")
    for stem in todo:
        if results[stem].status == "ok":
            checkpoint_store.stamp(stem, fast)
    return results


def install_kernel() -> str:
    """Register the course's Jupyter kernel for this environment's Python."""
    from helpers.runner import KERNEL_DISPLAY_NAME, ensure_kernel

    name = ensure_kernel()
    report.announce(f"Jupyter kernel {name!r} ({KERNEL_DISPLAY_NAME}) runs this environment's "
                    "Python; JupyterLab lists it under that name.")
    return name
