"""Every number the notebooks' prose states comes from somewhere a learner can see: a cell's
code, a cell's output that the paragraph points to ("printed", "the table", "above"), a
measurement it says was made elsewhere ("measured", "the README", a test), arithmetic
written out in the sentence, or a fact about the data listed below with its source.

Exercise questions are left out: their numbers set the task."""
from __future__ import annotations

import math
import re

import nbformat
import pytest

from helpers.paths import NOTEBOOK_DIR

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))

# A number the prose could have measured: a percentage, a count with thousands separators,
# a decimal, or a number with a unit of size, time or speed.
STATED = re.compile(r"(?<![\w.,^])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\.\d)"
                    r"(%|\s?ms\b|\s?MB\b|\s?GB\b|\s?kB\b|\ss\b|x\b|\stimes\b|\smillion\b"
                    r"|\sreference\sepochs?\b)?")
LITERAL = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d*)?(?:e-?\d+)?")
# Words that say where the sentence's numbers come from.
SOURCED = re.compile(r"\b(measured|measures|README|printed|prints|bench|the table|the plot|"
                     r"the chart|the summary above|the cell (above|below|after)|this run)\b|≈|"
                     r"\d\s*[×/]\s*\d+\s*=", re.I)   # or arithmetic written out with its result
SENTENCE = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z(`*])|\n\s*\n|\n(?=- |\d+\. )")

FACTS = {  # a number as written, with its unit: where it comes from
    "70,000": "MNIST: 60,000 training and 10,000 test images (LeCun et al.)",
    "60,000": "MNIST's training set", "10,000": "MNIST's test set",
    "54,000": "MNIST's training set less the 6,000 validation images notebook 01 sets aside",
    "4,000": "the offline sample's training images",
    "1,000": "the offline sample's test images; ImageNet's classes",
    "5,000": "the offline sample's images",
    "1.2 million": "ImageNet's training photos (Russakovsky et al., 2015)",
    "3,670": "the TensorFlow flowers dataset's photos",
    "9 MB": "MobileNetV2's ImageNet weights file", "220 MB": "the flowers archive",
    "98%": "the article's own result after five epochs",
    "0.03": "the fast recipe's peak learning rate, a setting (helpers/recipes.py)",
}


def _code_numbers(notebook) -> set[float]:
    code = "\n".join(line.split("#")[0] for c in notebook.cells if c.cell_type == "code"
                     for line in c.source.splitlines())
    return {float(n.replace("_", "")) for n in LITERAL.findall(code)}


def _is_exercise(cell) -> bool:
    text = cell.source.lstrip()
    return text.startswith(("## Exercises", "### Open questions")) or bool(
        re.match(r"\*\*\d+\.\*\*", text))


def unsourced_numbers(notebook) -> list[str]:
    """Each stated number with no visible source, with its sentence."""
    in_code = _code_numbers(notebook)
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown" or _is_exercise(cell):
            continue
        prose = re.sub(r"`[^`]*`", "", cell.source)
        for paragraph in re.split(r"\n\s*\n", prose):
            if paragraph.startswith("**Plan**") and "README" in paragraph:
                continue      # the times of the Plan line: measured runs, named in the paragraph
            for sentence in SENTENCE.split(paragraph):
                if SOURCED.search(sentence):
                    continue
                for match in STATED.finditer(sentence):
                    number, unit = match.group(1), match.group(2)
                    if not ("," in number or "." in number or unit):
                        continue
                    stated = " ".join(match.group(0).split())
                    if stated in FACTS or (not unit and number in FACTS):
                        continue
                    value = float(number.replace(",", ""))
                    if unit == "%":
                        value /= 100               # a share the code holds as a fraction
                    elif unit and unit.strip() not in ("x", "times"):
                        value = None               # a size or a time: measured, not set
                    if value is not None and any(math.isclose(value, n) for n in in_code):
                        continue
                    found.append(f"{match.group(0)!r} in: {' '.join(sentence.split())[:120]}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_number_in_the_prose_has_a_visible_source(path):
    assert unsourced_numbers(nbformat.read(path, as_version=4)) == []


def test_an_unsourced_number_is_found():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("rate = 1e-3\nepochs = 10  # 45 ms"),
        nbformat.v4.new_markdown_cell(
            "Adam at 0.001 reaches 97.3% here, below the article's. The table above shows "
            "98.1%.\n\nThe cells take longer: 10%, 45 ms and 1.2 GB on a test set of its own. "
            "Ten epochs take 2.5 times as long."),
        nbformat.v4.new_markdown_cell("**1.** What is 0.37 of 0.5?"),
    ])
    assert [line.split(" in:")[0] for line in unsourced_numbers(notebook)] == [
        "'97.3%'", "'10%'", "'45 ms'", "'1.2 GB'", "'2.5 times'"]
