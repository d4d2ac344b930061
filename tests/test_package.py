"""The package itself: imports that only define things, one set-up call, reports, files."""
from __future__ import annotations

import json
import os
import pkgutil
import stat
import subprocess
import sys

import numpy as np
import pytest

import helpers
from helpers import files, report, session, startup
from helpers.errors import UsageError

# every module and package, but one notebook's exercises (the exercises package imports them all)
MODULES = sorted(m.name.removeprefix("helpers.") for m in pkgutil.walk_packages(helpers.__path__, "helpers.")
                 if not m.name.startswith("helpers.exercises."))

SIDE_EFFECTS = """
import importlib, json, os, sys
import matplotlib
redirected = []
real_dup2 = os.dup2
os.dup2 = lambda fd, fd2, *a: (redirected.append(fd2), real_dup2(fd, fd2, *a))[1]
before_env, before_rc = dict(os.environ), dict(matplotlib.rcParams)
importlib.import_module("helpers." + sys.argv[1])
print(json.dumps({
    "env": sorted(set(os.environ.items()) ^ set(before_env.items())),
    "rc": sorted(k for k, v in matplotlib.rcParams.items() if before_rc.get(k) != v),
    "redirected": redirected,
}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_importing_a_module_changes_nothing(module):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", SIDE_EFFECTS, module], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    changes = json.loads(done.stdout.strip().splitlines()[-1])
    assert changes == {"env": [], "rc": [], "redirected": []}


HELP_WITHOUT_TENSORFLOW = """
import sys
from helpers.commands import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize("argv", [[], ["--help"], ["train", "--help"], ["bench", "--help"]])
def test_the_package_and_the_help_start_no_tensorflow(argv):
    out = subprocess.run([sys.executable, "-c", HELP_WITHOUT_TENSORFLOW, *argv],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_doctors_modules_and_the_recipe_table_start_no_tensorflow():
    # doctor checks the packages before anything imports TensorFlow (it may be missing);
    # the command line lists the recipes without building them
    code = ("import sys\nimport helpers.commands.doctor, helpers.commands.prepare, "
            "helpers.checkpoints, helpers.model_card\nfrom helpers import recipes\n"
            "assert set(recipes.RECIPES) == {'seed', 'fast', 'best'}\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.slow
def test_setup_seeds_styles_and_prints_one_banner(capsys, monkeypatch):
    import matplotlib

    from helpers import speed

    monkeypatch.setenv(speed.SPEED_ENV, "16")  # as the runner gives it: no probe to announce
    matplotlib.rcParams["axes.spines.top"] = True
    session.setup(7)
    first = np.random.random()
    session.setup(7)
    assert np.random.random() == first
    assert matplotlib.rcParams["axes.spines.top"] is False  # the course's plot style
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and "TensorFlow" in out[0] and "seed 7" in out[0]


def test_filtered_stderr_drops_known_noise_and_keeps_the_rest(capfd):
    with startup.filtered_stderr():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"something a learner must see\n")
    err = capfd.readouterr().err
    assert "something a learner must see" in err and "oneDNN" not in err


def test_record_writes_the_runner_file(tmp_path, monkeypatch):
    target = tmp_path / "m.json"
    monkeypatch.setenv(report.METRICS_ENV, str(target))
    assert report.record("test_accuracy", np.float32(0.5)) is None  # no stray cell output
    assert json.loads(target.read_text())["metrics"]["test_accuracy"] == 0.5
    with pytest.raises(TypeError, match="takes a number"):
        report.record("pair", (3, 5))


# --------------------------------------------------------------------------- files


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("the old, good content")
    with pytest.raises(RuntimeError):
        with files.atomic_write(target) as tmp:
            tmp.write_text("half of it")
            raise RuntimeError("disk full")
    assert target.read_text() == "the old, good content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_written_files_get_the_users_normal_permissions(tmp_path):
    path = files.write_text(tmp_path / "sub" / "a.txt", "hello")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_output_paths_are_refused_before_any_work(tmp_path):
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UsageError, match="is a folder; give a file name ending in .keras"):
        files.check_output_file(tmp_path / "a_folder", ".keras")
    with pytest.raises(UsageError, match="must end in .keras, not .h5"):
        files.check_output_file(tmp_path / "m.h5", ".keras")
    with pytest.raises(UsageError, match="is not a folder"):
        files.check_output_file(tmp_path / "a_file" / "m.keras", ".keras")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        files.check_output_dir(tmp_path / "a_file")
    assert files.check_output_file(tmp_path / "new" / "deeper" / "m.keras", ".keras")
    assert files.check_output_dir(tmp_path / "new" / "build") == tmp_path / "new" / "build"
    assert not (tmp_path / "new").exists()  # checking creates nothing
