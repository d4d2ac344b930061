"""`cnn-course train` and `cnn-course bench` on the offline sample, a few steps each."""
from __future__ import annotations

import json

import pytest

from helpers import benchmark, cli, models


def test_bench_json_has_the_documented_shape(offline, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = cli.main(["bench", "--recipes", "seed", "fast", "--epochs", "1", "--train-size",
                     "512", "--json", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["data_source"] == "sample"
    assert result["ceiling_gflops"] > 0
    assert set(result["recipes"]) == {"seed", "fast"}
    for entry in result["recipes"].values():
        assert {"seconds_per_epoch", "images_per_second", "gflops", "time_to_99",
                "test_accuracy"} <= set(entry)
        assert entry["images_per_second"] > 0 and entry["gflops"] > 0
        assert 0 <= entry["test_accuracy"] <= 1
        assert entry["time_to_99"] is None or entry["time_to_99"] > 0
    assert "speedup_time_to_99" in result
    table = capsys.readouterr().out
    assert "| seed |" in table and "| fast |" in table


def test_time_to_target_stops_the_clock_while_checking():
    timer = benchmark.TimeToTarget(None, None, every=1, target=0.5)
    timer.test_accuracy = lambda: 0.6
    timer._resume()
    timer._check()
    assert timer.time_to_target is not None and timer.time_to_target < 1
    assert timer.checks[0][1] == 0.6


def test_train_saves_model_and_card(offline, tmp_path, capsys):
    out = tmp_path / "m.keras"
    # the recipe's own 3 epochs: its one-cycle schedule needs more than the 8 steps of one
    # epoch of the 4,000-digit sample at batch 512
    assert cli.main(["train", "--recipe", "fast", "--epochs", "3", "--out", str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["recipe"] == "fast" and card["data_source"] == "sample" and card["epochs"] == 3
    assert card["test_accuracy"] > 0.5 and {"tensorflow", "keras"} <= set(card["versions"])
    assert models.load_model(out).output_shape == (None, 10)
    assert "test accuracy" in capsys.readouterr().out


def test_train_rejects_unknown_recipe_with_usage_error():
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--recipe", "turbo"])
    assert info.value.code == 2
