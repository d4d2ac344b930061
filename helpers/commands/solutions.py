"""The notebooks with every checked exercise solved: what ``cnn-course run`` and the tests
execute, and the copy ``cnn-course solutions-copy`` writes for an instructor. The notebooks
themselves hold no solutions; the worked answers are in ``helpers.exercises``."""
from __future__ import annotations

import re
from pathlib import Path

from helpers import files
from helpers.errors import CourseError, UsageError

_CHECK = re.compile(r'^check\("(\d\d\.\d+)"', re.M)


def solved_source(source: str) -> str:
    """A code cell with its exercise solved: everything above the ``check("NN.k", ...)`` line
    replaced by that exercise's worked answer. Any other cell comes back unchanged."""
    from helpers.exercises import EXERCISES, SOLUTIONS

    found = _CHECK.search(source)
    if not found or found.group(1) not in EXERCISES:
        return source
    return SOLUTIONS[found.group(1)] + "\n" + source[found.start():]


def with_solutions(notebook):
    """The notebook (an ``nbformat`` node) with every checked exercise solved, in place."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = solved_source(cell.source)
    return notebook


def solutions_copy(notebook_dir: Path, out_dir: Path, force: bool = False) -> list[Path]:
    """Write every notebook of ``notebook_dir`` into ``out_dir`` with its exercises solved
    and no outputs; returns the written paths. Every notebook is read first, and nothing is
    written if one cannot be, or if a notebook there is not the course's copy (an edited
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
        for cell in with_solutions(notebook).cells:
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
