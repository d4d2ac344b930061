"""One voice for the course: banners and progress lines, and metrics for the run report.

The numbers a notebook measured are read from its variables after it has run (the course
runner adds a cell calling :func:`record_measured`); the exercises' checks and the data
loader :func:`record` theirs. Run by the course runner, they land in ``metrics.json``; run
by hand, they are kept in memory and shown by :func:`recorded`.
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


def record_measured(expressions: dict[str, str], namespace: dict) -> None:
    """Record what a notebook measured: each expression evaluated in the notebook's
    ``namespace``. A dict value records one number per item, named ``name + key``; ``None``
    records nothing. An expression that fails names itself and the notebook variable."""
    for name, expression in expressions.items():
        try:
            value = eval(expression, namespace)  # the course's own expressions, on its own notebook
        except Exception as exc:
            raise RuntimeError(f"cannot read the measurement {name or expression!r} from the "
                               f"notebook ({expression}): {type(exc).__name__}: {exc}") from None
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, number in items:
            if number is not None:
                record(f"{name}{key}", number)


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
