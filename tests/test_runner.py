"""The course runner and the `cnn-course` command line, on tiny notebooks made here."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import files_under
from helpers.commands import cli
from helpers.commands.runner import discover, run_course


def make_notebook(path, *sources, parameters="FAST = False"):
    """Write a notebook: a title, a tagged parameters cell, then the given code cells."""
    cells = [new_markdown_cell(f"# {path.stem}"),
             new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(src) for src in sources]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "cnn-course",
                                                            "display_name": "cnn-course",
                                                            "language": "python"}})
    nbformat.write(nb, path)
    return path


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    make_notebook(folder / "01_records.ipynb",
                  "from helpers import report\n"
                  "report.record('answer', 42 if FAST else 0)\n"
                  "report.record_data_source('sample')\n"
                  "print('hello from 01')")
    make_notebook(folder / "02_fails.ipynb", "x = 1", "raise ValueError('boom in 02')", "y = 2")
    make_notebook(folder / "03_after.ipynb", "import glob\nfrom helpers import report\n"
                                             "report.record('ran', 1)\n"
                                             "report.record('sockets_here', len(glob.glob('kernel*')))")
    (folder / "scratch.ipynb").write_text("not numbered, not run")
    return folder


def test_discover_orders_numbered_notebooks_and_filters(course):
    assert [p.name for p in discover(course)] == ["01_records.ipynb", "02_fails.ipynb",
                                                  "03_after.ipynb"]
    assert [p.name for p in discover(course, ["3", "01"])] == ["01_records.ipynb",
                                                               "03_after.ipynb"]


@pytest.mark.slow
def test_run_records_metrics_reports_failures_and_goes_on(course, tmp_path):
    out = tmp_path / "build"
    results = run_course(out_dir=out, fast=True, notebook_dir=course)

    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"01_records", "02_fails", "03_after"}
    first = metrics["01_records"]
    assert first["status"] == "ok" and first["data_source"] == "sample"
    assert first["metrics"] == {"answer": 42.0}  # FAST=True was injected
    assert isinstance(first["seconds"], float)

    failed = metrics["02_fails"]
    assert failed["status"] == "failed"
    assert "ValueError: boom in 02" in failed["error"] and "cell In [" in failed["error"]
    assert metrics["03_after"]["status"] == "ok"  # the run went on after the failure
    assert results["03_after"].metrics == {"ran": 1.0, "sockets_here": 0.0}  # kept elsewhere

    for stem in metrics:
        assert (out / f"{stem}.ipynb").is_file() and (out / f"{stem}.html").is_file()
    assert "hello from 01" in (out / "01_records.html").read_text()
    report_md = (out / "report.md").read_text()
    assert "| 02_fails | failed |" in report_md and "boom in 02" in report_md
    assert "answer = 42" in report_md
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
        ".cnn-course-written.json"]  # no scratch: only the list of what the course wrote
    assert sorted(p.name for p in course.iterdir()) == [
        "01_records.ipynb", "02_fails.ipynb", "03_after.ipynb", "scratch.ipynb"]


@pytest.mark.slow
def test_full_mode_injects_nothing_and_times_in_the_whole_epochs_around_the_run(
        course, tmp_path, monkeypatch):
    from helpers import speed

    from helpers.commands import runner

    timed = iter([10.0, 20.0])   # a whole reference epoch before the notebooks, one after
    monkeypatch.setattr(speed, "measure_reference_epoch", lambda: next(timed))
    reports = []                 # report.md as written after each notebook and at the end
    write_outputs = runner._write_outputs
    monkeypatch.setattr(runner, "_write_outputs", lambda out, *a: (
        write_outputs(out, *a), reports.append((out.path / "report.md").read_text())))
    results = run_course(out_dir=tmp_path / "b", only=["1"], notebook_dir=course)
    result = results["01_records"]
    assert result.metrics == {"answer": 0.0}
    assert "took 10.0 s on this machine, timed whole before the first notebook" in reports[0]
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())["01_records"]
    assert metrics["whole_epochs"] == [10.0, 20.0] and metrics["reference_epoch_seconds"] == 15.0
    assert metrics["reference_epochs"] == round(result.seconds / 15.0, 2)
    assert "took 15.0 s on this machine: the mean of 10.0 s and 20.0 s" in (
        tmp_path / "b" / "report.md").read_text()


@pytest.mark.slow
def test_cli_run_exits_non_zero_when_a_notebook_fails(course, tmp_path, capsys):
    code = cli.main(["run", "--fast", "--only", "02", "03", "--out", str(tmp_path / "b"),
                     "--notebooks", str(course)])
    assert code == 1
    captured = capsys.readouterr()
    assert "02_fails" in captured.err and "[2/2] 03_after: ok" in captured.out


def test_cli_run_unknown_notebook_is_a_clear_error(course, capsys):
    assert cli.main(["run", "--only", "42", "--notebooks", str(course)]) == 2
    assert "no notebook numbered 42" in capsys.readouterr().err


def test_cli_run_on_a_folder_without_notebooks_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["run", "--notebooks", str(tmp_path)]) == 2
    assert "no numbered notebooks" in capsys.readouterr().err


def test_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--bogus"])
    assert info.value.code == 2


def test_cli_fetch_data_offline_fails_fast_and_clearly(offline, tmp_path, capsys):
    dest = tmp_path / "classroom"
    assert cli.main(["fetch-data", "--out", str(dest)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "offline" in err and "--from DIR" in err
    assert files_under(dest) == [] and not (dest / "mnist").exists()  # nothing half-made


@pytest.mark.slow
def test_cli_fetch_data_from_folder_prints_export_line(shared_mnist, tmp_path, capsys):
    dest = tmp_path / "classroom"
    assert cli.main(["fetch-data", "--out", str(dest), "--from", str(shared_mnist)]) == 0
    assert f"export CNN_COURSE_DATA={dest}" in capsys.readouterr().out


@pytest.mark.slow
def test_times_in_reference_epochs_and_long_cells_that_do_not_announce(tmp_path, monkeypatch):
    from helpers import speed
    from helpers.commands.run_report import format_targets
    from helpers.commands.runner import run_notebook

    path = make_notebook(tmp_path / "04_slow.ipynb", "import time\ntime.sleep(0.6)",
                         "from helpers import speed\nspeed.announce_long('Sleeping', 12)\n"
                         "import time\ntime.sleep(0.6)", "x = 1")
    monkeypatch.setenv(speed.SPEED_ENV, "0.1")  # 3 reference epochs: 0.3 s
    result = run_notebook(path, tmp_path / "out", fast=True)
    assert result.status == "ok"
    assert len(result.long_cells) == 2 and result.longest_cell == result.long_cells[0]
    assert sorted(c["announced"] for c in result.long_cells) == [False, True]
    assert all(c["reference_epochs"] > 3 for c in result.long_cells)
    silent = [c for c in result.long_cells if not c["announced"]][0]
    targets = format_targets({"04_slow": result}, "full")
    assert f"04_slow In [{silent['cell']}]" in targets and "NOT met" in targets
    assert "longest: 04_slow" in targets


def test_reference_epochs_from_known_times(tmp_path):
    from helpers.commands.runner import NotebookResult, in_reference_epochs

    executed = tmp_path / "07_done.ipynb"
    cells = [new_code_cell(f"cell {n}", execution_count=n,
                           metadata={"papermill": {"duration": seconds}})
             for n, seconds in ((1, 0.5), (2, 9.0), (3, 4.5))]
    cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                               text="⏱ Training: about 6 reference epochs\n")]
    nbformat.write(new_notebook(cells=cells), executed)
    result = in_reference_epochs(NotebookResult("ok", seconds=15.0), executed, reference=1.5)
    assert result.reference_epochs == 10.0 and result.reference_epoch_seconds == 1.5
    assert result.longest_cell == {"cell": 2, "seconds": 9.0, "reference_epochs": 6.0,
                                   "announced": True}
    assert [c["cell"] for c in result.long_cells] == [2]   # 4.5 s is exactly 3: not over it


@pytest.mark.slow
def test_the_runner_reads_what_a_notebook_measured_from_its_variables(tmp_path, monkeypatch):
    from helpers.commands import measurements
    from helpers.commands.runner import run_notebook

    path = make_notebook(tmp_path / "05_measures.ipynb",
                         "rows = [{'a': 1.5}, {'a': 2}]\nbest = 0.9")
    monkeypatch.setitem(measurements.MEASURED, "05_measures", {
        "best": "best", "row_": "{str(i): r['a'] for i, r in enumerate(rows)}",
        "gpu": "globals().get('throughput')"})
    result = run_notebook(path, tmp_path / "out")
    assert result.status == "ok" and result.metrics == {"best": 0.9, "row_0": 1.5, "row_1": 2.0}
    executed = nbformat.read(tmp_path / "out" / path.name, 4)
    assert executed.cells[-1].metadata["tags"] == ["measurements"]
    monkeypatch.setitem(measurements.MEASURED, "05_measures", {"worst": "worst"})
    failed = run_notebook(path, tmp_path / "again")
    assert failed.status == "failed" and "cannot read the measurement 'worst'" in failed.error


def test_record_measured_names_what_it_cannot_read():
    from helpers import report

    report.record_measured({"x_": "{'a': 1, 'b': None}", "y": "None"}, {})
    assert report.recorded()["metrics"]["x_a"] == 1.0 and "x_b" not in report.recorded()["metrics"]
    with pytest.raises(RuntimeError, match="cannot read the measurement 'z'.*NameError"):
        report.record_measured({"z": "missing_variable"}, {})


def test_an_earlier_runs_results_load_with_keys_this_version_no_longer_writes(tmp_path):
    from helpers.commands.runner import earlier_results

    (tmp_path / "metrics.json").write_text(json.dumps({"01_a": {
        "status": "ok", "seconds": 3.0, "mode": "full", "probes": [1.0, 2.0]}}))
    assert earlier_results(tmp_path, "full", ["02_b"])["01_a"].seconds == 3.0
