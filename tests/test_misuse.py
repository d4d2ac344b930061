"""The command line used carelessly, unluckily and with hostile files: nothing a user made
is overwritten unasked, nothing listens beyond the machine, a hostile file costs little, and
every bad input is one line with an exit code of 1 or 2 while the other results survive.
Each test is one probe, numbered as the list of failures it came from."""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from PIL import Image

from helpers import files, idx, mnist
from helpers.commands import cli
from helpers.errors import CourseError, DatasetError, UsageError
from helpers.model_card import ModelCard, card_path

COMMAND = [sys.executable, "-m", "helpers.commands.cli"]


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1 and "Traceback" not in text


def notebooks(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), folder / name)
    return folder


def card_for(model: Path, images: int, accuracy: float = 0.9823) -> ModelCard:
    """A model card for whatever bytes ``model`` holds, trained on ``images`` images."""
    card = ModelCard(name=model.stem, what="a test model", made_by="cnn-course train",
                     settings={}, data={"images": images, "sha256": "0" * 16}, history={},
                     epoch_seconds=[1.0], training_seconds=1.0, reference_epochs=0.1,
                     measured={"test_accuracy": accuracy}, sha256=files.file_sha256(model))
    card.write(card_path(model))
    return card


# 1. `run --out notebooks/` wrote executed copies over the source notebooks.
def test_run_refuses_to_write_over_the_notebooks_it_runs(tmp_path, capsys):
    source = notebooks(tmp_path / "notebooks", "01_a.ipynb")
    before = (source / "01_a.ipynb").read_bytes()
    assert cli.main(["run", "--fast", "--out", str(source), "--notebooks", str(source)]) == 2
    err = capsys.readouterr().err
    assert "01_a.ipynb" in err and "--force" in err and one_line(err)
    assert (source / "01_a.ipynb").read_bytes() == before
    assert sorted(p.name for p in source.iterdir()) == ["01_a.ipynb"]  # nothing added


# 2. The multi-worker servers listened on every interface.
LISTENER = """
import json, os, socket, sys, time
config = json.loads(os.environ["TF_CONFIG"])
me, addresses = config["task"]["index"], config["cluster"]["worker"]
server = socket.socket()
server.bind(("0.0.0.0", int(addresses[me].split(":")[1])))   # as TensorFlow's servers do
server.listen()
host, port = addresses[1 - me].split(":")
for _ in range(50):   # the other worker, over the loopback of the workers' network
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("could not reach the other worker")
open(os.path.join(sys.argv[sys.argv.index("--out") + 1], f"listening-{me}"), "w").close()
time.sleep(4)
"""


