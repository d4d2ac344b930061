"""``cnn-course doctor``: will the course run on this machine? One line per check, and for
each problem the fix, in under a minute; exit code 0 when the course will run, 1 if not.

Every check returns ``Finding``s: ``ok``, ``note`` (worth knowing, the course still runs)
or ``problem`` (it will not run as it should). The speed probe comes last and predicts each
notebook's minutes here from the reference epochs measured for the course.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from helpers import paths
from helpers.commands.prepare import NOTEBOOK_CHECKPOINTS, available, up_to_date
from helpers.model_card import CardError

MIN_PYTHON = (3, 11, 4)
MIN_FREE_BYTES = 2 * 1024 ** 3          # data, checkpoints, executed notebooks, with room
NEEDED_EXTENSIONS = {                   # notebook 08's drawing pad: widgets and a canvas
    "@jupyter-widgets/jupyterlab-manager": "ipywidgets",
    "ipycanvas": "ipycanvas",
}
SETUP_HINT = "run `make setup`, or `pip install -e .` in the course's environment"


@dataclass
class Finding:
    level: str   # "ok", "note" or "problem"
    text: str

    def line(self) -> str:
        return {"ok": "✓", "note": "!", "problem": "✗"}[self.level] + " " + self.text


def check_python(version: tuple = tuple(sys.version_info[:3])) -> list[Finding]:
    shown = ".".join(map(str, version))
    if tuple(version) < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return [Finding("problem", f"Python {shown}: the course needs {need} or newer; install "
                                   f"it and make the environment again (`make PYTHON=python3.11 "
                                   f"setup`)")]
    return [Finding("ok", f"Python {shown}")]


def check_packages(requirements: list[str] | None = None) -> list[Finding]:
    """Every dependency of the course installed, at a version it accepts."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    if requirements is None:
        try:
            requirements = metadata.requires("cnn-course") or []
        except metadata.PackageNotFoundError:
            return [Finding("problem", f"the course is not installed in this environment: "
                                       f"{SETUP_HINT}")]
    environment = default_environment()
    problems, versions = [], {}
    for text in requirements:
        wanted = Requirement(text)
        if wanted.marker and not wanted.marker.evaluate(dict(environment, extra="")):
            continue
        try:
            installed = metadata.version(wanted.name)
        except metadata.PackageNotFoundError:
            problems.append(Finding("problem", f"{wanted.name} is not installed: {SETUP_HINT}"))
            continue
        versions[wanted.name] = installed
        if not wanted.specifier.contains(installed, prereleases=True):
            problems.append(Finding("problem", f"{wanted.name} {installed} is installed; the "
                                               f"course needs {wanted.specifier}: {SETUP_HINT}"))
    shown = ", ".join(f"{name} {versions[name]}" for name in ("tensorflow", "keras")
                      if name in versions)
    return problems or [Finding("ok", f"{len(versions)} packages at the versions the course "
                                      f"needs ({shown})")]


def check_kernel() -> list[Finding]:
    """The course's Jupyter kernel is registered for this environment's Python, and starts."""
    from helpers.commands.kernel import scratch_ipython

    fix = "run `cnn-course install-kernel`, which registers it again"
    with scratch_ipython():
        return _kernel_findings(fix)


def _kernel_findings(fix: str) -> list[Finding]:
    from helpers.commands.kernel import (KERNEL_NAME, LAUNCHER, is_the_courses, registered_argv,
                                         runs_this_python, start_problem)
    from helpers.errors import CourseError

    try:
        argv = registered_argv()
    except CourseError as exc:
        return [Finding("problem", f"{exc}: {fix}")]
    if argv is None:
        return [Finding("problem", f"no Jupyter kernel {KERNEL_NAME!r}: {fix}")]
    python = Path(argv[0])
    if not python.is_file() or not runs_this_python(argv[0]):
        return [Finding("problem", f"the Jupyter kernel {KERNEL_NAME!r} runs {python}, not this "
                                   f"environment's Python ({sys.executable}): {fix}")]
    if not is_the_courses(argv):
        return [Finding("problem", f"the Jupyter kernel {KERNEL_NAME!r} does not start with the "
                                   f"course's {LAUNCHER} (an older set-up): {fix}")]
    problem = start_problem()
    if problem:
        return [Finding("problem", f"the Jupyter kernel {KERNEL_NAME!r} does not start "
                                   f"({problem}): see the line it printed; `cnn-course doctor` "
                                   "lists the packages it needs")]
    return [Finding("ok", f"Jupyter kernel {KERNEL_NAME!r} starts, with this environment's "
                          "Python")]


