"""Every course notebook runs top to bottom, and what it records holds.

`make test` runs each notebook in fast mode (small data, short trainings) through the same
runner as `cnn-course run --fast`, in a fresh kernel, and holds floors on what it records:
each floor sits well below what fast mode measured (on the offline sample and on the full
dataset's subsets) and far above what a broken notebook gives (chance is 0.1 for ten
digits, 0.2 for notebook 06's five). `make test-full` runs them in full mode on the full
dataset and checks the course's claims. Data: $CNN_COURSE_DATA when set, else the offline
sample; downloads are switched off.
"""
from __future__ import annotations

import nbformat
import pytest

from conftest import FULL_DATA
from helpers import checkpoints, cifar10
from helpers.commands import prepare
from helpers.downloads import OFFLINE_ENV
from helpers.exercises import EXERCISES
from helpers.model_card import ModelCard
from helpers.paths import DATA_ENV, NOTEBOOK_DIR
from helpers.commands.runner import discover, run_notebook

NOTEBOOKS = discover(NOTEBOOK_DIR)

# --------------------------------------------------------------------------- fast mode
# Measured in fast mode, offline sample / full dataset: given in each comment.


def fast_01(m):
    assert m["fit_images"] + m["validation_images"] == m["train_images"]
    assert 0.7 < m["nearest_template_accuracy"] < 0.9       # 0.798 / 0.820
    assert 1 <= m["class_imbalance_ratio"] < 1.5             # 1.00 / 1.24
    assert 0.7 < m["fraction_background_pixels"] < 0.9      # 0.808 / 0.809


def fast_02(m):
    assert m["article_parameters"] == 93_322
    assert m["numpy_vs_keras_max_difference"] < 1e-5


def fast_03(m):
    assert m["val_accuracy"] > 0.8 and m["test_accuracy"] > 0.8          # 0.885-0.912
    assert m["val_accuracy"] in (m["val_accuracy_seed"], m["val_accuracy_cosine_decay"])
    assert m["hand_step_loss_after"] < m["hand_step_loss_before"]


def fast_04(m):
    assert m["test_accuracy"] > 0.8                                      # 0.899 / 0.912
    assert m["most_confused_count"] >= 3                                 # 11 / 66
    assert m["worst_recall"] > 0.6                                       # 0.84 / 0.84
    assert m["saliency_on_ink"] > 0.6                                    # 0.80 / 0.82
    assert m["saliency_on_ink"] > m["saliency_ink_area"]   # more on the ink than its share


def fast_05(m):
    assert m["val_accuracy_no_aug"] > 0.75 and m["val_accuracy_aug"] > 0.75    # chance: 0.1
    assert m["best_test_accuracy"] > 0.8                                 # 0.943 / 0.950


def fast_06(m):
    assert m["source_test_accuracy"] > 0.9                               # 0.978 / 0.992
    assert m["frozen_features_10"] > 0.3 and m["fine_tuned_10"] > 0.3    # 0.39-0.51


def fast_07(m):
    accuracies = {k: v for k, v in m.items() if k.startswith("val_accuracy_")}
    assert len(accuracies) == 6
    # measured: 0.63-0.67 (inception-style) to 0.94-0.95 (batch norm), mean 0.86
    assert min(accuracies.values()) > 0.5, accuracies
    assert sum(accuracies.values()) / 6 > 0.75, accuracies


def fast_08(m):
    assert m["preprocessed_accuracy"] > m["naive_accuracy"]
    assert m["preprocessed_accuracy"] > 0.6
    assert m["fast_model_accuracy"] > 0.3
    assert m["naive_accuracy"] < 0.4
    assert m["tflite_max_difference"] < 1e-4


def fast_09(m):
    # The pipeline's timings are recorded, not compared: wall-clock times on a shared machine
    # swing (cached against decoded input measured 0.07-0.09 s against 0.31-0.39 s; the plain
    # pipeline against its compute alone, 0.34 s against 0.36 s in one run, the other way in
    # every earlier one).
    assert all(m[k] > 0 for k in ("cached_input_seconds", "input_seconds",
                                  "plain_pipeline_seconds", "compute_seconds"))
    assert m["activation_bytes_mixed_bfloat16"] < 0.51 * m["activation_bytes_float32"]
    # the same global batch learns the same (measured: 5e-05 to 1.1e-04 apart)
    assert m["mirrored_loss_difference"] < 0.02
    # the workers: identical, resumed after the killed one's first epoch, as one process
    # learns (measured 1.2e-07 to 2.9e-03 apart)
    assert m["workers_weight_difference"] == 0 and m["resumed_from_epoch"] == 1
    assert m["workers_loss_difference"] < 0.02
    assert m["backup_restore_difference"] == 0
    assert all(m[f"images_per_second_{k}"] > 0 for k in
               ("one_device", "mirrored", "loop_mirrored", "two_workers"))


