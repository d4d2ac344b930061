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
from helpers.errors import LabelsError, UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass(frozen=True)
class Example:
    """One labelled picture: its file, the digit it shows, and its group (a learner, a pen)."""

    file: Path
    label: int
    group: str = ""


def save_example(image: np.ndarray, digit: int, folder: str | Path) -> Path:
    """Save a drawing (an RGBA or grey array) as ``folder/<digit>/<time>.png``, atomically,
    never over an earlier one."""
    if digit not in range(10):
        raise UsageError(f"the label must be a digit 0-9, got {digit!r}.")
    stem = time.strftime("%Y%m%d-%H%M%S")
    path, n = Path(folder) / str(digit) / f"{stem}.png", 1
    while path.exists():
        n += 1
        path = path.with_name(f"{stem}-{n}.png")
    with files.atomic_write(path) as tmp:
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format="PNG")
    return path


def read_examples(source: str | Path) -> list[Example]:
    """The labelled examples in ``source``: a folder of digit folders (``0/``-``9/``, the group
    is the name of any folder between them and the picture), or a CSV file with columns
    ``file,label`` and optional ``group`` (files relative to the CSV's folder). Every bad row
    (a missing file, a label that is not a digit) is reported at once, with its line number."""
    source = Path(source)
    if source.is_dir():
        return _from_folder(source)
    if not source.is_file():
        raise LabelsError(f"{source}: no such file or folder.")
    return _from_csv(source)


def _from_folder(folder: Path) -> list[Example]:
    examples = []
    for digit in range(10):
        for path in sorted((folder / str(digit)).rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                group = path.parent.relative_to(folder / str(digit)).as_posix()
                examples.append(Example(path, digit, "" if group == "." else group))
    if not examples:
        raise LabelsError(f"{folder}: no pictures in digit folders (0/ to 9/) there.")
    return examples


def _from_csv(path: Path) -> list[Example]:
    examples, problems, column = [], [], None
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if column is None:
                    column = _columns(path, row)
                elif any(cell.strip() for cell in row):
                    example = _example(path, row, column, reader.line_num, problems)
                    if example is not None:
                        examples.append(example)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LabelsError(f"{path}: cannot be read as a CSV file ({exc}).") from None
    if column is None:
        raise LabelsError(f"{path}: the file is empty; its first line must be file,label[,group].")
    if problems:
        raise LabelsError(f"{path}: {len(problems)} bad row(s): " + "; ".join(problems) + ".")
    if not examples:
        raise LabelsError(f"{path}: no rows after the header.")
    return examples


def _columns(path: Path, header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    if "file" not in names or "label" not in names:
        raise LabelsError(f"{path}: the first line must name the columns file,label[,group]; "
                          f"found {','.join(names) or 'nothing'}.")
    return {name: names.index(name) for name in ("file", "label", "group") if name in names}


def _example(path: Path, row: list[str], column: dict[str, int], line: int,
             problems: list[str]) -> Example | None:
    cells = {name: row[i].strip() if i < len(row) else "" for name, i in column.items()}
    file = path.parent / cells["file"]
    if not cells["file"]:
        problems.append(f"line {line}: no file named")
    elif cells["label"] not in [str(d) for d in range(10)]:
        problems.append(f"line {line}: label {cells['label']!r} is not a digit 0-9")
    elif not file.is_file():
        problems.append(f"line {line}: no such file {cells['file']}")
    else:
        return Example(file, int(cells["label"]), cells.get("group", ""))
    return None


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


def format_score(score: dict) -> str:
    """:func:`score`'s result as text: overall, per group, and the confusions."""
    lines = [f"accuracy {score['accuracy']:.1%} on {score['count']} labelled images"]
    lines += [f"  {group}: {s['accuracy']:.1%} of {s['count']}" for group, s in score["groups"].items()]
    confusions = ", ".join(f"{c['true']}->{c['read']}: {c['count']}" for c in score["confusions"])
    lines.append(f"confusions (true -> read: count): {confusions or 'none'}")
    return "\n".join(lines)

