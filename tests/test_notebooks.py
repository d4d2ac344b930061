"""Every course notebook runs top to bottom in fast mode, and what it records makes sense.

Each notebook runs through the same runner as `cnn-course run --fast`, in a fresh kernel.
Data: $CNN_COURSE_DATA when set (CI points it at a full copy), else the offline sample;
downloads are switched off.
"""
from __future__ import annotations

import pytest

from helpers.data import OFFLINE_ENV
from helpers.paths import NOTEBOOK_DIR
from helpers.runner import discover, run_notebook

NOTEBOOKS = discover(NOTEBOOK_DIR)

# Sanity checks on each notebook's recorded metrics in fast mode (tiny data, one epoch).
CHECKS: dict[str, callable] = {}


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    result = run_notebook(path, tmp_path, fast=True)
    assert result.status == "ok", result.error
    assert result.data_source in {"dir", "keras", "sample"}
    assert path.stem in CHECKS, f"add sanity checks for {path.stem} to CHECKS"
    CHECKS[path.stem](result.metrics)
