"""A class's own handwriting as a test set: labelled examples saved by notebook 08's drawing
pad (``my_digits/7/....png``) or listed in a CSV file (``file,label[,group]``), and the
scores of a model on them: accuracy overall and per group, and the confusions."""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from helpers import files
from helpers.errors import UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass(frozen=True)
class Example:
    """One labelled picture: its file, the digit it shows, and its group (a learner, a pen)."""

    file: Path
    label: int
    group: str = ""


def save_example(image: np.ndarray, digit: int, folder: str | Path) -> Path:
    """Save a drawing (an RGBA or grey array) as ``folder/<digit>/<time>.png``, atomically."""
    if digit not in range(10):
        raise UsageError(f"the label must be a digit 0-9, got {digit!r}.")
    path = Path(folder) / str(digit) / f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}.png"
    with files.atomic_write(path) as tmp:
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format="PNG")
    return path


def read_examples(source: str | Path) -> list[Example]:
    """The labelled examples in ``source``: a folder of digit folders (``0/``-``9/``, the group
    is the name of any folder between them and the picture), or a CSV file with columns
    ``file,label`` and optional ``group`` (files relative to the CSV's folder). Every bad row
    is reported at once, with its line number."""
    source = Path(source)
    if source.is_dir():
        return _from_folder(source)
    if not source.is_file():
        raise UsageError(f"{source}: no such file or folder.")
    return _from_csv(source)


def _from_folder(folder: Path) -> list[Example]:
    examples = []
    for digit in range(10):
        for path in sorted((folder / str(digit)).rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                group = path.parent.relative_to(folder / str(digit)).as_posix()
                examples.append(Example(path, digit, "" if group == "." else group))
    if not examples:
        raise UsageError(f"{folder}: no pictures in digit folders (0/ to 9/) there.")
    return examples


def _from_csv(path: Path) -> list[Example]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read as a CSV file ({exc}).") from None
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if "file" not in header or "label" not in header:
        raise UsageError(f"{path}: the first line must name the columns file,label[,group]; "
                         f"found {','.join(header) or 'nothing'}.")
    column = {name: header.index(name) for name in ("file", "label", "group") if name in header}
    examples, problems = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[i].strip() if i < len(row) else "" for name, i in column.items()}
        if not cells["file"]:
            problems.append(f"line {line}: no file named")
        elif cells["label"] not in [str(d) for d in range(10)]:
            problems.append(f"line {line}: label {cells['label']!r} is not a digit 0-9")
        else:
            examples.append(Example(path.parent / cells["file"], int(cells["label"]),
                                    cells.get("group", "")))
    if problems:
        raise UsageError(f"{path}: {len(problems)} bad row(s): " + "; ".join(problems) + ".")
    if not examples:
        raise UsageError(f"{path}: no rows after the header.")
    return examples


def score(labels, predicted, groups=None) -> dict:
    """Accuracy overall and per group, and the confusions (true, read, count), most first."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    labels, predicted = np.asarray(labels), np.asarray(predicted)
    groups = np.asarray(groups if groups is not None else [""] * len(labels))
    matrix = confusion_matrix(labels, predicted, labels=range(10))
    confusions = sorted(((int(t), int(p), int(matrix[t, p])) for t in range(10) for p in range(10)
                         if t != p and matrix[t, p]), key=lambda c: -c[2])
    per_group = {str(g): {"count": int((groups == g).sum()),
                          "accuracy": float(accuracy_score(labels[groups == g], predicted[groups == g]))}
                 for g in sorted(set(groups.tolist())) if g != ""}
    return {"count": len(labels), "accuracy": float(accuracy_score(labels, predicted)),
            "groups": per_group,
            "confusions": [{"true": t, "read": p, "count": n} for t, p, n in confusions]}