def fast_10(m):
    assert m["train_photos"] == 600                   # 200 per class, photos or stand-ins
    # measured on the stand-ins: HOG 0.72, the CNN 0.70 (chance: 0.33)
    assert m["hog_val_accuracy"] > 0.45 and m["test_accuracy"] > 0.45
    assert m["small_train_accuracy"] > 0.4


FAST_CHECKS = {
    "01_data": fast_01,
    "02_building_blocks": fast_02,
    "03_build_and_train": fast_03,
    "04_evaluate_and_inspect": fast_04,
    "05_data_augmentation": fast_05,
    "06_transfer_learning": fast_06,
    "07_architectures": fast_07,
    "08_your_own_digits": fast_08,
    "09_scaling_up": fast_09,
    "10_cats_dogs_birds": fast_10,
}


def _data_source(path):
    """What the notebook should read: notebook 10 the photos where they are unpacked
    (a data folder may hold MNIST alone), the others the full MNIST where it is given."""
    if path.stem == "10_cats_dogs_birds":
        return "dir" if cifar10.find_photo_folder() else "sample"
    return "dir" if FULL_DATA else "sample"


def _run(path, out_dir, fast):
    result = run_notebook(path, out_dir, fast=fast)
    assert result.status == "ok", result.error
    # Every checked exercise of the notebook ran its solution through its check, and passed.
    number = path.stem[:2]
    expected = {f"exercise_{key}" for key in EXERCISES if key.startswith(f"{number}.")}
    checked = {name: value for name, value in result.metrics.items() if name.startswith("exercise_")}
    assert len(expected) >= 3, f"notebook {number} needs at least three checked exercises"
    assert set(checked) == expected, (sorted(checked), sorted(expected))
    assert all(value == 1.0 for value in checked.values()), checked
    executed = nbformat.read(out_dir / path.name, 4)
    outputs = [out for cell in executed.cells for out in cell.get("outputs", [])]
    stderr = [out["text"] for out in outputs if out.get("name") == "stderr"]
    assert not stderr, f"the notebook printed to stderr: {stderr}"
    if "plt." in path.read_text() or "plots." in path.read_text():  # its figures are shown
        assert any("image/png" in out.get("data", {}) for out in outputs)
    return result


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    monkeypatch.setenv(checkpoints.CHECKPOINT_ENV, str(tmp_path / "checkpoints"))
    result = _run(path, tmp_path, fast=True)
    assert result.data_source == _data_source(path)
    assert path.stem in FAST_CHECKS, f"add fast-mode checks for {path.stem} to FAST_CHECKS"
    FAST_CHECKS[path.stem](result.metrics)
    # A learner's run keeps no checkpoint: only `cnn-course prepare` does.
    assert not prepare.available(tmp_path / "checkpoints")


# What a run loads from the checkpoints a prepare run made, and what must then be the same.
AGAIN = {
    "03_build_and_train": ({"cosine_decay_from_checkpoint": 1}, ["cosine_decay_val_accuracy_now"]),
    "05_data_augmentation": ({"best_from_checkpoint": 1, "experiment_from_checkpoints": 2},
                             ["best_test_accuracy", "aug_gain_largest"]),
    "10_cats_dogs_birds": ({"photo_checkpoints_loaded": 4},
                           ["small_augmented_val_accuracy", "test_accuracy", "transfer_60_accuracy"]),
    "07_architectures": ({"architectures_from_checkpoints": 6},
                         ["val_accuracy_article", "val_accuracy_small_resnet"]),
}


