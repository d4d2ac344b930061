"""The course's Jupyter kernel: IPython's kernel, started by this module, which first starts
TensorFlow quietly (its C++ start-up lines filtered out) so that a notebook may ``import
keras`` in any cell, in any order. ``cnn-course install-kernel`` (and ``make setup``)
registers it for this environment's Python; the runner and ``doctor`` find it again.

Run as the kernel: ``python -m helpers.commands.kernel -f CONNECTION_FILE`` (IPython's options
kept, as ``install`` writes them).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "cnn-course"
KERNEL_DISPLAY_NAME = "Python 3 (cnn-course)"
LAUNCHER = "helpers.commands.kernel"


def runs_this_python(kernel_python: str) -> bool:
    """Whether a kernel's interpreter is this environment's: the same folder of programs (not
    resolved, since every virtual environment's python links to the same base interpreter)."""
    return Path(kernel_python).absolute().parent == Path(sys.executable).absolute().parent


def is_the_courses(argv: list[str]) -> bool:
    """Whether a kernel's command line is the course's kernel on this environment's Python."""
    return runs_this_python(argv[0]) and LAUNCHER in argv[1:] \
        and argv[argv.index(LAUNCHER) - 1] == "-m"


def registered_argv() -> list[str] | None:
    """The registered kernel's command line; None when there is none. A spec that cannot be
    read is a ``CourseError`` naming its file."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        argv = manager.get_kernel_spec(KERNEL_NAME).argv
    except NoSuchKernel:
        return None
    except Exception as exc:  # a damaged kernel.json: JSON, key and type errors
        from helpers.errors import CourseError

        folder = manager.find_kernel_specs().get(KERNEL_NAME, "?")
        raise CourseError(f"the Jupyter kernel spec {Path(folder) / 'kernel.json'} is damaged "
                          f"({type(exc).__name__}: {exc})") from None
    return argv if isinstance(argv, list) and argv else None


def ensure_kernel() -> str:
    """Register the course's Jupyter kernel for this interpreter unless it already is (a
    damaged registration is written again); a ``CourseError`` when another one hides it."""
    from helpers.errors import CourseError

    try:
        argv = registered_argv()
    except CourseError:
        argv = None  # written again below
    if argv and is_the_courses(argv):
        return KERNEL_NAME
    from ipykernel.kernelspec import install

    from helpers.files import write_text

    folder = Path(install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME,
                          prefix=sys.prefix))
    spec = json.loads((folder / "kernel.json").read_text())
    # IPython's own command line (its options kept), with the course's module to start
    spec["argv"] = [LAUNCHER if arg == "ipykernel_launcher" else arg for arg in spec["argv"]]
    write_text(folder / "kernel.json", json.dumps(spec, indent=1) + "\n")
    try:
        found = registered_argv()
    except CourseError as exc:
        found, why = None, str(exc)
    else:
        why = f"Jupyter finds another registration first ({found[0] if found else 'empty'})"
    if not (found and is_the_courses(found)):
        from jupyter_client.kernelspec import KernelSpecManager

        shadow = KernelSpecManager().find_kernel_specs().get(KERNEL_NAME)
        raise CourseError(f"registered the course's kernel in {folder}, but {why}: remove the "
                          f"registration in {shadow}, then run `cnn-course install-kernel` "
                          "again.")
    return KERNEL_NAME


@contextlib.contextmanager
def scratch_ipython():
    """For the block, IPython's folder (the kernels' history of every cell, their profile)
    is a temporary one: the course's commands leave nothing in the user's home."""
    import tempfile

    from helpers.paths import environment

    with tempfile.TemporaryDirectory(prefix="cnn-course-ipython-") as folder, \
            environment(IPYTHONDIR=folder):
        yield


def start_problem(timeout: float = 120) -> str | None:
    """Start the course's kernel and wait until it answers (TensorFlow starts first: seconds);
    None when it does, else what went wrong, with the last line it printed."""
    import tempfile

    from jupyter_client.manager import start_new_kernel

    with tempfile.TemporaryDirectory(prefix="cnn-course-kernel-") as scratch, \
            open(Path(scratch) / "kernel.log", "w+") as log, scratch_ipython():
        try:
            manager, client = start_new_kernel(
                kernel_name=KERNEL_NAME, startup_timeout=timeout, stdout=log, stderr=log)
        except Exception as exc:  # it died, or never answered
            log.seek(0)
            said = [line.strip() for line in log if line.strip()]
            return f"{type(exc).__name__}: {exc}" + (f"; it said: {said[-1][:200]}" if said else "")
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return None


def install_kernel() -> str:
    """Register the course's Jupyter kernel for this environment's Python."""
    from helpers import report

    name = ensure_kernel()
    report.announce(f"Jupyter kernel {name!r} ({KERNEL_DISPLAY_NAME}) is registered for this "
                    "environment's Python; JupyterLab lists it under that name.")
    return name


def main() -> None:
    """Start TensorFlow quietly, then IPython's kernel (with this process's arguments). As
    IPython's own launcher does, the notebook's folder is not searched for modules first,
    so a file there cannot hide a package of the same name."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    # TensorFlow imports matplotlib, which picks its backend then: the notebook's own, as
    # IPython's kernel would choose it later, so that plots appear in the notebook
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    from ipykernel import kernelapp

    from helpers.startup import start_tensorflow

    start_tensorflow()
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
