"""Project layout: the conda file, the package metadata, and clean notebooks."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from helpers.paths import COURSE_ROOT, NOTEBOOK_DIR
from helpers.commands.kernel import KERNEL_NAME
from helpers.commands.runner import discover

NOTEBOOKS = discover(NOTEBOOK_DIR)


def test_environment_yml_installs_the_project_with_dev_extra():
    env = yaml.safe_load((COURSE_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert any(str(d).startswith("python") for d in deps) and "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-e .[dev]"]


def test_pyproject_declares_dev_extra_and_console_script():
    meta = tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text())["project"]
    assert meta["scripts"]["cnn-course"] == "helpers.commands.cli:main"
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
    ids = [c.get("id") for c in nb["cells"]]   # nbformat 4.5: every cell has its own id
    assert all(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_starts_with_the_standard_imports_then_its_one_setup_call(path: Path):
    code = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
            if c["cell_type"] == "code"]
    everything = "\n".join(code)
    assert "helpers.session import" not in everything  # keras and tf come from their packages
    assert everything.count("session.setup(") == 1 and "session.setup(" in code[0]
    if "keras." in everything:
        assert "import keras" in code[0]


# --------------------------------------------------------------------------- the two packages

HELPERS = COURSE_ROOT / "helpers"
COMMANDS = HELPERS / "commands"


def helpers_imported(code: str) -> set[str]:
    """Every ``helpers`` module a piece of code imports, anywhere in it (functions too), by
    full name: ``from helpers import a`` gives ``helpers.a``."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "helpers"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "helpers":
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def on_the_commands_side(name: str) -> bool:
    return name == "helpers.commands" or name.startswith("helpers.commands.")


def test_helpers_finds_what_code_imports():
    code = "import helpers.mnist\nfrom helpers import plots, commands\ndef f():\n" \
           "    from helpers.commands.cli import main\n"
    assert helpers_imported(code) == {"helpers.mnist", "helpers.plots", "helpers.commands",
                                      "helpers.commands.cli.main"}
    assert [on_the_commands_side(n) for n in sorted(helpers_imported(code))] == \
        [True, True, False, False]


@pytest.mark.parametrize("path", sorted(set(HELPERS.rglob("*.py")) - set(COMMANDS.rglob("*.py"))),
                         ids=lambda p: str(p.relative_to(HELPERS)))
def test_the_learners_side_imports_nothing_of_the_commands(path: Path):
    assert not [n for n in helpers_imported(path.read_text()) if on_the_commands_side(n)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_import_only_the_learners_side(path: Path):
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                     if c["cell_type"] == "code")
    imported = helpers_imported(code)
    assert imported and not [n for n in imported if on_the_commands_side(n)]


@pytest.mark.parametrize("path", sorted(HELPERS.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(HELPERS)))
def test_no_module_is_over_300_lines(path: Path):
    assert len(path.read_text().splitlines()) <= 300
