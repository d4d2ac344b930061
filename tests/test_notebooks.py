"""Every course notebook runs top to bottom in fast mode, and what it records makes sense.

Each notebook runs through the same runner as `cnn-course run --fast`, in a fresh kernel.
Data: $CNN_COURSE_DATA when set (CI points it at a full copy), else the offline sample;
downloads are switched off.
"""
from __future__ import annotations

import nbformat
import pytest

from helpers.data import OFFLINE_ENV
from helpers.paths import NOTEBOOK_DIR
from helpers.runner import discover, run_notebook

NOTEBOOKS = discover(NOTEBOOK_DIR)



def check_01(m):
    assert m["fit_images"] + m["validation_images"] == m["train_images"]
    assert 0.6 < m["nearest_template_accuracy"] < 0.95  # a real but weak baseline
    assert 1 <= m["class_imbalance_ratio"] < 1.5
    assert 0.7 < m["fraction_background_pixels"] < 0.9


def check_02(m):
    assert m["article_parameters"] == 93_322
    assert m["numpy_vs_keras_max_difference"] < 1e-5


def check_03(m):
    assert m["test_accuracy"] > 0.8 and m["val_accuracy"] > 0.8  # chance is 0.1
    assert m["seconds_per_epoch"] > 0 and m["fast_seconds"] > 0 and m["fast_speedup"] > 0


def check_04(m):
    assert m["test_accuracy"] > 0.8
    assert m["most_confused_true"] != m["most_confused_predicted"]
    assert {m["most_confused_true"], m["most_confused_predicted"]} <= set(range(10))
    assert m["most_confused_count"] >= 1 and 0 <= m["worst_recall"] <= 1


def check_05(m):
    for key in ("test_accuracy_no_aug", "test_accuracy_aug", "best_test_accuracy"):
        assert 0.1 < m[key] <= 1, key  # each model learned something, even in one short epoch
    assert m["best_training_seconds"] > 0


def check_06(m):
    assert m["source_test_accuracy"] > 0.5
    for method in ("from_scratch", "frozen_features", "fine_tuned"):
        assert 0 <= m[f"{method}_10"] <= 1


def check_07(m):
    accuracies = [v for k, v in m.items() if k.startswith("test_accuracy_")]
    assert len(accuracies) == 6 and all(0 <= a <= 1 for a in accuracies)


def check_08(m):
    assert m["preprocessed_accuracy"] > m["naive_accuracy"]
    assert m["tflite_max_difference"] < 1e-4
    assert m["latency_keras_ms"] > 0 and m["latency_tflite_ms"] > 0


# Sanity checks on each notebook's recorded metrics in fast mode (small data, one epoch).
CHECKS = {
    "01_data": check_01,
    "02_building_blocks": check_02,
    "03_build_and_train": check_03,
    "04_evaluate_and_inspect": check_04,
    "05_data_augmentation": check_05,
    "06_transfer_learning": check_06,
    "07_architectures": check_07,
    "08_your_own_digits": check_08,
}


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    result = run_notebook(path, tmp_path, fast=True)
    assert result.status == "ok", result.error
    stderr = [out["text"] for cell in nbformat.read(tmp_path / path.name, 4).cells
              for out in cell.get("outputs", []) if out.get("name") == "stderr"]
    assert not stderr, f"the notebook printed to stderr: {stderr}"
    assert result.data_source in {"dir", "keras", "sample"}
    assert path.stem in CHECKS, f"add sanity checks for {path.stem} to CHECKS"
    CHECKS[path.stem](result.metrics)