@pytest.mark.notebook
@pytest.mark.parametrize("stem", AGAIN)
def test_a_run_loads_the_checkpoints_prepare_made(stem, tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    monkeypatch.setenv(checkpoints.CHECKPOINT_ENV, str(tmp_path / "checkpoints"))
    path = NOTEBOOK_DIR / f"{stem}.ipynb"
    monkeypatch.setenv(checkpoints.REBUILD_ENV, "1")   # as `cnn-course prepare --fast` runs it
    first = _run(path, tmp_path / "first", fast=True).metrics
    kept = prepare.available(tmp_path / "checkpoints")
    expected = {f"{name}_fast" for name in prepare.NOTEBOOK_CHECKPOINTS[stem]}
    assert set(kept) == expected and all(isinstance(card, ModelCard) for card in kept.values()), kept
    monkeypatch.delenv(checkpoints.REBUILD_ENV)        # then as a learner runs it
    second = _run(path, tmp_path / "second", fast=True).metrics
    flags, same = AGAIN[stem]
    assert all(first[flag] == 0 and second[flag] == loaded for flag, loaded in flags.items())
    # the same trainings, so the same curves and measurements
    assert {k: second[k] for k in same} == {k: first[k] for k in same}


# --------------------------------------------------------------------------- full mode
# The claims each notebook's prose makes on the full dataset.


def full_01(m):
    assert m["train_images"] == 60_000 and m["test_images"] == 10_000
    assert 0.8 < m["nearest_template_accuracy"] < 0.85      # "about four in five right"


def full_03(m):
    assert m["test_accuracy"] >= 0.99                       # "99% or better"
    assert abs(m["val_accuracy"] - m["test_accuracy"]) < 0.02


def full_04(m):
    assert m["test_accuracy"] >= 0.99                       # the model notebook 03 saved


def full_05(m):
    assert m["aug_gain_smallest"] > 0.01 and m["aug_gain_smallest"] > m["aug_gain_largest"]
    # "about 99.6%": the README's record measured 99.61%, 99.56% and 99.57% (three seeds)
    assert m["best_test_accuracy"] >= 0.994
    # the ensemble beats the mean of its two networks and is within 5 of the 10,000 test
    # images of the better one (it usually beats both; one run: 99.56%, 99.47% and 99.45%)
    members = [m["best_member_test_accuracy_1"], m["best_member_test_accuracy_2"]]
    assert m["best_test_accuracy"] > sum(members) / 2
    assert m["best_test_accuracy"] >= max(members) - 0.0005


def full_06(m):
    assert m["fine_tuned_10"] > m["from_scratch_10"]        # transfer pays with few labels


def full_07(m):
    accuracies = [v for k, v in m.items() if k.startswith("val_accuracy_")]
    assert len(accuracies) == 6 and min(accuracies) > 0.95
    assert m["fast_val_accuracy"] > 0.975     # the fast recipe, 30,000 images: measured 0.9833 twice


def full_08(m):
    from helpers.samples import KINDS

    # measured with notebook 03's model: 98.9% of all (97-100% per kind), naive 24.9%;
    # the fast model trained in the notebook 98.1% (96-100%)
    assert m["preprocessed_accuracy"] >= 0.95 and m["naive_accuracy"] < 0.5
    per_kind = {kind: m[f"preprocessed_accuracy_{kind}"] for kind in KINDS}
    assert min(per_kind.values()) >= 0.9, per_kind
    assert m["fast_model_accuracy"] >= 0.9


def full_10(m):
    # overfitting shows on 1,000 photos per class, and augmentation with dropout cures most of it
    plain_gap = m["small_train_accuracy"] - m["small_val_accuracy"]
    cured_gap = m["small_augmented_train_accuracy"] - m["small_augmented_val_accuracy"]
    assert plain_gap >= 0.15 and cured_gap <= plain_gap / 2
    assert m["small_augmented_val_accuracy"] > m["small_val_accuracy"]
    # the CNN on all the photos beats hand-crafted features, on the test set
    assert m["test_accuracy"] >= 0.75 and m["test_accuracy"] - m["hog_test_accuracy"] >= 0.15
    # transfer from the seven other classes pays with few labels, and less with more
    gain_100 = m["transfer_100_accuracy"] - m["scratch_100_accuracy"]
    assert gain_100 >= 0.03
    assert m["transfer_1000_accuracy"] - m["scratch_1000_accuracy"] < gain_100


FULL_CHECKS = {"01_data": full_01, "02_building_blocks": fast_02, "03_build_and_train": full_03,
               "04_evaluate_and_inspect": full_04, "05_data_augmentation": full_05,
               "06_transfer_learning": full_06, "07_architectures": full_07,
               "08_your_own_digits": full_08, "09_scaling_up": fast_09,
               "10_cats_dogs_birds": full_10}


@pytest.mark.full
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_claims_hold_in_full_mode(path, tmp_path, monkeypatch):
    if not FULL_DATA:
        pytest.fail(f"make test-full needs the full dataset: set ${DATA_ENV} to a folder "
                    "prepared with `cnn-course fetch-data`")
    monkeypatch.setenv(OFFLINE_ENV, "1")
    # No checkpoints: every claim is measured by a training made in this run.
    monkeypatch.setenv(checkpoints.CHECKPOINT_ENV, str(tmp_path / "checkpoints"))
    result = _run(path, tmp_path, fast=False)
    assert result.data_source == "dir"
    assert path.stem in FULL_CHECKS, f"add full-mode checks for {path.stem} to FULL_CHECKS"
    FULL_CHECKS[path.stem](result.metrics)
