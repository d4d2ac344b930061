"""Project layout: the conda file, the package metadata, and clean notebooks."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from helpers.paths import COURSE_ROOT, NOTEBOOK_DIR
from helpers.runner import KERNEL_NAME, discover

NOTEBOOKS = discover(NOTEBOOK_DIR)


def test_environment_yml_installs_the_project_with_dev_extra():
    env = yaml.safe_load((COURSE_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert any(str(d).startswith("python") for d in deps) and "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-e .[dev]"]


def test_pyproject_declares_dev_extra_and_console_script():
    meta = tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text())["project"]
    assert meta["scripts"]["cnn-course"] == "helpers.cli:main"
    assert any(d.startswith("pytest") for d in meta["optional-dependencies"]["dev"])
    names = {d.split(">")[0].split("<")[0].split("=")[0].strip().lower()
             for d in meta["dependencies"]}
    assert {"tensorflow", "keras", "matplotlib", "jupyterlab", "nbval", "papermill",
            "scikit-learn", "pillow", "mlxtend"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean_with_course_kernel_and_one_parameters_cell(path: Path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    assert nb["metadata"]["kernelspec"]["name"] == KERNEL_NAME
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1 and "FAST = False" in "".join(tagged[0]["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_starts_with_setup_then_the_standard_imports(path: Path):
    code = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
            if c["cell_type"] == "code"]
    everything = "\n".join(code)
    assert "helpers.session import" not in everything  # keras and tf come from their packages
    first = code[0].splitlines()
    setup = next(i for i, line in enumerate(first) if line.startswith("session.setup("))
    imports = [i for i, line in enumerate(first)
               if line.startswith(("import keras", "import tensorflow", "from keras"))]
    assert all(i > setup for i in imports)  # TensorFlow starts quietly, then Keras is imported
    if "keras." in everything:
        assert "import keras" in code[0]