def check_extensions(search_path: list[str] | None = None) -> list[Finding]:
    """JupyterLab has the front-end extensions notebook 08's drawing pad needs."""
    from jupyter_core.paths import jupyter_path

    folders = [Path(p) for p in (search_path or jupyter_path("labextensions"))]
    missing = [(name, package) for name, package in NEEDED_EXTENSIONS.items()
               if not any((folder / name / "package.json").is_file() for folder in folders)]
    if missing:
        return [Finding("problem", f"JupyterLab lacks the {name} extension (notebook 08's drawing "
                                   f"pad needs it): reinstall {package} with `pip install "
                                   f"--force-reinstall {package}`") for name, package in missing]
    return [Finding("ok", "JupyterLab has the widget and canvas extensions notebook 08 needs")]


def check_data() -> list[Finding]:
    """The data ``load_mnist`` would use, verified (without downloading anything)."""
    from helpers import mnist
    from helpers.downloads import OFFLINE_ENV
    from helpers.errors import DatasetError

    try:  # a check never downloads, and says nothing but its finding
        with paths.environment(**{OFFLINE_ENV: "1"}), contextlib.redirect_stdout(io.StringIO()):
            data = mnist.load_mnist()
    except DatasetError as exc:
        return [Finding("problem", f"MNIST: {exc}")]
    if data.source == "sample":
        return [Finding("note", "no full MNIST here: the notebooks will download it, or run on "
                                "the 5,000-digit offline sample; for a classroom run `cnn-course "
                                "fetch-data` (online) or `cnn-course fetch-data --from DIR`")]
    return [Finding("ok", f"MNIST: {data.description}, checksums verified")]


def check_photos() -> list[Finding]:
    """Notebook 10's CIFAR-10 photos; MobileNetV2's weights (06 part B, 10's ImageNet cell)
    and the flowers (06 part B). Without them the course runs, on stand-ins or skipping."""
    from helpers import cifar10, photos
    from helpers.errors import DatasetError

    found = cifar10.find_photo_folder()
    started = [root / cifar10.FOLDER for root in paths.data_roots()
               if (root / cifar10.FOLDER).is_dir()]
    if found is not None:
        findings = [Finding("ok", f"CIFAR-10: the photos notebook 10 reads, in {found}")]
    else:
        try:
            if started:
                cifar10.check_folder(started[0])
            findings = [Finding("note", "no CIFAR-10 photos here: notebook 10 will run on "
                                        "generated stand-ins; for a classroom run `cnn-course "
                                        "fetch-data` (online, 170 MB) or `cnn-course fetch-data "
                                        "--from DIR`")]
        except DatasetError as exc:
            findings = [Finding("note", f"{exc} Until then notebook 10 runs on generated "
                                        "stand-ins.")]
    weights, flowers = photos.find_photo_assets()
    fetch = "`cnn-course fetch-data --with-photos` (online) gets them"
    if weights is not None and flowers is not None:
        findings.append(Finding("ok", "MobileNetV2's ImageNet weights and the flower photos "
                                      "(notebook 06 part B, notebook 10's ImageNet cell)"))
    elif weights is not None:
        findings.append(Finding("note", f"no flower photos here: notebook 06 part B will say so "
                                        f"and skip; {fetch}"))
    else:
        missing = "MobileNetV2 ImageNet weights" + (" or flower photos" if flowers is None else "")
        findings.append(Finding("note", f"no {missing} here (a cut-off weights file counts as "
                                        "none): notebook 06 part B and notebook 10's ImageNet "
                                        f"cell will say so and skip; {fetch}"))
    return findings


