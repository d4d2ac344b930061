"""Every number the notebooks' prose states comes from somewhere a learner can see: a cell's
code, a cell's output that the paragraph points to ("printed", "the table", "above"), a
measurement it says was made elsewhere ("measured", "the README", a test), arithmetic
written out in the sentence, or a fact about the data listed below with its source.

Exercise questions are left out: their numbers set the task."""
from __future__ import annotations

import re

import nbformat
import pytest

from helpers.paths import NOTEBOOK_DIR

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))

# A number the prose could have measured: a percentage, a count with thousands separators,
# a decimal, or a number with a unit of size, time or speed.
STATED = re.compile(r"(?<![\w.,^])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
                    r"(%| ?ms\b| ?MB\b| ?GB\b| ?kB\b| s\b|x\b| times\b| reference epochs?\b)?")
LITERAL = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d*)?(?:e-?\d+)?")
SOURCED = re.compile(r"measure|README|print|bench|table|above|below|plot|chart|a test\b|"
                     r"the cell|this run|your machine|≈|=", re.I)

FACTS = {  # number as written: where it comes from
    "70,000": "MNIST: 60,000 training and 10,000 test images (LeCun et al.)",
    "60,000": "MNIST's training set", "10,000": "MNIST's test set",
    "54,000": "MNIST's training set less the 6,000 validation images notebook 01 sets aside",
    "4,000": "the offline sample's training images", "1,000": "the offline sample's test "
             "images; ImageNet's classes",
    "5,000": "the offline sample's images",
    "1.2": "ImageNet's 1.2 million training photos (Russakovsky et al., 2015)",
    "3,670": "the TensorFlow flowers dataset's photos",
    "9 MB": "MobileNetV2's ImageNet weights file", "220 MB": "the flowers archive",
    "98%": "the article's own result after five epochs",
    "127.0": "the loopback address 127.0.0.1",
}


def _code_numbers(notebook) -> set[float]:
    code = " ".join(c.source for c in notebook.cells if c.cell_type == "code")
    return {float(n.replace("_", "")) for n in LITERAL.findall(code)}


def _is_exercise(cell) -> bool:
    text = cell.source.lstrip()
    return text.startswith(("## Exercises", "### Open questions")) or bool(
        re.match(r"\*\*\d+\.\*\*", text))


def unsourced_numbers(notebook) -> list[str]:
    """Each stated number with no visible source, with its paragraph's start."""
    in_code = _code_numbers(notebook)
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown" or _is_exercise(cell):
            continue
        prose = re.sub(r"`[^`]*`", "", cell.source)
        for paragraph in re.split(r"\n\s*\n|\n(?=- |\d+\. )", prose):
            if SOURCED.search(paragraph):
                continue
            for match in STATED.finditer(paragraph):
                number, unit = match.group(1), match.group(2)
                if not ("," in number or "." in number or unit):
                    continue
                if float(number.replace(",", "")) in in_code or match.group(0).strip() in FACTS \
                        or number in FACTS:
                    continue
                found.append(f"{match.group(0)!r} in: {' '.join(paragraph.split())[:120]}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_number_in_the_prose_has_a_visible_source(path):
    assert unsourced_numbers(nbformat.read(path, as_version=4)) == []


def test_an_unsourced_number_is_found():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("rate = 1e-3"),
        nbformat.v4.new_markdown_cell("Adam at 0.001 reaches 97.3% here.\n\nThe table above "
                                      "shows 98.1%."),
    ])
    assert [line.split(" in:")[0] for line in unsourced_numbers(notebook)] == ["'97.3%'"]
