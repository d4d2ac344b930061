"""`cnn-course` refuses bad arguments at once, in one line, with one rule for exit codes."""
from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import files
from helpers.commands import cli


def refused(argv, capsys) -> str:
    """Run the CLI, expect a usage refusal (exit 2) in one line, and return that line."""
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "Data:" not in captured.out and "epoch" not in captured.out  # no work was started
    return captured.err


def test_train_into_a_folder_is_refused_before_training(tmp_path, capsys):
    err = refused(["train", "--out", str(tmp_path)], capsys)
    assert "is a folder; give a file name ending in .keras" in err


@pytest.mark.parametrize("name", ["m.h5", "model"])
def test_train_refuses_a_model_name_that_is_not_keras(tmp_path, capsys, name):
    err = refused(["train", "--out", str(tmp_path / name)], capsys)
    assert "must end in .keras" in err
    assert list(tmp_path.iterdir()) == []


def test_train_refuses_when_the_model_card_would_land_on_a_folder(tmp_path, capsys):
    (tmp_path / "m.json").mkdir()
    assert "model card" in refused(["train", "--out", str(tmp_path / "m.keras")], capsys)


def test_train_into_a_folder_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "models").write_text("not a folder")
    err = refused(["train", "--out", str(tmp_path / "models" / "m.keras")], capsys)
    assert "is not a folder" in err


def test_bench_json_at_a_folder_is_refused_before_the_benchmark(tmp_path, capsys):
    assert "is a folder" in refused(["bench", "--out", str(tmp_path)], capsys)


def test_run_out_at_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "build"
    target.write_text("a file")
    assert "is a file, not a folder" in refused(["run", "--out", str(target)], capsys)


def test_fetch_data_dest_at_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "data"
    target.write_text("a file")
    assert "is a file, not a folder" in refused(["fetch-data", "--out", str(target)], capsys)


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "abc"], "expected a whole number, got 'abc'"),
    (["train", "--epochs", "0"], "must be from 1 to 1,000, got 0"),
])
def test_a_bad_number_says_what_is_expected(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "parse" not in err


def test_fetch_data_from_a_bad_folder_gives_no_internet_advice(tiny_mnist_dir, tmp_path, capsys):
    assert cli.main(["fetch-data", "--out", str(tmp_path / "d"), "--from",
                     str(tiny_mnist_dir)]) == 1
    err = capsys.readouterr().err
    assert "checksum mismatch" in err and "internet" not in err and err.count("\n") == 1


@pytest.mark.slow
def test_fetch_data_from_a_bad_folder_over_a_good_copy_says_it_was_ignored(
        shared_mnist, tiny_mnist_dir, tmp_path, capsys):
    dest = tmp_path / "classroom"
    assert cli.main(["fetch-data", "--out", str(dest), "--from", str(shared_mnist)]) == 0
    capsys.readouterr()
    assert cli.main(["fetch-data", "--out", str(dest), "--from", str(tiny_mnist_dir)]) == 0
    out = capsys.readouterr().out
    assert f"nothing copied from {tiny_mnist_dir}; it is not usable" in out


def test_the_help_states_the_exit_codes_and_lists_the_recipes():
    shown = subprocess.run([sys.executable, "-m", "helpers.commands.cli", "train", "--help"],
                           capture_output=True, text=True, check=True).stdout
    assert "{seed,fast,best}" in shown
    top = subprocess.run([sys.executable, "-m", "helpers.commands.cli", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"  {code}" in top


@pytest.mark.slow
def test_sample_digits_writes_images_and_a_labels_csv_predict_reads(tmp_path, capsys):
    from helpers import own_digits, samples

    out = tmp_path / "digits"
    assert cli.main(["sample-digits", "--out", str(out), "--per-kind", "2", "--seed", "3"]) == 0
    assert f"--labels {out / 'labels.csv'}" in capsys.readouterr().out
    examples = own_digits.read_examples(out / "labels.csv")
    assert len(examples) == 2 * len(samples.KINDS)
    assert {e.group for e in examples} == set(samples.KINDS)
    assert all(e.file.is_file() and f"_{e.label}." in e.file.name for e in examples)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["labels.csv", files.WRITTEN_LIST] + [e.file.name for e in examples])


def test_sample_digits_into_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert "--out" in refused(["sample-digits", "--out", str(tmp_path / "f")], capsys)


def test_sample_digits_asks_for_no_more_than_the_test_digits(tmp_path, capsys):
    assert cli.main(["sample-digits", "--out", str(tmp_path / "d"), "--per-kind", "999999"]) == 2
    assert "there are only" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_bench_reading_refuses_a_picture_the_course_would_refuse(tmp_path, capsys):
    assert "give at most 6,324" in refused(["bench-reading", "--side", "7000", "--out",
                                            str(tmp_path / "r.json")], capsys)
