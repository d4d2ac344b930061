"""`cnn-course doctor`: each problem it checks is found, in one line with its fix; on a
machine set up with `make setup` it passes."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import checkpoints
from helpers.commands import cli, doctor
from helpers.paths import DATA_ENV


def problems(findings):
    return [f.text for f in findings if f.level == "problem"]


def one_line_with_fix(text, fix):
    return "\n" not in text and fix in text


def test_old_python_is_a_problem_with_its_fix():
    assert not problems(doctor.check_python((3, 12, 1)))
    [text] = problems(doctor.check_python((3, 10, 9)))
    assert "3.10.9" in text and one_line_with_fix(text, "make PYTHON=python3.11 setup")


def test_a_missing_or_wrong_package_is_a_problem():
    assert not problems(doctor.check_packages())  # this environment, as make setup made it
    found = problems(doctor.check_packages(["no-such-package-here>=1", "numpy<1.0",
                                            "pytest>=1; python_version < '3'"]))
    assert len(found) == 2  # the marker excludes the third
    assert one_line_with_fix(found[0], "pip install -e .") and "not installed" in found[0]
    assert "numpy" in found[1] and "<1.0" in found[1]


class FakeSpec:
    def __init__(self, python):
        self.argv = [str(python), "-m", "ipykernel_launcher"]


def test_kernel_missing_pointing_elsewhere_or_damaged_is_a_problem(monkeypatch, tmp_path):
    from jupyter_client import kernelspec

    from helpers.commands import kernel

    monkeypatch.setattr(kernel, "start_problem", lambda: None)   # starting it: the slow test
    assert not problems(doctor.check_kernel())
    monkeypatch.setattr(kernel, "KERNEL_NAME", "no-such-kernel")
    [text] = problems(doctor.check_kernel())
    assert one_line_with_fix(text, "cnn-course install-kernel")
    monkeypatch.undo()
    monkeypatch.setattr(kernel, "start_problem", lambda: None)
    elsewhere = tmp_path / "other-env" / "bin" / "python"   # another environment's python,
    elsewhere.parent.mkdir(parents=True)                    # a link to the same interpreter
    elsewhere.symlink_to(sys.executable)
    monkeypatch.setattr(kernelspec.KernelSpecManager, "get_kernel_spec",
                        lambda self, name: FakeSpec(elsewhere))
    [text] = problems(doctor.check_kernel())
    assert str(elsewhere) in text and one_line_with_fix(text, "cnn-course install-kernel")
    monkeypatch.setattr(kernelspec.KernelSpecManager, "get_kernel_spec",
                        lambda self, name: FakeSpec(sys.executable))   # IPython's own start
    [text] = problems(doctor.check_kernel())
    assert "older set-up" in text and one_line_with_fix(text, "cnn-course install-kernel")


def test_a_damaged_kernel_spec_is_named_and_install_kernel_repairs_it(monkeypatch, tmp_path,
                                                                      capsys):
    spec = course_kernel_spec(monkeypatch, tmp_path)
    spec.write_text("{ not json")
    [text] = problems(doctor.check_kernel())
    assert str(spec) in text and one_line_with_fix(text, "cnn-course install-kernel")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))  # where install writes
    assert cli.main(["install-kernel"]) == 0
    from helpers.commands.kernel import is_the_courses, registered_argv

    assert is_the_courses(registered_argv())


def course_kernel_spec(monkeypatch, tmp_path):
    """A registration of the course's kernel in a folder Jupyter searches first."""
    import json

    from helpers.commands.kernel import LAUNCHER

    folder = tmp_path / "env" / "share" / "jupyter" / "kernels" / "cnn-course"
    folder.mkdir(parents=True)
    spec = folder / "kernel.json"
    spec.write_text(json.dumps({"argv": [sys.executable, "-m", LAUNCHER, "-f",
                                         "{connection_file}"], "display_name": "course",
                                "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "env" / "share" / "jupyter"))
    return spec


@pytest.mark.slow
def test_doctor_starts_the_kernel_before_calling_it_good(monkeypatch, tmp_path):
    assert not problems(doctor.check_kernel())
    import json

    spec = course_kernel_spec(monkeypatch, tmp_path)
    dying = json.loads(spec.read_text())
    dying["env"] = {"PYTHONHOME": str(tmp_path / "nowhere")}  # Python cannot start at all
    spec.write_text(json.dumps(dying))
    [text] = problems(doctor.check_kernel())
    assert "does not start" in text and "\n" not in text


def test_missing_lab_extensions_are_problems(tmp_path):
    assert not problems(doctor.check_extensions())
    (tmp_path / "ipycanvas").mkdir()
    (tmp_path / "ipycanvas" / "package.json").write_text("{}")
    [text] = problems(doctor.check_extensions([str(tmp_path)]))
    assert "jupyterlab-manager" in text and one_line_with_fix(text, "pip install --force-reinstall ipywidgets")


@pytest.mark.slow
def test_unusable_data_folder_is_a_problem_and_the_sample_a_note(monkeypatch, offline,
                                                                 tiny_mnist_dir):
    [note] = doctor.check_data()
    assert note.level == "note" and "cnn-course fetch-data" in note.text
    monkeypatch.setenv(DATA_ENV, str(tiny_mnist_dir))
    [text] = problems(doctor.check_data())
    assert "checksum" in text and "\n" not in text


def test_photos_are_found_and_missing_or_incomplete_ones_a_note(monkeypatch, offline):
    from helpers import cifar10, photos

    missing, no_weights = doctor.check_photos()
    assert missing.level == "note" and "no CIFAR-10 photos here" in missing.text
    assert "stand-ins" in missing.text and "cnn-course fetch-data" in missing.text
    assert no_weights.level == "note" and "weights or flower photos" in no_weights.text
    assert "--with-photos" in no_weights.text
    monkeypatch.setattr(cifar10, "PER_CLASS", {"train": 3, "test": 1})
    folder = cifar10.generated_sample(offline / "course-data" / "cifar10",
                                      {"train": 3, "test": 1})
    [found, _] = doctor.check_photos()
    assert found.level == "ok" and str(folder) in found.text
    next((folder / "train" / "cat").iterdir()).unlink()   # one photo lost in copying
    [incomplete, _] = doctor.check_photos()
    assert incomplete.level == "note" and "not a complete CIFAR-10 folder" in incomplete.text
    assert incomplete.text.count("fetch-data") == 1 and ".:" not in incomplete.text
    weights = offline / "course-data" / "mobilenet" / photos.MOBILENET_FILE
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"w" * photos.MOBILENET_BYTES)
    [_, no_flowers] = doctor.check_photos()   # the weights alone serve notebook 10's cell
    assert no_flowers.level == "note" and "no flower photos" in no_flowers.text
    assert "notebook 10" not in no_flowers.text
    for flower in photos.FLOWER_CLASSES:
        (offline / "course-data" / "flower_photos" / flower).mkdir(parents=True)
    [_, both] = doctor.check_photos()
    assert both.level == "ok"


def test_damaged_checkpoints_are_problems_and_missing_ones_a_note(tmp_path):
    findings = doctor.check_checkpoints(tmp_path)
    assert not problems(findings) and "cnn-course prepare" in findings[-1].text
    assert findings[-1].level == "note"
    (tmp_path / "05_best.json").write_text("{}")
    [text] = problems(doctor.check_checkpoints(tmp_path))
    assert "05_best.json" in text and one_line_with_fix(text, "fetch-data --from DIR")


def test_too_little_disk_is_a_problem(tmp_path):
    assert not problems(doctor.check_disk(tmp_path, needed=1))
    [text] = problems(doctor.check_disk(tmp_path, needed=10 ** 18))
    assert one_line_with_fix(text, "free some space")


def test_predicted_minutes_cover_every_notebook():
    from helpers.commands.runner import discover

    lines = doctor.predicted_minutes(60.0, have_checkpoints=True)
    for path in discover():
        assert any(line.split()[0] == path.stem for line in lines[1:]), path.stem


def test_cli_doctor_fails_with_exit_1_on_a_problem(monkeypatch, tiny_mnist_dir, offline, capsys):
    monkeypatch.setenv(DATA_ENV, str(tiny_mnist_dir))
    assert cli.main(["doctor", "--no-probe"]) == 1
    out = capsys.readouterr().out
    assert "✗ MNIST" in out and "1 problem(s)" in out


@pytest.mark.notebook  # starts TensorFlow in a fresh process, as a learner's first command
def test_doctor_passes_here_with_the_speed_probe(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k != DATA_ENV}
    env[checkpoints.CHECKPOINT_ENV] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "helpers.commands.cli", "doctor"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reference epoch takes" in done.stdout and "0 problem(s)" in done.stdout
    assert "08_your_own_digits" in done.stdout
