"""The learners' copy: the notebooks without their exercise solutions or outputs."""
from __future__ import annotations

import re
from pathlib import Path

from helpers import files
from helpers.errors import CourseError, UsageError

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


def learners_copy(notebook_dir: Path, out_dir: Path, force: bool = False) -> list[Path]:
    """Write every notebook of ``notebook_dir`` into ``out_dir`` without solutions or
    outputs; returns the written paths. Every notebook is read first, and nothing is written
    if one cannot be, or if a notebook there is not the course's copy (a learner's edited
    one, say) unless ``force``."""
    import nbformat

    sources = sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise UsageError(f"--notebooks {notebook_dir}: no numbered notebooks there.")
    copies = []
    for path in sources:
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as exc:  # nbformat raises JSON, validation and encoding errors
            said = (str(exc).splitlines() or [""])[0][:120]
            raise CourseError(f"{path}: not a notebook nbformat can read ({type(exc).__name__}: "
                              f"{said}); restore it from the course's repository. No notebook "
                              "was written.") from None
        for cell in notebook.cells:
            cell.source = strip_solutions(cell.source, cell.cell_type)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        copies.append((path.name, nbformat.writes(notebook) + "\n"))
    with files.OutputFolder(out_dir) as out:
        out.refuse_others([name for name, _ in copies], force=force)
        try:
            for name, text in copies:
                files.write_text(out.path / name, text)
        finally:
            out.record(*(out.path / name for name, _ in copies))
    return [out.path / name for name, _ in copies]