def check_checkpoints(folder: Path | None = None) -> list[Finding]:
    """Which checkpoints the notebooks will load, and any that are damaged."""
    found = available(folder)
    findings = [Finding("problem", f"checkpoint {error}: delete it, or copy it again with "
                                   "`cnn-course fetch-data --from DIR`")
                for error in found.values() if isinstance(error, CardError)]
    stale = [stem[:2] for stem in NOTEBOOK_CHECKPOINTS
             if not up_to_date(stem, folder=folder)]
    if stale:
        findings.append(Finding("note", f"notebooks {', '.join(stale)} have no checkpoints made "
                                        "from their present code: they will train instead "
                                        "(longer; times below); run `cnn-course prepare`, or copy "
                                        "them with `cnn-course fetch-data --from DIR`"))
    else:
        findings.append(Finding("ok", "the checkpoints of notebooks "
                                      f"{', '.join(s[:2] for s in NOTEBOOK_CHECKPOINTS)}"
                                      ", made from their present code"))
    return findings


def check_disk(folder: Path = paths.COURSE_ROOT, needed: int = MIN_FREE_BYTES) -> list[Finding]:
    free = shutil.disk_usage(folder).free
    if free < needed:
        return [Finding("problem", f"{free / 1024 ** 3:.1f} GB free on the course's disk; it "
                                   f"needs {needed / 1024 ** 3:.0f} GB: free some space")]
    return [Finding("ok", f"{free / 1024 ** 3:.0f} GB free on the course's disk")]


def predicted_minutes(reference_epoch: float, have_checkpoints: bool) -> list[str]:
    """Each notebook's predicted minutes here, from the reference epochs measured for it."""
    from helpers.speed import measured_times

    measured = measured_times()
    full = "full" if have_checkpoints else "full_without_checkpoints"
    lines = [f"  {'notebook':26s} {'full mode':>10s} {'fast mode':>10s}"]
    for stem, times in measured["notebooks"].items():
        lines.append(f"  {stem:26s} {times[full] * reference_epoch / 60:7.1f} min "
                     f"{times['fast'] * reference_epoch / 60:7.1f} min")
    total = sum(t[full] for t in measured["notebooks"].values())
    lines.append(f"  {'all':26s} {total * reference_epoch / 60:7.1f} min")
    lines.append(f"  (reference epochs per notebook measured by {measured['measured_by']})")
    return lines


def _speed() -> list[Finding]:
    from helpers import speed

    reference = speed.probe().reference_epoch_seconds   # measured now, kept nowhere
    have = all(up_to_date(stem) for stem in NOTEBOOK_CHECKPOINTS)
    lines = [f"✓ one reference epoch takes {reference:.1f} s here; predicted times"
             f"{'' if have else ' (without checkpoints)'}:", *predicted_minutes(reference, have)]
    return [Finding("ok", "\n".join(lines))]


def _guarded(check) -> list[Finding]:
    """A check's findings; a check that fails in itself is a problem, in one line."""
    try:
        return check()
    except Exception as exc:  # whatever broke, the learner gets one line, not a traceback
        what = check.__name__.removeprefix("check_").strip("_")
        return [Finding("problem", f"checking the {what} failed ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''}): "
                                   f"{SETUP_HINT}")]


def run(probe: bool = True) -> int:
    """Run every check, print one line each (and the predicted times); the exit code."""
    findings = []
    for check in (check_python, check_packages, check_kernel, check_extensions, check_disk,
                  check_data, check_photos, check_checkpoints):
        for finding in _guarded(check):
            print(finding.line(), flush=True)
            findings.append(finding)
    if probe:
        [finding] = _guarded(_speed)
        findings.append(finding)
        print(finding.text if finding.level == "ok" else finding.line(), flush=True)
    problems = [f for f in findings if f.level == "problem"]
    print(f"\n{len(problems)} problem(s): " + ("fix them, then run `cnn-course doctor` again."
                                              if problems else "the course will run here."))
    return 1 if problems else 0
