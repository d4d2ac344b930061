"""A class's own digits: saving labelled drawings, reading a folder or a CSV of them, and
scoring a model on them."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import own_digits
from helpers.errors import LabelsError, UsageError


def test_a_saved_drawing_lands_in_its_digit_folder_whole(tmp_path):
    drawing = np.zeros((280, 280, 4), np.uint8)
    drawing[100:180, 130:150] = (0, 0, 0, 255)
    path = own_digits.save_example(drawing, 7, tmp_path / "my_digits")
    assert path.parent == tmp_path / "my_digits" / "7" and path.suffix == ".png"
    assert np.array_equal(np.asarray(Image.open(path)), drawing)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    with pytest.raises(UsageError, match="digit 0-9"):
        own_digits.save_example(drawing, 12, tmp_path / "my_digits")


def test_a_folder_of_digit_folders_gives_labels_and_groups(tmp_path):
    for rel in ("3/a.png", "3/ana/b.png", "5/ben/c.jpg", "5/notes.txt", "x/d.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = {(e.file.name, e.label, e.group) for e in own_digits.read_examples(tmp_path)}
    assert found == {("a.png", 3, ""), ("b.png", 3, "ana"), ("c.jpg", 5, "ben")}
    with pytest.raises(LabelsError, match="no pictures in digit folders"):
        own_digits.read_examples(tmp_path / "x")


def test_a_csv_names_files_beside_it_and_every_bad_row(tmp_path):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"")
    table = tmp_path / "labels.csv"
    table.write_text('file,label,group\na.png,4,"two\nlines"\n\nb.png,4.0\nc.png,5\n')
    with pytest.raises(LabelsError, match=r"2 bad row\(s\): line 5: label '4.0' is not a digit "
                                          r"0-9; line 6: no such file c.png"):
        own_digits.read_examples(table)   # line numbers count the quoted field's two lines
    table.write_text("name,digit\na.png,4\n")
    with pytest.raises(LabelsError, match="must name the columns file,label"):
        own_digits.read_examples(table)
    table.write_text("")
    with pytest.raises(LabelsError, match="the file is empty"):
        own_digits.read_examples(table)
    table.write_text('file,label\n"' + "x" * 200_000 + '",1\n')
    with pytest.raises(LabelsError, match="cannot be read as a CSV file"):
        own_digits.read_examples(table)
    table.write_text("File,Label\na.png,4\n")
    [example] = own_digits.read_examples(table)
    assert example == own_digits.Example(tmp_path / "a.png", 4, "")


def test_two_saves_in_one_second_keep_both(tmp_path):
    drawing = np.zeros((28, 28), np.uint8)
    first = own_digits.save_example(drawing, 3, tmp_path)
    second = own_digits.save_example(drawing, 3, tmp_path)
    assert first != second and first.is_file() and second.is_file()


def test_score_overall_per_group_and_confusions_most_first():
    labels = [1, 1, 7, 7, 7, 4]
    read = [1, 7, 1, 1, 7, 9]
    groups = ["ana", "ana", "ben", "ben", "ben", "ana"]
    score = own_digits.score(labels, read, groups)
    assert score["count"] == 6 and score["accuracy"] == pytest.approx(2 / 6)
    assert score["groups"] == {"ana": {"count": 3, "accuracy": pytest.approx(1 / 3)},
                               "ben": {"count": 3, "accuracy": pytest.approx(1 / 3)}}
    assert score["confusions"][0] == {"true": 7, "read": 1, "count": 2}
    assert {(c["true"], c["read"]) for c in score["confusions"]} == {(7, 1), (1, 7), (4, 9)}
    text = own_digits.format_score(score)
    assert text.splitlines()[0] == "accuracy 33.3% on 6 labelled images"
    assert "  ana: 33.3% of 3" in text and "7->1: 2" in text
