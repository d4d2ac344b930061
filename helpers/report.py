"""One voice for the course: banners and progress lines, and metrics for the run report.

Notebooks call :func:`record` for every number the course quotes. Run by the course
runner, the numbers land in ``metrics.json``; run by hand, they are kept in memory and
shown by :func:`recorded`.
"""
from __future__ import annotations

import json
import numbers
import os
import sys

from helpers.files import write_text

METRICS_ENV = "CNN_COURSE_METRICS"  # set by the runner: the JSON file a notebook writes to

_recorded: dict[str, object] = {"data_source": None, "metrics": {}}


def announce(message: str) -> None:
    """Print a one-line banner or progress message (the course's only print path)."""
    print(message, file=sys.stdout, flush=True)


def record(name: str, value: float) -> None:
    """Record a named number for the run report. Returns nothing, so a cell that ends in a
    ``record`` call shows no stray output."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"record({name!r}, ...) takes a number, got {type(value).__name__}")
    _recorded["metrics"][name] = float(value)
    _save()


def record_data_source(source: str) -> None:
    """Record which data source served this notebook (called by the data loader)."""
    _recorded["data_source"] = source
    _save()


def recorded() -> dict:
    """Everything recorded so far in this process: ``{"data_source", "metrics"}``."""
    return json.loads(json.dumps(_recorded))


def _save() -> None:
    target = os.environ.get(METRICS_ENV)
    if target:
        write_text(target, json.dumps(_recorded, indent=2))
