"""The learners' copy: the notebooks without their exercise solutions or outputs."""
from __future__ import annotations

import re
from pathlib import Path

from helpers import files

_SOLUTION_BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*\n?",
                             re.S | re.M)
_SOLUTION_DETAILS = re.compile(r"\n*<details><summary>Solution</summary>.*?</details>", re.S)


def _placeholder(block: re.Match) -> str:
    """Inside a function the solution becomes ``...``; at the top of a cell the line above
    it (``answer = ...``) is the placeholder already."""
    indent = block.group(1)
    return f"{indent}...  # your code here\n" if indent else ""


def strip_solutions(source: str, cell_type: str) -> str:
    """A cell's source without its solutions: code blocks between the markers become
    ``...``; ``<details>`` solutions in the text are dropped."""
    if cell_type == "code":
        return _SOLUTION_BLOCK.sub(_placeholder, source).rstrip()
    return _SOLUTION_DETAILS.sub("", source)


def learners_copy(notebook_dir: Path, out_dir: Path) -> list[Path]:
    """Write every notebook of ``notebook_dir`` into ``out_dir`` without solutions or
    outputs; returns the written paths."""
    import nbformat

    written = []
    for path in sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            cell.source = strip_solutions(cell.source, cell.cell_type)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        target = Path(out_dir) / path.name
        files.write_text(target, nbformat.writes(notebook) + "\n")
        written.append(target)
    return written
