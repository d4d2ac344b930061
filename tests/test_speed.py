"""The reference epoch: the probe's arithmetic, where a notebook gets it, and how long steps
are announced."""
from __future__ import annotations

import datetime as dt
import json
import platform

import pytest

from helpers import speed


class TickingClock:
    """A clock that moves one second each time it is read."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 1.0
        return self.now


@pytest.mark.slow
def test_probe_predicts_an_epoch_from_its_timed_steps(monkeypatch):
    # The clock is read before each timed call, at the end of every step, and after it: one
    # second per step, and one second more for the call, which a whole epoch pays once.
    monkeypatch.setattr(speed, "time", TickingClock())
    measured = speed.probe(train_steps=12, eval_steps=6)
    assert measured.train_step_seconds == 1 and measured.eval_step_seconds == 1
    # 60,000 images at batch 32 are 1,875 steps; 10,000 are 313 batches; a call's cost once
    assert measured.reference_epoch_seconds == 1 + 1875 + 1 + 313
    assert measured.host == platform.node()


def test_a_calls_fixed_cost_counts_once_not_in_every_step():
    # 10 steps of 0.1 s after a first slow one, in a call that took 2.5 s in all
    ends = [0.6 + 0.1 * i for i in range(11)]
    per_step, overhead = speed.per_step_and_overhead(0.0, 2.5, ends, skip=1)
    assert per_step == pytest.approx(0.1) and overhead == pytest.approx(2.5 - 1.1)
    # the old arithmetic, the whole call over its steps, makes each step 2.3 times too long
    assert 2.5 / len(ends) == pytest.approx(per_step * 2.27, rel=0.01)
    epoch = speed.predict_epoch(per_step, overhead, 0.05, 0.2)
    assert epoch == pytest.approx(overhead + 0.1 * 1875 + 0.2 + 0.05 * 313)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "CACHE_PATH", tmp_path / "speed.json")
    monkeypatch.delenv(speed.SPEED_ENV, raising=False)
    return tmp_path / "speed.json"


def saved(cache, seconds, host=None, age_seconds=0):
    when = dt.datetime.now() - dt.timedelta(seconds=age_seconds)
    cache.write_text(json.dumps({"reference_epoch_seconds": seconds, "host": host or platform.node(),
                                 "measured_at": when.isoformat(timespec="seconds")}))


def test_the_runners_value_then_a_recent_probe_on_this_machine_then_a_new_one(cache, monkeypatch):
    monkeypatch.setenv(speed.SPEED_ENV, "12.5")
    assert speed.reference_epoch_seconds() == 12.5
    monkeypatch.delenv(speed.SPEED_ENV)
    saved(cache, 33.0)
    assert speed.reference_epoch_seconds() == 33.0
    probes = []
    monkeypatch.setattr(speed, "probe", lambda: probes.append(1) or speed.Speed(
        7.0, 0.003, 0.001, 2.0, platform.node(), dt.datetime.now().isoformat()))
    for stale in (dict(age_seconds=2 * speed.CACHE_SECONDS), dict(host="another-laptop")):
        saved(cache, 33.0, **stale)
        assert speed.reference_epoch_seconds() == 7.0
    assert len(probes) == 2
    assert json.loads(cache.read_text())["reference_epoch_seconds"] == 7.0  # kept for next time


def test_announce_long_gives_the_estimate_for_this_machine(cache, monkeypatch, capsys):
    monkeypatch.setenv(speed.SPEED_ENV, "20")
    assert speed.announce_long("Training six networks", 4.5, source="the course's run") == 90.0
    out = capsys.readouterr().out
    assert out.startswith(speed.LONG_STEP_MARK + " Training six networks: about 4.5 reference epochs")
    assert "measured by the course's run" in out and "about 1.5 minutes on this machine" in out
    speed.announce_long("Training a small head", 0.01)   # fast mode's tiniest trainings
    assert ": under 0.1 reference epochs, so under a second on this machine." in \
        capsys.readouterr().out


def test_durations_read_naturally():
    assert [speed.duration(s) for s in (42, 150, 7200)] == ["42 s", "2.5 minutes", "2.0 hours"]


def test_a_trainings_estimate_scales_its_steps_measured_cost(cache, monkeypatch, capsys):
    monkeypatch.setenv(speed.SPEED_ENV, "20")
    monkeypatch.setattr(speed, "measured", lambda step: (2.0, f"the run that timed {step}"))
    # 2 reference epochs per epoch of 60,000 images: 10 epochs of 3,000 images make 1
    assert speed.announce_training("Training", "a_step", 10, images=3000) == 20.0
    assert "about 1.0 reference epochs, measured by the run that timed a_step" in \
        capsys.readouterr().out
    assert speed.announce_training("Training", "a_step", 3) == 120.0   # the step's own data


def test_a_steps_cost_is_in_its_documented_unit():
    # 10_imagenet_head is per epoch of 60,000 photos; it was measured as 20 epochs of 300
    # photos taking 19.9 s against whole reference epochs of 23.4 and 17.9 s: 0.96 of one
    cost, _ = speed.measured("10_imagenet_head")
    measured = 19.9 / ((23.4 + 17.9) / 2)
    assert cost * 20 * 300 / speed.TRAIN_IMAGES == pytest.approx(measured, rel=0.1)


def test_every_announced_step_has_a_measured_cost():
    import ast

    import nbformat

    from helpers.paths import NOTEBOOK_DIR

    def named_steps(tree):
        """The step each announce_training(what, "step", ...) and each cost="step" names."""
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if getattr(call.func, "attr", None) == "announce_training":
                yield call.args[1].value
            yield from (k.value.value for k in call.keywords
                        if k.arg == "cost" and isinstance(k.value, ast.Constant))

    steps = set(speed.measured_times()["steps"])
    used = {step for path in NOTEBOOK_DIR.glob("*.ipynb")
            for cell in nbformat.read(path, 4).cells if cell.cell_type == "code"
            for step in named_steps(ast.parse(cell.source))}
    assert used == steps, (used - steps, steps - used)   # none missing, none left unused


def test_every_notebook_has_measured_times_for_doctor_to_predict():
    from helpers.commands.runner import discover

    measured = speed.measured_times()["notebooks"]
    assert set(measured) == {path.stem for path in discover()}
    assert all(set(times) == {"full", "full_without_checkpoints", "fast"}
               for times in measured.values())
