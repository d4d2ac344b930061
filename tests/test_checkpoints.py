"""Checkpoints: kept when trained, loaded only when settings and data match, verified,
copied from a prepared folder, and what a learner who fell behind catches up from."""
from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest

from helpers import checkpoints, speed, training
from helpers.commands import cli, prepare
from helpers.model_card import CardError, ModelCard, file_sha256


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty checkpoint folder, a known reference epoch, not preparing."""
    monkeypatch.setenv(checkpoints.CHECKPOINT_ENV, str(tmp_path / "checkpoints"))
    monkeypatch.setenv(speed.SPEED_ENV, "20")
    monkeypatch.delenv(checkpoints.REBUILD_ENV, raising=False)
    return tmp_path / "checkpoints"


@pytest.fixture
def preparing(monkeypatch):
    """Run a block as `cnn-course prepare` runs the notebooks."""
    import contextlib

    @contextlib.contextmanager
    def block():
        monkeypatch.setenv(checkpoints.REBUILD_ENV, "1")
        yield
        monkeypatch.delenv(checkpoints.REBUILD_ENV)
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


def test_prepared_once_then_loaded_with_its_history_and_provenance(folder, preparing, capsys):
    train = Trainer(bias=0.5)
    with preparing():
        first = load(train)
        assert not load(train).loaded  # preparing trains again
    assert train.calls == 2 and not first.loaded
    card = json.loads((folder / "demo.json").read_text())
    assert card["training_seconds"] == 40.0 and card["reference_epochs"] == 2.0  # 40 s / 20 s
    assert card["data"]["images"] == 10 and card["settings"] == {"epochs": 2}

    again = load(train)
    assert train.calls == 2 and again.loaded
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
    with pytest.raises(CardError, match="damaged"):
        ModelCard.read(checkpoints.model_file("demo"))
    train = Trainer()
    assert not load(train).loaded and train.calls == 1
    assert "Not using checkpoint demo" in capsys.readouterr().out
    assert not checkpoints.present("demo")


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
    assert prepare.copy_verified(source, dest) == ["demo"]
    assert sorted(p.name for p in dest.iterdir()) == ["demo.json", "demo.keras"]
    found = prepare.available(source)
    assert isinstance(found["broken"], CardError) and isinstance(found["orphan"], CardError)


def test_catch_up_puts_notebook_03s_model_in_place(folder, preparing, tmp_path, capsys):
    with pytest.raises(CardError, match="cnn-course prepare"):
        checkpoints.catch_up(tmp_path / "models" / "m.keras")
    with preparing():
        checkpoints.keep(checkpoints.CATCH_UP, "notebook 03's model", Trainer(bias=3.0)(), DATA,
                         measured={"test_accuracy": 0.991})
    dest = checkpoints.catch_up(tmp_path / "models" / "m.keras")
    assert "Caught up" in capsys.readouterr().out
    caught_up = json.loads(dest.with_suffix(".json").read_text())
    assert caught_up["measured"] == {"test_accuracy": 0.991}
    # one schema for every card: the prepared checkpoint's and the copy's (train: test_bench)
    kept = json.loads((folder / f"{checkpoints.CATCH_UP}.json").read_text())
    assert set(caught_up) == set(kept) == {f.name for f in dataclasses.fields(ModelCard)}
    # notebooks 04 and 08 catch up on their own when models/ has no model
    model = training.model_from_notebook_03(tmp_path / "other" / "m.keras", DATA)
    np.testing.assert_array_equal(model.get_weights()[1], np.full(3, 3.0))


def test_cli_catch_up_without_checkpoints_says_how_to_get_them(folder, tmp_path, capsys):
    assert cli.main(["catch-up", "--out", str(tmp_path / "m.keras")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cnn-course prepare" in err and "--from DIR" in err
    assert cli.main(["catch-up", "--out", str(tmp_path / "m.txt")]) == 2


def test_prepare_runs_only_notebooks_with_missing_checkpoints(folder, preparing):
    everything = list(prepare.NOTEBOOK_CHECKPOINTS)
    assert prepare.notebooks_to_prepare() == everything
    with preparing():
        for name in prepare.NOTEBOOK_CHECKPOINTS["05_data_augmentation"]:
            checkpoints.keep(name, "demo", Trainer()(), DATA, measured={})
    assert "05_data_augmentation" in prepare.notebooks_to_prepare()  # from which code?
    prepare.stamp("05_data_augmentation", "code edited while it ran")
    assert "05_data_augmentation" in prepare.notebooks_to_prepare()
    prepare.stamp("05_data_augmentation", prepare.notebook_code("05_data_augmentation"))
    assert "05_data_augmentation" not in prepare.notebooks_to_prepare()
    card = ModelCard.read(checkpoints.model_file("05_best"))
    card.notebook_code = "older code"
    card.write(folder / "05_best.json")
    assert "05_data_augmentation" in prepare.notebooks_to_prepare()
    assert prepare.notebooks_to_prepare(force=True) == everything
    assert prepare.notebooks_to_prepare(fast=True) == everything


def test_fetch_data_from_a_prepared_folder_copies_its_checkpoints(folder, preparing, tmp_path,
                                                                   capsys):
    from helpers.commands import handlers

    stick = tmp_path / "stick"
    handlers.copy_checkpoints(stick)
    assert "none in" in capsys.readouterr().out and not folder.exists()
    with preparing():
        load(Trainer())
    (stick / "checkpoints").mkdir(parents=True)
    for path in folder.iterdir():
        (stick / "checkpoints" / path.name).write_bytes(path.read_bytes())
    for path in list(folder.iterdir()):
        path.unlink()
    handlers.copy_checkpoints(stick)
    assert "copied 1 verified" in capsys.readouterr().out and checkpoints.present("demo")


def test_a_checkpoint_keras_cannot_read_is_trained_again(folder, preparing, capsys):
    with preparing():
        load(Trainer())
    (folder / "demo.keras").write_bytes(b"not a zip archive")
    card = json.loads((folder / "demo.json").read_text())
    card["sha256"] = file_sha256(folder / "demo.keras")  # whole, yet unreadable
    (folder / "demo.json").write_text(json.dumps(card))
    train = Trainer()
    assert not load(train).loaded and train.calls == 1
    assert "Not using checkpoint demo" in capsys.readouterr().out


def test_cli_catch_up_never_replaces_a_model_unasked(folder, preparing, tmp_path, capsys):
    with preparing():
        checkpoints.keep(checkpoints.CATCH_UP, "notebook 03's model", Trainer()(), DATA, {})
    mine = tmp_path / "mine.keras"
    mine.write_bytes(b"a learner's own model")
    assert cli.main(["catch-up", "--out", str(mine)]) == 2
    assert "--force" in capsys.readouterr().err and mine.read_bytes() == b"a learner's own model"
    assert cli.main(["catch-up", "--out", str(mine), "--force"]) == 0
    assert mine.read_bytes() == (folder / "03_mnist_cnn.keras").read_bytes()


def _compiled(seed: int):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
def test_fit_or_load_fits_once_then_gives_the_notebooks_model_the_checkpoints_weights(
        folder, preparing, capsys):
    def fit(model):
        return checkpoints.fit_or_load("fitted", model, *DATA, epochs=2, batch_size=4,
                                       what="a tiny network", evaluate_on={"validation": DATA})
    with preparing():
        made = fit(_compiled(seed=1))
    assert not made.loaded and len(made.history["loss"]) == 2
    assert "⏱ Training a tiny network" in capsys.readouterr().out
    mine = _compiled(seed=1)                     # the same network, the same random start
    loaded = fit(mine)
    assert loaded.loaded and loaded.model is mine and loaded.accuracy == made.accuracy
    np.testing.assert_array_equal(mine.get_weights()[0], made.model.get_weights()[0])
    out = capsys.readouterr().out
    assert "Loaded checkpoint fitted" in out and "validation_accuracy:" in out
    assert not fit(_compiled(seed=2)).loaded     # another random start: trained here


def test_loads_in_one_block_are_said_in_one_line(folder, preparing, capsys):
    with preparing():
        for name in ("one", "two"):
            checkpoints.load_or_train(name, "a demo network", {"epochs": 2}, DATA, Trainer())
    capsys.readouterr()
    later = Trainer()
    with checkpoints.loads_said_together("these 3 networks"):
        for name in ("one", "two", "three"):   # "three" was never prepared: trained here
            checkpoints.load_or_train(name, "a demo network", {"epochs": 2}, DATA, later)
    said = capsys.readouterr().out
    assert later.calls == 1 and "Loaded checkpoint" not in said
    [line] = [line for line in said.splitlines() if line.startswith("Loaded")]
    assert line.startswith("Loaded 2 of these 3 networks from checkpoints made ")
    assert "by cnn-course prepare" in line and "USE_CHECKPOINTS = False" in line
    with checkpoints.loads_said_together("nothing prepared"):
        checkpoints.load_or_train("four", "a demo network", {"epochs": 2}, DATA, Trainer())
    assert "Loaded" not in capsys.readouterr().out
    load(Trainer())   # outside a block, each load says its own line again
    assert checkpoints._loads_to_say is None


@pytest.mark.slow
def test_train_recipe_without_a_name_trains_measures_and_keeps_nothing(folder, preparing, capsys):
    from helpers import mnist, recipes

    (x, y), _ = mnist.load_mnist(source="sample")
    data = mnist.subset(mnist.to_model_input(x), y, 256)
    with preparing():
        run = checkpoints.train_recipe(None, recipes.get_recipe("seed"), data, epochs=1,
                                       evaluate_on={"validation": data}, verbose=False)
    assert not run.loaded and 0.1 < run.accuracy <= 1 and not folder.exists()
    assert "⏱ Training seed: 256 images, 1 epoch:" in capsys.readouterr().out


def test_a_notebooks_code_changes_with_what_it_does_not_with_comments_or_layout(tmp_path,
                                                                               monkeypatch):
    from helpers import paths

    monkeypatch.setattr(paths, "NOTEBOOK_DIR", tmp_path)

    def code_of(*cells):
        notebook = {"cells": [{"cell_type": "code", "source": source} for source in cells]
                    + [{"cell_type": "markdown", "source": "prose changes nothing: " + cells[0]}]}
        (tmp_path / "05_x.ipynb").write_text(json.dumps(notebook))
        return prepare.notebook_code("05_x")

    first = code_of("x = fit(a, b)  # train\n", "y = 2")
    assert code_of("# the training\nx = fit(a,\n        b)\n\n", "y = 2") == first
    assert code_of("x = fit(a, b, epochs=3)", "y = 2") != first
    assert code_of("x = fit(a,", "y = 2") == "not valid Python"


def test_a_networks_settings_do_not_depend_on_how_many_layers_were_built_before():
    from helpers import architectures

    def branched():    # a functional network, whose layers Keras names as it goes
        import keras

        inputs = keras.Input((28, 28, 1))
        x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
        x = keras.layers.Add()([x, keras.layers.Conv2D(8, 1)(x)])
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))

    first = checkpoints.recipe_settings(_recipe_of(branched), 2)
    architectures.batchnorm_cnn()   # Keras numbers every new layer's name
    again = checkpoints.recipe_settings(_recipe_of(branched), 2)
    assert again == first
    other = checkpoints.recipe_settings(_recipe_of(architectures.batchnorm_cnn), 2)
    assert other["networks"] != first["networks"]


def _recipe_of(build):
    import dataclasses

    from helpers import recipes

    return dataclasses.replace(recipes.get_recipe("fast"), build=build)
