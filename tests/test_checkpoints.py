"""Checkpoints: kept when trained, loaded only when settings and data match, verified,
copied from a prepared folder, and what a learner who fell behind catches up from."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from helpers import checkpoint_store, checkpoints, classroom, cli, speed, training
from helpers.checkpoint_store import CheckpointError


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty checkpoint folder, a known reference epoch, not preparing."""
    monkeypatch.setenv(checkpoint_store.CHECKPOINT_ENV, str(tmp_path / "checkpoints"))
    monkeypatch.setenv(speed.SPEED_ENV, "20")
    monkeypatch.delenv(checkpoint_store.REBUILD_ENV, raising=False)
    return tmp_path / "checkpoints"


@pytest.fixture
def preparing(monkeypatch):
    """Run a block as `cnn-course prepare` runs the notebooks."""
    import contextlib

    @contextlib.contextmanager
    def block():
        monkeypatch.setenv(checkpoint_store.REBUILD_ENV, "1")
        yield
        monkeypatch.delenv(checkpoint_store.REBUILD_ENV)
    return block


DATA = (np.arange(40, dtype="float32").reshape(10, 4), np.arange(10) % 3)


class Trainer:
    """A stand-in for a notebook's training: counts its calls, returns a tiny model."""

    def __init__(self, bias=0.0):
        self.calls, self.bias = 0, bias

    def __call__(self):
        self.calls += 1
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.set_weights([np.ones((4, 3), "float32"), np.full(3, self.bias, "float32")])
        return training.TrainingRun(model, {"val_accuracy": [0.5, 0.75]}, [30.0, 10.0])


def load(train, settings=None, data=DATA, **kw):
    return checkpoints.load_or_train("demo", "a demo network", settings or {"epochs": 2},
                                     data, train, **kw)


def test_a_learners_run_keeps_nothing(folder):
    assert not load(Trainer()).loaded and not folder.exists()
    assert not checkpoints.will_load("demo", {"epochs": 2}, DATA)


def test_prepared_once_then_loaded_with_its_history_and_provenance(folder, preparing, capsys):
    train = Trainer(bias=0.5)
    with preparing():
        first = load(train)
        assert not checkpoints.will_load("demo", {"epochs": 2}, DATA)  # preparing trains
    assert train.calls == 1 and not first.loaded
    assert checkpoints.will_load("demo", {"epochs": 2}, DATA)
    assert not checkpoints.will_load("demo", {"epochs": 2}, DATA, use=False)
    card = json.loads((folder / "demo.json").read_text())
    assert card["training_seconds"] == 40.0 and card["reference_epochs"] == 2.0  # 40 s / 20 s
    assert card["data"]["images"] == 10 and card["settings"] == {"epochs": 2}

    again = load(train)
    assert train.calls == 1 and again.loaded
    assert again.history == {"val_accuracy": [0.5, 0.75]} and again.seconds == 40.0
    np.testing.assert_array_equal(again.model.get_weights()[1], np.full(3, 0.5))
    out = capsys.readouterr().out
    assert "Loaded checkpoint demo instead of training" in out and "10 training images" in out
    assert "USE_CHECKPOINTS = False" in out


def test_other_settings_or_data_train_and_leave_the_checkpoint(folder, preparing, capsys):
    with preparing():
        load(Trainer())
    before = (folder / "demo.json").read_text()
    other = Trainer()
    assert not load(other, settings={"epochs": 3}).loaded and other.calls == 1
    assert "made with other settings" in capsys.readouterr().out
    changed = (DATA[0] + 1, DATA[1])
    assert not load(other, data=changed).loaded and other.calls == 2
    assert "made with other training data" in capsys.readouterr().out
    assert (folder / "demo.json").read_text() == before  # the prepared one stays


def test_use_false_trains_and_fast_mode_keeps_its_own(folder, preparing):
    with preparing():
        load(Trainer())
    train = Trainer()
    assert not load(train, use=False).loaded and train.calls == 1
    with preparing():
        load(Trainer(), fast=True)
    assert (folder / "demo_fast.keras").is_file() and (folder / "demo_fast.json").is_file()


def test_a_damaged_model_file_is_refused_and_trained_again(folder, preparing, capsys):
    with preparing():
        load(Trainer())
    path = folder / "demo.keras"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(CheckpointError, match="damaged"):
        checkpoint_store.read_card("demo")
    train = Trainer()
    assert not load(train).loaded and train.calls == 1
    assert "Not using checkpoint demo" in capsys.readouterr().out
    assert not checkpoint_store.present("demo")


def test_preparing_again_replaces_and_measurements_are_kept_then_compared(folder, preparing,
                                                                          capsys):
    with preparing():
        load(Trainer(bias=1.0))
        fresh = load(Trainer(bias=2.0))
        checkpoints.record_measurement(fresh, "test_accuracy", 0.9912)
    card = json.loads((folder / "demo.json").read_text())
    assert card["made_by"] == "cnn-course prepare" and card["measured"] == {"test_accuracy": 0.9912}
    loaded = load(Trainer())
    np.testing.assert_array_equal(loaded.model.get_weights()[1], np.full(3, 2.0))
    capsys.readouterr()
    checkpoints.record_measurement(loaded, "test_accuracy", 0.9912)
    assert "test_accuracy: 0.9912 now, 0.9912 when the checkpoint was made" in capsys.readouterr().out


