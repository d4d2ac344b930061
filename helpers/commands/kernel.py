"""The course's Jupyter kernel: IPython's kernel, started by this module, which first starts
TensorFlow quietly (its C++ start-up lines filtered out) so that a notebook may ``import
keras`` in any cell, in any order. ``cnn-course install-kernel`` (and ``make setup``)
registers it for this environment's Python; the runner and ``doctor`` find it again.

Run as the kernel: ``python -m helpers.commands.kernel -f CONNECTION_FILE`` (IPython's options
kept, as ``install`` writes them).
"""
from __future__ import annotations

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


def ensure_kernel() -> str:
    """Register the course's Jupyter kernel for this interpreter unless it already is."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        if is_the_courses(KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv):
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    from helpers.files import write_text

    folder = Path(install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME,
                          prefix=sys.prefix))
    spec = json.loads((folder / "kernel.json").read_text())
    # IPython's own command line (its options kept), with the course's module to start
    spec["argv"] = [LAUNCHER if arg == "ipykernel_launcher" else arg for arg in spec["argv"]]
    write_text(folder / "kernel.json", json.dumps(spec, indent=1) + "\n")
    return KERNEL_NAME


def install_kernel() -> str:
    """Register the course's Jupyter kernel for this environment's Python."""
    from helpers import report

    name = ensure_kernel()
    report.announce(f"Jupyter kernel {name!r} ({KERNEL_DISPLAY_NAME}) runs this environment's "
                    "Python; JupyterLab lists it under that name.")
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
