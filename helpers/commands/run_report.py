"""The run report: ``report.md``'s table (seconds and reference epochs per notebook, the
longest cell, the data, the recorded numbers) and the course's runtime targets, met or not."""
from __future__ import annotations

import datetime as dt
import os
import platform

# The course's runtime targets in full mode, in reference epochs (see helpers.speed).
NOTEBOOK_TARGET, COURSE_TARGET, ANNOUNCE_ABOVE = 8, 30, 3


def format_targets(results: dict, mode: str) -> str:
    """The runtime targets, each met or not, in a few lines (full mode's targets)."""
    if not results or any(r.reference_epochs is None for r in results.values()):
        return "Runtime targets: not measured (no reference epoch)."
    failed = [stem for stem, r in results.items() if r.status != "ok"]
    if failed:
        return (f"Runtime targets: not judged, since {', '.join(failed)} failed (a notebook that "
                "stops early says nothing of its time).")
    worst = max(results, key=lambda stem: results[stem].reference_epochs)
    total = sum(r.reference_epochs for r in results.values())
    long_cells = [(stem, cell) for stem, r in results.items() for cell in r.long_cells]
    silent = [f"{stem} In [{c['cell']}] ({c['reference_epochs']:.1f})"
              for stem, c in long_cells if not c["announced"]]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return "\n".join([
        f"Runtime targets ({mode} mode; the targets are for full mode on the full dataset):",
        f"- every notebook at most {NOTEBOOK_TARGET} reference epochs: "
        f"{verdict(results[worst].reference_epochs <= NOTEBOOK_TARGET)} "
        f"(longest: {worst}, {results[worst].reference_epochs:.1f})",
        f"- these {len(results)} notebook(s) at most {COURSE_TARGET} reference epochs together: "
        f"{verdict(total <= COURSE_TARGET)} ({total:.1f})",
        f"- every cell over {ANNOUNCE_ABOVE} reference epochs announced before it starts: "
        f"{verdict(not silent)} ({len(long_cells)} such cell(s)"
        + (f"; silent: {', '.join(silent)})" if silent else ")"),
    ])


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.4g}"


def _reference_line(whole_epochs: list[float]) -> str:
    unit = ("One reference epoch (the article's recipe, one epoch of 60,000 images and an "
            "evaluation of 10,000) took")
    if not whole_epochs:
        return "No reference epoch was measured."
    if len(whole_epochs) == 1:
        return (f"{unit} {whole_epochs[0]:.1f} s on this machine, timed whole before the first "
                "notebook; the run has not yet timed the second, after the last.")
    return (f"{unit} {sum(whole_epochs) / len(whole_epochs):.1f} s on this machine: the mean of "
            f"{' and '.join(f'{s:.1f} s' for s in whole_epochs)}, timed whole before the first "
            "notebook and after the last.")


def format_report(results: dict, mode: str, targets: bool = True,
                  whole_epochs: list[float] = ()) -> str:
    """The Markdown run report: the reference epochs this run timed (``whole_epochs``), one
    row per notebook, the targets, then the failures."""
    from importlib.metadata import version

    lines = [
        "# Course run report",
        "",
        f"{dt.datetime.now():%Y-%m-%d %H:%M}, {mode} mode, Python {platform.python_version()}, "
        f"TensorFlow {version('tensorflow')}, Keras {version('keras')}, {os.cpu_count()} CPU cores.",
        "",
        _reference_line(list(whole_epochs)),
        "",
        "| notebook | status | seconds | reference epochs | longest cell | data | metrics |",
        "| --- | --- | ---: | ---: | --- | --- | --- |",
    ]
    for stem, r in results.items():
        metrics = ", ".join(f"{k} = {_number(v)}" for k, v in r.metrics.items()) or "-"
        epochs = f"{r.reference_epochs:.1f}" if r.reference_epochs is not None else "-"
        cell = r.longest_cell
        longest = "-" if not cell else (
            f"In [{cell['cell']}]: {cell['seconds']:.0f} s"
            + (f" = {cell['reference_epochs']:.1f}" if cell["reference_epochs"] else "")
            + (", announced" if cell["announced"] else ""))
        lines.append(f"| {stem} | {r.status} | {r.seconds:.1f} | {epochs} | {longest} | "
                     f"{r.data_source or '-'} | {metrics} |")
    failures = [(stem, r) for stem, r in results.items() if r.error]
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- **{stem}** failed at {r.error}" for stem, r in failures]
    total = sum(r.seconds for r in results.values())
    lines += ["", f"Total: {total:.1f} s for {len(results)} notebook(s)."]
    if targets:
        lines += ["", format_targets(results, mode)]
    return "\n".join(lines) + "\n"
