"""The course runner: execute the numbered notebooks with papermill and report on them.

For each notebook (its exercises solved) it writes the executed notebook, an HTML rendering
and (when the kernel said anything) the kernel's log into the output folder, then
``metrics.json`` and ``report.md`` for the whole run. A failing notebook is reported with
its failing cell and error, and the run goes on."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from helpers import report, speed
from helpers.errors import UsageError
from helpers.files import OutputFolder, atomic_write, write_text
from helpers.paths import BUILD_DIR, NOTEBOOK_DIR, environment
from helpers.commands.kernel import ensure_kernel, scratch_ipython
from helpers.commands.measurements import measuring_cell
from helpers.commands.run_report import ANNOUNCE_ABOVE, format_report, format_targets
from helpers.commands.solutions import with_solutions

FAST_PARAMETERS = {"FAST": True}  # each notebook's parameters cell turns this into small sizes
HEARTBEAT_SECONDS = 30


@dataclass
class NotebookResult:
    """What one notebook run produced: the shape of a ``metrics.json`` entry."""

    status: str
    seconds: float
    mode: str = "full"                # "full" or "fast"
    data_source: str | None = None
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    reference_epoch_seconds: float | None = None  # this machine's: the mean of whole_epochs
    whole_epochs: list = field(default_factory=list)  # reference epochs timed whole, in seconds
    reference_epochs: float | None = None   # the notebook's seconds in those reference epochs
    longest_cell: dict | None = None        # {"cell", "seconds", "reference_epochs", "announced"}
    long_cells: list = field(default_factory=list)  # every cell over ANNOUNCE_ABOVE, the same way


def discover(notebook_dir: Path = NOTEBOOK_DIR, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order, optionally only those numbered ``only``."""
    notebooks = sorted(p for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise UsageError(f"no numbered notebooks (NN_name.ipynb) in {notebook_dir}.")
    if only:
        wanted = {n.zfill(2) for n in only}
        unknown = wanted - {p.name[:2] for p in notebooks}
        if unknown:
            raise UsageError(
                f"no notebook numbered {', '.join(sorted(unknown))} in {notebook_dir}; "
                f"there are: {', '.join(p.name[:2] for p in notebooks)}."
            )
        notebooks = [p for p in notebooks if p.name[:2] in wanted]
    return notebooks


@contextlib.contextmanager
def _heartbeat(label: str, started: float):
    """Print a line every HEARTBEAT_SECONDS while a notebook runs, so a long one shows life."""
    stop = threading.Event()

    def beat():
        while not stop.wait(HEARTBEAT_SECONDS):
            report.announce(f"      {label}: still running, {time.monotonic() - started:.0f} s")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _local_kernel_manager(log_file, socket_dir: Path):
    """A kernel manager with local sockets (IPC, not TCP) in ``socket_dir`` and its log in
    ``log_file``: nothing lands beside the notebooks."""
    from jupyter_client.manager import AsyncKernelManager

    class LocalKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(transport="ipc", ip=str(socket_dir / "kernel"), **kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw.update(stdout=log_file, stderr=log_file)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return LocalKernelManager


def _describe_failure(exc: Exception) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"cell In [{exc.exec_count}]: {exc.ename}: {exc.evalue}"
    return f"{type(exc).__name__}: {exc}"


def timed_cells(executed: Path, reference_epoch: float | None) -> list[dict]:
    """The executed notebook's code cells, longest first: number (``In [n]``), seconds,
    reference epochs, and whether each announced itself (``speed.announce_long``) first."""
    import nbformat

    cells = []
    for cell in nbformat.read(executed, as_version=4).cells:
        seconds = cell.metadata.get("papermill", {}).get("duration")
        if cell.cell_type != "code" or seconds is None:
            continue
        printed = "".join(out.get("text", "") for out in cell.get("outputs", []))
        cells.append({"cell": cell.get("execution_count"), "seconds": round(seconds, 1),
                      "reference_epochs": round(seconds / reference_epoch, 2)
                      if reference_epoch else None,
                      "announced": speed.LONG_STEP_MARK in printed})
    return sorted(cells, key=lambda c: -c["seconds"])


def with_measuring_cell(path: Path, folder: Path) -> Path:
    """A copy of notebook ``path`` in ``folder``, its exercises solved, ending with the cell
    that records what it measured (:mod:`helpers.commands.measurements`)."""
    import nbformat

    notebook = with_solutions(nbformat.read(path, as_version=4))
    notebook.cells.append(nbformat.v4.new_code_cell(measuring_cell(path.stem),
                                                    metadata={"tags": ["measurements"]}))
    copy = folder / path.name
    nbformat.write(notebook, copy)
    return copy


def run_notebook(path: Path, out_dir: Path, fast: bool = False) -> NotebookResult:
    """Execute one notebook into ``out_dir`` (notebook + HTML); never raises for notebook errors.
    Times are also given in reference epochs when the runner measured one (``SPEED_ENV``)."""
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / path.name
    started = time.monotonic()
    error = None
    # Sockets and the metrics file in a scratch folder; the executed notebook and the kernel's
    # log written beside their destinations, atomically.
    with tempfile.TemporaryDirectory(prefix="cnn-course-run-") as scratch, \
            atomic_write(out_dir / f"{path.stem}.kernel.log") as log_path:
        metrics_file = Path(scratch) / "metrics.json"
        measured = with_measuring_cell(path, Path(scratch))
        with environment(**{report.METRICS_ENV: str(metrics_file)}):
            with _heartbeat(path.stem, started), open(log_path, "w") as log, \
                    atomic_write(executed) as partial:
                try:
                    papermill.execute_notebook(
                        str(measured), str(partial), parameters=FAST_PARAMETERS if fast else {},
                        kernel_name=ensure_kernel(), cwd=str(path.parent), progress_bar=False,
                        kernel_manager_class=_local_kernel_manager(log, Path(scratch)),
                    )
                except Exception as exc:  # a failing notebook is reported, not raised
                    error = _describe_failure(exc)
                if partial.stat().st_size == 0:  # the kernel never started: nothing to keep
                    partial.unlink()
                    executed.unlink(missing_ok=True)
        seconds = round(time.monotonic() - started, 2)
        recorded = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        if log_path.stat().st_size == 0:  # the kernel said nothing: no log to keep
            log_path.unlink()
            (out_dir / f"{path.stem}.kernel.log").unlink(missing_ok=True)
    if executed.exists():
        _render_html(executed)
    result = NotebookResult(
        status="failed" if error else "ok",
        seconds=seconds,
        mode="fast" if fast else "full",
        data_source=recorded.get("data_source"),
        metrics=recorded.get("metrics", {}),
        error=error,
    )
    return in_reference_epochs(result, executed, float(os.environ.get(speed.SPEED_ENV) or 0))


def in_reference_epochs(result: NotebookResult, executed: Path, reference: float) -> NotebookResult:
    """Give the notebook's time and its cells' in reference epochs of ``reference`` seconds
    (none when it is 0), the longest cell, and every cell over ``ANNOUNCE_ABOVE``."""
    reference = reference or None
    cells = timed_cells(executed, reference) if executed.exists() else []
    result.reference_epoch_seconds = round(reference, 2) if reference else None
    result.reference_epochs = round(result.seconds / reference, 2) if reference else None
    result.longest_cell = cells[0] if cells else None
    result.long_cells = [c for c in cells if (c["reference_epochs"] or 0) > ANNOUNCE_ABOVE]
    return result


def _render_html(executed: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    write_text(executed.with_suffix(".html"), body)


def run_course(
    out_dir: Path = BUILD_DIR,
    fast: bool = False,
    only: list[str] | None = None,
    notebook_dir: Path = NOTEBOOK_DIR,
    targets: bool = True,
    force: bool = False,
) -> dict[str, NotebookResult]:
    """Run the notebooks in order, writing everything to ``out_dir``; returns results by stem.
    ``targets``: end with the runtime targets, met or not (not for runs that make checkpoints).
    One run writes into a folder at a time, and only over files the course wrote there
    (``force``: over any); the results of earlier runs in the same mode stay in its
    ``metrics.json`` and ``report.md`` unless this run ran their notebooks again."""
    notebooks = discover(notebook_dir, only)
    with OutputFolder(out_dir) as out, scratch_ipython():
        out.refuse_others([f"{p.stem}{suffix}" for p in notebooks
                           for suffix in (".ipynb", ".html", ".kernel.log")]
                          + ["metrics.json", "report.md"], force=force)
        ensure_kernel()  # a damaged registration: one message now, not one per notebook
        return _run_into(out, notebooks, fast, targets)


def _run_into(out: OutputFolder, notebooks: list[Path], fast: bool,
              targets: bool) -> dict[str, NotebookResult]:
    out_dir = out.path
    mode = "fast" if fast else "full"
    # The unit timed whole before the first notebook and after the last; every time is given
    # in their mean (a probe of seconds can be off by a fifth; the ends show the drift).
    whole_epochs = [time_reference_epoch("before the first notebook")]
    report.announce(f"Running {len(notebooks)} notebook(s) in {mode} mode into {out_dir}/")
    results: dict[str, NotebookResult] = {}
    earlier = earlier_results(out_dir, mode, [p.stem for p in notebooks])
    for i, path in enumerate(notebooks, 1):
        report.announce(f"[{i}/{len(notebooks)}] {path.stem} ...")
        try:
            with environment(**{speed.SPEED_ENV: str(whole_epochs[0])}):  # for its estimates
                result = run_notebook(path, out_dir, fast)
        finally:  # even when interrupted: what it wrote is the course's
            out.record(*(out_dir / f"{path.stem}{suffix}"
                         for suffix in (".ipynb", ".html", ".kernel.log")))
        result.whole_epochs = [round(whole_epochs[0], 2)]
        results[path.stem] = result
        outcome = "ok" if result.status == "ok" else f"FAILED at {result.error}"
        report.announce(f"[{i}/{len(notebooks)}] {path.stem}: {outcome} ({result.seconds:.1f} s"
                        f" = {result.reference_epochs:.1f} reference epochs of "
                        f"{result.reference_epoch_seconds:.1f} s, the first timed)")
        _write_outputs(out, {**earlier, **results}, mode, targets, whole_epochs)
    whole_epochs.append(time_reference_epoch("after the last notebook"))
    reference = sum(whole_epochs) / len(whole_epochs)
    for stem, result in results.items():
        in_reference_epochs(result, out_dir / f"{stem}.ipynb", reference)
        result.whole_epochs = [round(s, 2) for s in whole_epochs]
    _write_outputs(out, {**earlier, **results}, mode, targets, whole_epochs)
    report.announce(f"Every notebook's time is now in reference epochs of {reference:.1f} s, "
                    f"the mean of the two ({out_dir / 'report.md'}).")
    if targets:
        report.announce(format_targets(results, mode))
    return results


def earlier_results(out_dir: Path, mode: str, running: list[str]) -> dict[str, NotebookResult]:
    """The results an earlier run in the same mode left in ``out_dir/metrics.json``, but for
    the notebooks this run runs again."""
    try:
        entries = json.loads((out_dir / "metrics.json").read_text())
        known = {f.name for f in fields(NotebookResult)}   # an older run's other keys dropped
        return {stem: NotebookResult(**{k: v for k, v in entry.items() if k in known})
                for stem, entry in sorted(entries.items())
                if stem not in running and entry.get("mode") == mode}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def time_reference_epoch(when: str) -> float:
    """Seconds for one whole reference epoch on this machine, after a warm-up, announced."""
    from helpers.startup import start_tensorflow

    start_tensorflow()
    report.announce("Timing one reference epoch (the article's recipe: 60,000 images at batch 32,"
                    f" then 10,000 evaluated) {when}...")
    seconds = speed.measure_reference_epoch()
    report.announce(f"One reference epoch took {seconds:.1f} s on this machine.")
    return seconds


def _write_outputs(out: OutputFolder, results: dict[str, NotebookResult], mode: str,
                   targets: bool, whole_epochs: list[float]) -> None:
    out_dir = out.path
    results = dict(sorted(results.items()))
    entries = {stem: asdict(r) for stem, r in results.items()}
    for entry in entries.values():
        if entry["error"] is None:
            del entry["error"]
    write_text(out_dir / "metrics.json", json.dumps(entries, indent=2) + "\n")
    write_text(out_dir / "report.md", format_report(results, mode, targets, whole_epochs))
    out.record(out_dir / "metrics.json", out_dir / "report.md")