def test_copy_verified_copies_whole_checkpoints_only(folder, preparing, tmp_path):
    source = tmp_path / "stick" / "checkpoints"
    source.mkdir(parents=True)
    with preparing():
        load(Trainer())
    for name in ("demo.keras", "demo.json"):
        (source / name).write_bytes((folder / name).read_bytes())
    (source / "broken.json").write_text("{not json")
    (source / "orphan.keras").write_bytes(b"PK")
    (source / ".demo.json.x.part.json").write_text("{")  # a copy still being written
    dest = tmp_path / "laptop"
    assert checkpoint_store.copy_verified(source, dest) == ["demo"]
    assert sorted(p.name for p in dest.iterdir()) == ["demo.json", "demo.keras"]
    found = checkpoint_store.available(source)
    assert isinstance(found["broken"], CheckpointError) and isinstance(found["orphan"], CheckpointError)


def test_catch_up_puts_notebook_03s_model_in_place(folder, preparing, tmp_path, capsys):
    with pytest.raises(CheckpointError, match="cnn-course prepare"):
        checkpoint_store.catch_up(tmp_path / "models" / "m.keras")
    with preparing():
        checkpoints.keep(checkpoint_store.CATCH_UP, "notebook 03's model", Trainer(bias=3.0)(), DATA,
                         measured={"test_accuracy": 0.991})
    dest = checkpoint_store.catch_up(tmp_path / "models" / "m.keras")
    assert "Caught up" in capsys.readouterr().out
    assert json.loads(dest.with_suffix(".json").read_text())["measured"] == {"test_accuracy": 0.991}
    # notebooks 04 and 08 catch up on their own when models/ has no model
    model = training.load_or_train(tmp_path / "other" / "m.keras", DATA)
    np.testing.assert_array_equal(model.get_weights()[1], np.full(3, 3.0))


def test_cli_catch_up_without_checkpoints_says_how_to_get_them(folder, tmp_path, capsys):
    assert cli.main(["catch-up", "--out", str(tmp_path / "m.keras")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cnn-course prepare" in err and "--from DIR" in err
    assert cli.main(["catch-up", "--out", str(tmp_path / "m.txt")]) == 2


def test_prepare_runs_only_notebooks_with_missing_checkpoints(folder, preparing):
    everything = list(checkpoint_store.NOTEBOOK_CHECKPOINTS)
    assert classroom.notebooks_to_prepare() == everything
    with preparing():
        for name in checkpoint_store.NOTEBOOK_CHECKPOINTS["05_data_augmentation"]:
            checkpoints.keep(name, "demo", Trainer()(), DATA, measured={})
    assert "05_data_augmentation" in classroom.notebooks_to_prepare()  # from which code?
    checkpoint_store.stamp("05_data_augmentation")
    assert "05_data_augmentation" not in classroom.notebooks_to_prepare()
    card = checkpoint_store.read_card("05_best")
    card["notebook_code"] = "older code"
    (folder / "05_best.json").write_text(json.dumps(card))
    assert "05_data_augmentation" in classroom.notebooks_to_prepare()
    assert classroom.notebooks_to_prepare(force=True) == everything
    assert classroom.notebooks_to_prepare(fast=True) == everything


def test_fetch_data_from_a_prepared_folder_copies_its_checkpoints(folder, preparing, tmp_path,
                                                                   capsys):
    from helpers import commands

    stick = tmp_path / "stick"
    commands.copy_checkpoints(stick)
    assert "none in" in capsys.readouterr().out and not folder.exists()
    with preparing():
        load(Trainer())
    (stick / "checkpoints").mkdir(parents=True)
    for path in folder.iterdir():
        (stick / "checkpoints" / path.name).write_bytes(path.read_bytes())
    for path in list(folder.iterdir()):
        path.unlink()
    commands.copy_checkpoints(stick)
    assert "copied 1 verified" in capsys.readouterr().out and checkpoint_store.present("demo")


def test_a_checkpoint_keras_cannot_read_is_trained_again(folder, preparing, capsys):
    with preparing():
        load(Trainer())
    (folder / "demo.keras").write_bytes(b"not a zip archive")
    card = json.loads((folder / "demo.json").read_text())
    card["sha256"] = checkpoint_store.file_sha256(folder / "demo.keras")  # whole, yet unreadable
    (folder / "demo.json").write_text(json.dumps(card))
    train = Trainer()
    assert not load(train).loaded and train.calls == 1
    assert "Not using checkpoint demo" in capsys.readouterr().out


def test_cli_catch_up_never_replaces_a_model_unasked(folder, preparing, tmp_path, capsys):
    with preparing():
        checkpoints.keep(checkpoint_store.CATCH_UP, "notebook 03's model", Trainer()(), DATA, {})
    mine = tmp_path / "mine.keras"
    mine.write_bytes(b"a learner's own model")
    assert cli.main(["catch-up", "--out", str(mine)]) == 2
    assert "--force" in capsys.readouterr().err and mine.read_bytes() == b"a learner's own model"
    assert cli.main(["catch-up", "--out", str(mine), "--force"]) == 0
    assert mine.read_bytes() == (folder / "03_mnist_cnn.keras").read_bytes()
