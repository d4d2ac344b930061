"""`cnn-course train` and `cnn-course bench` on the offline sample, and the bench's clock."""
from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest

from helpers import export
from helpers.commands import bench, cli
from helpers.model_card import ModelCard
from helpers.speed import measure_reference_epoch as WHOLE_REFERENCE_EPOCH  # before any patch


@pytest.mark.slow
def test_bench_json_has_the_documented_shape(offline, tmp_path, capsys, monkeypatch):
    from helpers import speed

    # the bench times a whole reference epoch itself (the suite's runners take a probed one)
    monkeypatch.setattr(speed, "measure_reference_epoch", WHOLE_REFERENCE_EPOCH)
    out = tmp_path / "bench.json"
    code = cli.main(["bench", "--recipes", "seed", "fast", "--epochs", "1", "--train-size",
                     "1024", "--seeds", "2", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["data_source"] == "sample" and result["train_images"] == 1024
    assert result["seeds"] == 2 and result["reference_epoch_seconds"] > 0
    assert result["machine"]["cores"] >= 1 and result["machine"]["tensorflow"]
    assert set(result["recipes"]) == {"seed", "fast"}
    for name, entry in result["recipes"].items():
        assert entry["epochs"] == 1 and entry["seconds_per_epoch"] > 0
        assert entry["time_to_99"] is None  # nothing reaches 99% on 1,024 digits
        assert [run["seed"] for run in entry["seeds"]] == [0, 1]
        assert 0 < entry["reference_epochs"] < 1   # one epoch of 1,024 images
        assert entry["ceiling_ratio"] >= 0.5 or "bound" in entry
    # one epoch of 1,024 digits at batch 32 (measured: 0.72); chance is 0.1
    assert result["recipes"]["seed"]["mean_test_accuracy"] > 0.4
    assert result["speedup_time_to_99"] is None
    table = capsys.readouterr().out
    assert "| seed |" in table and "| fast |" in table and "machine: " in table


def test_a_recipes_seeds_are_summarised():
    runs = [{"time_to_99": t, "test_accuracy": a, "training_seconds": s, "epochs": 3,
             "seconds_per_epoch": s / 3, "images_per_second": 60000 / (s / 3), "gflops": g}
            for t, a, s, g in ((9.0, 0.991, 12.0, 30.0), (None, 0.989, 15.0, 24.0),
                               (11.0, 0.993, 12.0, 30.0))]
    summary = bench.summarise(runs, reference_epoch=13.0, ceiling=100.0)
    assert summary["time_to_99"] == 10.0 and summary["reached_99"] == "2 of 3"
    assert summary["time_to_99_reference_epochs"] == round(10.0 / 13.0, 2)
    assert summary["mean_test_accuracy"] == 0.991 and summary["sd_test_accuracy"] == 0.002
    assert summary["reference_epochs"] == round(13.0 / 13.0, 2)   # 13 s of training on average
    assert summary["gflops"] == 28.0 and summary["ceiling_ratio"] == 0.28
    assert bench.summarise(runs[:1], 13.0, 100.0)["sd_test_accuracy"] == 0.0


def test_a_bench_run_trains_from_its_seed(monkeypatch):
    class Started(Exception):
        pass

    def train(recipe, data, **kwargs):
        raise Started(kwargs["shuffle_seed"], float(keras.random.uniform(())))

    monkeypatch.setattr(bench.training, "train", train)
    data = (np.zeros((64, 28, 28, 1), "float32"), np.zeros(64, int))
    started = []
    for seed in (3, 3, 4):
        with pytest.raises(Started) as caught:
            bench.bench_recipe(bench.recipes.get_recipe("fast"), data, data, seed=seed)
        started.append(caught.value.args)
    # the seed gives the order of the images and the random numbers (the initial weights)
    assert started[0] == started[1] and started[0][0] == 3
    assert started[2][0] == 4 and started[2][1] != started[0][1]


def test_the_table_gives_the_machine_and_the_time_to_99_in_both_units():
    runs = [{"time_to_99": 9.0, "test_accuracy": 0.9905, "training_seconds": 12.0, "epochs": 3,
             "seconds_per_epoch": 4.0, "images_per_second": 15000.0, "gflops": 60.0}]
    recipe = bench.summarise(runs, reference_epoch=18.0, ceiling=200.0)
    result = {"machine": {"cpu": "Some CPU", "cores": 4, "python": "3.11.7",
                          "tensorflow": "2.21.0", "keras": "3.15.1"},
              "data_source": "dir", "train_images": 60000, "seeds": 1, "ceiling_gflops": 200.0,
              "reference_epoch_seconds": 18.0, "recipes": {"fast": recipe},
              "speedup_time_to_99": None}
    table = bench.format_table(result)
    assert table.startswith("machine: Some CPU, 4 cores; Python 3.11.7, TensorFlow 2.21.0")
    assert "| 9.0 s = 0.50 ref. epochs (1 of 1) |" in table


def test_the_bound_names_the_larger_cost():
    assert bench.bound(0.45, 0.6).startswith("the training loop: Python and the input "
                                             "pipeline take 45%")
    assert "reach 22% of the matmul ceiling" in bench.bound(0.1, 0.22)


def test_speed_figures_from_known_numbers():
    # 3 epochs of 6,000 images in 12 s at 2 MFLOP per image (training)
    assert bench.speed_figures(6000, 12.0, 3, 2_000_000) == {
        "seconds_per_epoch": 4.0, "images_per_second": 1500.0, "gflops": 3.0}


class StubClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _network(probabilities) -> keras.Model:
    """A model of 2 inputs that always predicts these probabilities for 3 classes."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    model.layers[0].set_weights([np.zeros((2, 3), "float32"),
                                 np.log(np.asarray(probabilities, "float32"))])
    return model


WRONG = (0.1, 0.8, 0.1)  # the test labels are all 0


def test_the_clock_stops_while_test_accuracy_is_checked():
    clock = StubClock()
    x_test, y_test = np.zeros((4, 2), "float32"), np.zeros(4, int)
    timer = bench.TimeToTarget(x_test, y_test, every=1, target=0.99, clock=clock)
    timer.set_model(_network(WRONG))

    def slow_check():  # a check that takes 100 s of wall-clock time
        clock.now += 100
        return 0.5

    timer.test_accuracy = slow_check
    timer.on_train_begin()
    for _ in range(3):
        clock.now += 2  # two seconds of training per step
        timer.on_train_batch_end(0)
    timer.on_epoch_end(0)
    timer.on_train_end()
    assert timer.training_seconds == 6
    assert [seconds for seconds, _ in timer.checks] == [2, 4, 6, 6]
    assert timer.time_to_target is None


@pytest.mark.parametrize("second, reached", [
    ((0.5, 0.1, 0.4), None),  # right alone, wrong averaged with the first: (0.3, 0.45, 0.25)
    ((0.9, 0.05, 0.05), 13),  # averaged (0.5, 0.425, 0.075): right, after 10 s + 3 s
])
def test_an_ensembles_time_to_target_is_that_of_its_averaged_prediction(second, reached):
    clock = StubClock()
    timer = bench.TimeToTarget(np.zeros((2, 2), "float32"), np.zeros(2, int), every=1,
                                   target=0.99, clock=clock)
    for network, seconds in ((_network(WRONG), 10), (_network(second), 3)):
        timer.set_model(network)  # Keras points the callback at each network in turn
        timer.on_train_begin()
        clock.now += seconds
        timer.on_train_batch_end(0)
        timer.on_train_end()
    assert timer.checks[0] == (10, 0.0)
    assert timer.time_to_target == reached
    assert timer.training_seconds == 13


@pytest.mark.slow
def test_train_saves_model_and_card(offline, tmp_path, capsys):
    out = tmp_path / "m.keras"
    # the recipe's own 3 epochs: its one-cycle schedule needs more than the 8 steps of one
    # epoch of the 4,000-digit sample at batch 512
    assert cli.main(["train", "--recipe", "fast", "--epochs", "3", "--out", str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert set(card) == {f.name for f in dataclasses.fields(ModelCard)}  # the one schema
    assert card["settings"]["recipe"] == "fast" and card["settings"]["epochs"] == 3
    assert card["data"]["source"] == "sample" and card["made_by"] == "cnn-course train"
    # measured: 0.92 on the sample's 1,000 test digits; a broken recipe stays near 0.1
    assert card["measured"]["test_accuracy"] > 0.8
    assert {"tensorflow", "keras"} <= set(card["versions"])
    assert ModelCard.read(out).sha256 == card["sha256"]   # verified against the model file
    assert export.load_model(out).output_shape == (None, 10)
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.slow
def test_train_best_on_a_small_subset_saves_a_working_ensemble(offline, tmp_path, monkeypatch):
    from helpers import mnist

    real_load = mnist.load_mnist

    def small_sample(*args, **kwargs):
        (x_train, y_train), test = data = real_load(*args, **kwargs)
        small = mnist.subset(x_train, y_train, 600)
        return mnist.MNIST(small, test, data.source, data.description)

    monkeypatch.setattr(mnist, "load_mnist", small_sample)
    out = tmp_path / "best.keras"
    assert cli.main(["train", "--recipe", "best", "--epochs", "1", "--out", str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["settings"]["recipe"] == "best" and card["data"]["images"] == 600
    assert card["settings"]["epochs"] == 1 and card["settings"]["networks"] == 2
    model = export.load_model(out)
    assert len([layer for layer in model.layers if isinstance(layer, keras.Model)]) == 2
    # Five steps per network leave the averaged weights near their start (weight averaging
    # needs hundreds), so no accuracy floor here; the card must report the saved model's.
    _, (x_test, y_test) = real_load(source="sample")
    _, accuracy = model.evaluate(mnist.to_model_input(x_test), y_test, verbose=0)
    assert card["measured"]["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_train_rejects_unknown_recipe_with_usage_error():
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--recipe", "turbo"])
    assert info.value.code == 2


@pytest.mark.slow
def test_bench_reading_reads_both_ways_alike_and_writes_its_json(tmp_path, capsys):
    out = tmp_path / "reading.json"
    assert cli.main(["bench-reading", "--side", "1500", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "Reading a 1500x1500 picture" in table and "PNG" in table and "JPEG" in table
    result = json.loads(out.read_text())
    assert result["side"] == 1500 and set(result["formats"]) == {"PNG", "JPEG"}
    for entry in result["formats"].values():
        assert entry["reduced"]["seconds"] > 0 and entry["whole"]["seconds"] > 0
        assert entry["speed_ratio"] == pytest.approx(
            entry["whole"]["seconds"] / entry["reduced"]["seconds"])
        assert entry["largest_pixel_difference"] < 0.1   # the same digit either way


@pytest.mark.slow
def test_peak_memory_sees_an_allocation():
    from helpers.commands import bench_reading

    with bench_reading.peak_memory() as memory:
        block = np.ones(50_000_000, np.uint8)   # 50 MB, touched
        block[::4096] = 2
    del block
    if memory["added"] is not None:             # measured on Linux only
        assert memory["added"] > 40e6


def test_the_record_notebook_07_shows_is_the_readmes():
    """Notebook 07 ends with the record from measured_times.json; the README's table of it
    gives the same times and accuracies, for every recipe."""
    from helpers import speed
    from helpers.paths import COURSE_ROOT

    record = speed.measured_times()["bench"]
    assert set(record["recipes"]) == {"seed", "fast", "best"}
    rows = {line.split("|")[1].strip(): line for line in (COURSE_ROOT / "README.md").read_text()
            .splitlines() if line.startswith("| ") and " reference epochs | " in line}
    for name, entry in record["recipes"].items():
        assert f"= {entry['time_to_99']:.2f} reference epochs" in rows[name]
        assert f"{entry['mean_test_accuracy']:.2%} ({entry['sd_test_accuracy']:.2%})" in rows[name]
        assert rows[name].split("|")[-2].strip() == f"{entry['training']:.1f}"