def listening_ports() -> set[int]:
    """The TCP ports something listens on in this machine's own network (state 0A: LISTEN)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if os.path.exists(table):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A":
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def ports_while_workers_listen(tmp_path, **options) -> tuple[set[int], set[int]]:
    """Start two stand-in workers that listen as TensorFlow's do; the workers' ports, and
    those of them this machine's own network shows as listening while they run."""
    from helpers import cluster

    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "listener.py"
    script.write_text(LISTENER)
    out = tmp_path / "out"
    result = {}
    thread = threading.Thread(target=lambda: result.update(run=cluster.run_workers(
        2, [], out, program=[sys.executable, str(script)], timeout=60, echo=False, **options)))
    thread.start()
    deadline = time.monotonic() + 30
    while len(list(out.glob("listening-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(out.glob("listening-*"))) == 2, "the workers never listened"
    seen = listening_ports()
    thread.join()
    run = result["run"]
    assert run.completed, run.logs
    ports = {int(address.rsplit(":", 1)[1]) for address in run.addresses}
    return ports, ports & seen


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="network namespaces are Linux's")
def test_workers_listen_in_a_network_nothing_outside_reaches(tmp_path, monkeypatch):
    ports, visible = ports_while_workers_listen(tmp_path)
    assert ports and not visible
    # the same stand-ins without a network of their own are seen: the check can fail
    from helpers import private_network

    def unavailable(self):
        raise private_network.NoPrivateNetwork("simulated: no namespaces here")

    monkeypatch.setattr(private_network.PrivateNetwork, "__enter__", unavailable)
    from helpers import cluster

    with pytest.raises(CourseError, match="--allow-network"):
        cluster.run_workers(2, [], tmp_path / "refused", program=[sys.executable, "-c", "0"])
    assert not (tmp_path / "refused").exists()   # refused before any worker started
    ports, visible = ports_while_workers_listen(tmp_path / "exposed", allow_network=True)
    assert visible == ports


# 3. An offline `train` replaced a 98% model with a 44% one; and 6. the card replaced a
# .json beside the model that was not a card.
def test_a_model_trained_on_fewer_images_never_replaces_one_silently(tmp_path):
    from helpers.model_card import refuse_replacing

    model = tmp_path / "mnist_cnn.keras"
    model.write_bytes(b"a full-data model")
    card_for(model, images=60_000)
    with pytest.raises(UsageError, match="60,000 images .*98.23%.*4,000") as refused:
        refuse_replacing(model, train_images=4_000)
    assert "cnn-course fetch-data" in str(refused.value) and "--force" in str(refused.value)
    refuse_replacing(model, train_images=60_000)   # as many images: replaced as asked
    refuse_replacing(model, train_images=4_000, force=True)


def test_a_model_or_json_the_course_did_not_make_is_not_replaced(tmp_path):
    from helpers.model_card import refuse_replacing

    package = tmp_path / "package.keras"
    (tmp_path / "package.json").write_text('{"name": "my-package", "version": "1.0"}')
    with pytest.raises(UsageError, match="package.json is not a model card"):
        refuse_replacing(package, train_images=60_000)
    mine = tmp_path / "mine.keras"
    mine.write_bytes(b"a learner's own model")
    with pytest.raises(UsageError, match="yours"):
        refuse_replacing(mine, train_images=60_000)
    card_for(mine, images=60_000)
    mine.write_bytes(b"changed since its card was written")
    with pytest.raises(UsageError, match="not the model its card describes"):
        refuse_replacing(mine, train_images=60_000)


@pytest.mark.slow
def test_offline_train_keeps_the_better_model(offline, tmp_path, capsys):
    model = tmp_path / "models" / "mnist_cnn.keras"
    model.parent.mkdir()
    model.write_bytes(b"a full-data model")
    card_for(model, images=60_000)
    before = {p.name: p.read_bytes() for p in model.parent.iterdir()}
    assert cli.main(["train", "--epochs", "1", "--out", str(model)]) == 2
    err = capsys.readouterr().err
    assert "60,000 images" in err and "--force" in err and one_line(err)
    assert {p.name: p.read_bytes() for p in model.parent.iterdir()} == before


# 4. Two runs into one --out both ended well, and the report listed only one of them.
def test_a_second_command_into_the_same_folder_is_refused_naming_the_first(tmp_path, capsys):
    source = notebooks(tmp_path / "notebooks", "01_a.ipynb")
    out = tmp_path / "build"
    with files.OutputFolder(out) as first:
        first.refuse_others([])
        assert cli.main(["run", "--out", str(out), "--notebooks", str(source)]) == 2
    err = capsys.readouterr().err
    assert f"process {os.getpid()}" in err and "is writing into it now" in err and one_line(err)
    with files.OutputFolder(out):   # free again once the first has finished
        pass


def test_a_run_keeps_the_results_of_earlier_runs_into_its_folder(tmp_path):
    from helpers.commands.runner import NotebookResult, earlier_results

    (tmp_path / "metrics.json").write_text(json.dumps({
        "01_data": {"status": "ok", "seconds": 3.0, "mode": "full"},
        "02_blocks": {"status": "ok", "seconds": 4.0, "mode": "full"},
        "03_train": {"status": "ok", "seconds": 5.0, "mode": "fast"}}))
    kept = earlier_results(tmp_path, "full", running=["02_blocks"])
    assert kept == {"01_data": NotebookResult(status="ok", seconds=3.0, mode="full")}


# 5. `learners-copy` (now `solutions-copy`) replaced an edited notebook.
def test_a_copy_never_replaces_an_edited_notebook(tmp_path, capsys):
    source = notebooks(tmp_path / "notebooks", "01_a.ipynb", "02_b.ipynb")
    out = tmp_path / "class"
    assert cli.main(["solutions-copy", "--notebooks", str(source), "--out", str(out)]) == 0
    assert "x = 1" in (out / "01_a.ipynb").read_text()
    assert cli.main(["solutions-copy", "--notebooks", str(source), "--out", str(out)]) == 0
    (out / "01_a.ipynb").write_text((out / "01_a.ipynb").read_text().replace("x = 1", "x = 7"))
    edited = (out / "01_a.ipynb").read_bytes()
    capsys.readouterr()
    assert cli.main(["solutions-copy", "--notebooks", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "01_a.ipynb" in err and "--force" in err and one_line(err)
    assert (out / "01_a.ipynb").read_bytes() == edited
    assert cli.main(["solutions-copy", "--notebooks", str(source), "--out", str(out),
                     "--force"]) == 0
    assert (out / "01_a.ipynb").read_bytes() != edited


# 7. A SIGTERM between the model and its card left the new model beside the old card.
SAVE_INTERRUPTED = """
import os, signal, sys
import keras
from helpers import files, model_card
from helpers.model_card import ModelCard, TrainingRun

def model(units):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units)])

def card(what):
    return ModelCard(name="m", what=what, made_by="test", settings={}, data={"images": 1,
                     "sha256": ""}, history={}, epoch_seconds=[], training_seconds=0,
                     reference_epochs=0)

path = sys.argv[1]
card("old").save_with(model(2), path)
moved = []
replace = os.replace
def replace_then_terminated(source, target):
    replace(source, target)
    moved.append(target)
    if len(moved) == 1:
        os.kill(os.getpid(), signal.SIGTERM)   # as if stopped between the two files
files.os.replace = replace_then_terminated
card("new").save_with(model(3), path)
"""


@pytest.mark.slow
def test_model_and_card_are_both_old_or_both_new_after_a_sigterm(tmp_path):
    path = tmp_path / "m.keras"
    script = tmp_path / "save.py"
    script.write_text(SAVE_INTERRUPTED)
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -signal.SIGTERM, done.stderr[-2000:]
    card = ModelCard.read(path)       # the card describes the model beside it
    assert card.what == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras", "save.py"]


# 8. `catch-up` installed random bytes as a model, and wrote files before failing on a card
# missing fields.
@pytest.mark.slow
def test_catch_up_installs_only_a_model_keras_opens(tmp_path, capsys):
    from helpers import checkpoints

    checkpoint = checkpoints.model_file(checkpoints.full_name(checkpoints.CATCH_UP, False))
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(os.urandom(4096))
    card_for(checkpoint, images=60_000)   # its sha256 matches the random bytes
    out = tmp_path / "models" / "mnist_cnn.keras"
    assert cli.main(["catch-up", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "not a Keras model file" in err and one_line(err)
    fields = json.loads(card_path(checkpoint).read_text())
    del fields["data"]["images"]
    card_path(checkpoint).write_text(json.dumps(fields))
    assert cli.main(["catch-up", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "not a whole model card" in err and one_line(err)
    assert not out.parent.exists() or not any(out.parent.iterdir())


# 9. `fetch-data` said all was well while the loader still read a damaged file first.
def test_fetch_data_names_a_damaged_file_the_course_would_read_first(tmp_path):
    from helpers.commands.fetch import UnusableStrayFiles, check_what_is_read

    dest = tmp_path / "data"
    (dest / "mnist").mkdir(parents=True)
    (dest / "mnist" / "mnist.npz").write_bytes(b"verified, say")
    (dest / "mnist.npz").write_bytes(b"damaged")
    with pytest.raises(UnusableStrayFiles, match=r"reads mnist.npz in .* first.*Move it"):
        check_what_is_read(dest, dest / "mnist")
    assert (dest / "mnist.npz").read_bytes() == b"damaged"   # named, not removed
    (dest / "mnist.npz").unlink()
    check_what_is_read(dest, dest / "mnist")  # nothing in the way: nothing to say


# 10. A 9 MB gzip file inflating to 2 GiB used 4.25 GB of memory before it was refused.
def test_a_gzip_bomb_is_refused_at_the_files_known_size(tmp_path):
    size = 1_000_000
    bomb = tmp_path / "train-labels-idx1-ubyte.gz"
    with gzip.open(bomb, "wb") as f:
        for _ in range(50):
            f.write(bytes(size))        # 50 MB of zeros: a few tens of kilobytes compressed
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="decompresses to more than"):
            idx.read_bytes(bomb, size=size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * size


def test_an_archive_with_oversized_members_is_refused_unread(tmp_path):
    archive = tmp_path / mnist.NPZ_NAME
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x_train.npy", bytes(60_000_000))
    with pytest.raises(DatasetError, match="larger or more numerous than MNIST"):
        mnist.load_npz(archive)


# 11. `run` wrote the kernel's history into ~/.ipython, and its probe into the checkout.
@pytest.mark.slow
def test_run_writes_nothing_in_home_or_the_checkout(tmp_path, monkeypatch):
    from helpers import speed
    from helpers.commands.runner import run_course

    monkeypatch.setattr(speed, "CACHE_PATH", tmp_path / "checkout" / "build" / "speed.json")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("IPYTHONDIR", raising=False)
    monkeypatch.delenv(speed.SPEED_ENV, raising=False)
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("FAST = False", metadata={
        "tags": ["parameters"]}), new_code_cell("print(1 + 1)")], metadata={
        "kernelspec": {"name": "cnn-course", "display_name": "cnn-course",
                       "language": "python"}}), source / "01_a.ipynb")
    results = run_course(out_dir=tmp_path / "out", notebook_dir=source, targets=False)
    assert results["01_a"].status == "ok"
    assert not (home / ".ipython").exists()
    assert not speed.CACHE_PATH.exists()


# 12. Tracebacks.
def test_an_image_pillow_cannot_make_grey_is_one_line_and_the_others_survive(tmp_path):
    from helpers import pictures
    from helpers.errors import ImageError

    lab = tmp_path / "lab.tif"
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).convert("LAB").save(lab)
    with pytest.raises(ImageError, match="LAB mode"):
        pictures.load_grey(lab, "lab.tif")


@pytest.mark.slow
def test_predict_reports_a_bad_image_and_keeps_the_rest(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(tmp_path / "m.keras")
    good = tmp_path / "good.png"
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(good)
    lab = tmp_path / "lab.tif"
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).convert("LAB").save(lab)
    done = subprocess.run([*COMMAND, "predict", "--json", "--model", str(tmp_path / "m.keras"),
                           str(good), str(lab), "/dev/null"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert "digit" in results[0]
    assert "LAB mode" in results[1]["error"]
    assert "not a regular file" in results[2]["error"]


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "99999999999999999999"], "must be from 1 to 1,000"),
    (["bench", "--train-size", "5"], "must be at least 100, got 5"),
    (["sample-digits", "--seed", "-1"], "must be at least 0, got -1"),
])
def test_absurd_numbers_are_refused_before_any_work(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_a_notebook_that_is_not_json_stops_the_copy_before_it_writes(tmp_path, capsys):
    source = notebooks(tmp_path / "notebooks", "01_a.ipynb")
    (source / "02_b.ipynb").write_text("{ this is not JSON")
    out = tmp_path / "class"
    assert cli.main(["solutions-copy", "--notebooks", str(source), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "02_b.ipynb" in err and one_line(err)
    assert not out.exists() or not any(out.iterdir())


def test_a_damaged_kernel_registration_is_written_again(monkeypatch, tmp_path):
    from helpers.commands import kernel

    folder = tmp_path / "env" / "share" / "jupyter" / "kernels" / kernel.KERNEL_NAME
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text("{ not json")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "env" / "share" / "jupyter"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))   # where it registers
    with pytest.raises(CourseError, match="kernel.json is damaged"):
        kernel.registered_argv()
    assert kernel.ensure_kernel() == kernel.KERNEL_NAME
    assert kernel.is_the_courses(kernel.registered_argv())


@pytest.mark.slow
@pytest.mark.parametrize("output", ["closed pipe", "full device"])
def test_an_output_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path, output):
    source = notebooks(tmp_path / "notebooks", "01_a.ipynb")
    argv = [*COMMAND, "solutions-copy", "--notebooks", str(source), "--out", str(tmp_path / "o")]
    if output == "full device":
        with open("/dev/full", "w") as full:
            done = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True,
                                  timeout=60)
        assert "no space left" in done.stderr and one_line(done.stderr)
    else:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        process.stdout.close()   # the reader has gone, as `| head` does
        done = subprocess.CompletedProcess(argv, process.wait(timeout=60),
                                           stderr=process.stderr.read())
        process.stderr.close()
        assert done.stderr == ""
    assert done.returncode == 1


# 13. Unclear or false messages.
def test_the_runtime_targets_are_not_judged_when_a_notebook_failed():
    from helpers.commands.run_report import format_targets
    from helpers.commands.runner import NotebookResult

    results = {"01_a": NotebookResult("ok", 2.0, reference_epochs=0.2),
               "02_b": NotebookResult("failed", 1.0, reference_epochs=0.1, error="boom")}
    text = format_targets(results, "full")
    assert "not judged" in text and "02_b" in text and " met" not in text


@pytest.mark.parametrize("path, message", [("/dev/null", "not a regular file"),
                                           ("fifo", "not a regular file"),
                                           ("missing.png", "no such file")])
def test_a_device_or_a_pipe_is_not_called_missing(tmp_path, path, message):
    from helpers import pictures
    from helpers.errors import ImageError

    if path == "fifo":
        os.mkfifo(tmp_path / "fifo")
    target = path if path.startswith("/") else str(tmp_path / path)
    with pytest.raises(ImageError, match=message):
        pictures.load_grey(target, target)


def test_a_slow_down_is_called_one():
    from helpers.commands.bench_reading import times

    assert times(0.34) == "2.9x slower" and times(3.1) == "3.1x faster"
    assert times(0.5, "less memory", "more memory") == "2.0x more memory"
