"""Training on several devices and in several worker processes: the CPU split into devices,
the hand-written loop (it learns what `fit` learns, and resumes where it stopped), workers
on 127.0.0.1 that end with identical weights and resume after one of them is killed, and
the upstream failure of `fit` under MultiWorkerMirroredStrategy that the loop works around.

Nothing here talks to any address but 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import architectures, cluster, distributed, mnist, training
from helpers.downloads import OFFLINE_ENV
from helpers.errors import CourseError
from helpers.paths import DATA_ENV
from helpers.speed import SPEED_ENV

from conftest import files_under

# The workers' training: a few steps of the article's recipe on the offline sample.
WORKER_ARGS = ["--recipe", "seed", "--epochs", "2", "--batch-size", "64", "--train-size", "512"]
# Where there is a GPU, the strategies train on it: the device names below are the CPU's.
CPU_ONLY = pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")),
                              reason="names the CPU's devices; this machine has a GPU")


@pytest.fixture
def sample_only(monkeypatch):
    """Workers (which inherit the environment) load the offline sample and download nothing."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(OFFLINE_ENV, "1")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
@CPU_ONLY
def test_the_cpu_splits_into_devices_before_tensorflow_starts_them():
    done = run_python("""
        from helpers import distributed
        print(distributed.split_cpu(2))
        print(distributed.split_cpu(2))          # asking again for the same split is fine
        print(distributed.replica_devices())
    """)
    assert done.returncode == 0, done.stderr
    first, again, replicas = done.stdout.strip().splitlines()[-3:]
    assert first == again == "['/device:CPU:0', '/device:CPU:1']"
    assert replicas == first


@pytest.mark.slow
def test_splitting_after_tensorflow_started_its_devices_says_what_to_do():
    done = run_python("""
        from helpers import distributed
        from helpers.errors import CourseError
        import tensorflow as tf
        tf.constant(1.0) + 1                      # TensorFlow starts its devices here
        try:
            distributed.split_cpu(2)
        except CourseError as exc:
            print("refused:", exc)
    """)
    assert done.returncode == 0, done.stderr
    assert "refused: TensorFlow has started its devices already" in done.stdout
    assert "restart the kernel" in done.stdout and "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def images():
    (x, y), _ = mnist.load_mnist(source="sample")
    return mnist.subset(mnist.to_model_input(x), y, 512)


def _loop_model(strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        return architectures.article_cnn(), keras.optimizers.SGD(0.05)


@pytest.mark.slow
def test_the_loop_learns_what_fit_learns_on_the_same_batches(images):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model, optimizer = _loop_model(strategy)
    result = distributed.train_loop(strategy, model, optimizer, images, 64, 1, verbose=False)
    keras.utils.set_random_seed(0)
    same = architectures.article_cnn()
    same.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    batches = distributed.epoch_dataset(tf.data.Dataset.from_tensor_slices(images), 64, seed=0)
    history = same.fit(batches, epochs=1, shuffle=False, verbose=0)
    # the loss averaged over the global batch gives fit's gradients, up to float rounding
    assert cluster.largest_difference(model.get_weights(), same.get_weights()) < 1e-5
    assert result.losses[0] == pytest.approx(history.history["loss"][0], rel=1e-4)


@pytest.mark.slow
def test_the_loop_resumes_after_its_last_epoch_and_loses_nothing(images, tmp_path):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model, optimizer = _loop_model(strategy)
    never_stopped = distributed.train_loop(strategy, model, optimizer, images, 64, 2, verbose=False)
    stopped_model, stopped_optimizer = _loop_model(strategy)
    distributed.train_loop(strategy, stopped_model, stopped_optimizer, images, 64, 1,
                           backup_dir=tmp_path, verbose=False)   # as if it stopped after epoch 1
    again, again_optimizer = _loop_model(strategy)
    resumed = distributed.train_loop(strategy, again, again_optimizer, images, 64, 2,
                                     backup_dir=tmp_path, verbose=False)
    assert resumed.resumed_from == 1 and len(resumed.losses) == 1
    assert resumed.losses[0] == never_stopped.losses[1]
    assert cluster.largest_difference(model.get_weights(), again.get_weights()) == 0.0


def test_workers_get_their_own_tf_config_on_loopback_and_not_the_notebooks_metrics(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNN_COURSE_METRICS", str(tmp_path / "notebook-metrics.json"))
    program = [sys.executable, "-c", "import json, os; print(json.dumps("
               "{'tf_config': json.loads(os.environ['TF_CONFIG']), "
               "'metrics': os.environ.get('CNN_COURSE_METRICS')}))"]
    run = cluster.run_workers(2, [], tmp_path / "out", program=program, timeout=60)
    assert run.completed and all(a.startswith("127.0.0.1:") for a in run.addresses)
    for index, log in enumerate(run.logs):
        seen = json.loads(log)
        assert seen["metrics"] is None
        assert seen["tf_config"] == {"cluster": {"worker": run.addresses},
                                     "task": {"type": "worker", "index": index}}
    shown = capsys.readouterr().out
    assert "worker 0 | {" in shown and "worker 1 | {" in shown


@pytest.mark.slow
def test_a_worker_that_cannot_start_stops_in_one_line_and_takes_no_other_down_with_it(
        tmp_path, sample_only):
    run = cluster.run_workers(2, ["--recipe", "nonsense"], tmp_path, timeout=120, echo=False)
    assert not run.completed and run.returncodes == [1, 1]
    for log in run.logs:
        assert "stopped: UsageError: unknown recipe 'nonsense'" in log and "Traceback" not in log


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_ends_when_the_process_that_started_it_is_killed(tmp_path):
    launcher = textwrap.dedent("""
        import subprocess, sys, time
        worker = subprocess.Popen([sys.executable, "-c",
            "import os, time; from helpers.worker import _end_with_launcher; "
            "_end_with_launcher(os.getppid()); print('ready', flush=True); time.sleep(120)"],
            stdout=subprocess.PIPE, text=True)
        assert worker.stdout.readline() == "ready\\n"
        print(worker.pid, flush=True)
        time.sleep(120)
    """)
    started = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True)
    worker_pid = int(started.stdout.readline())
    started.kill()   # as a kernel that dies or a Ctrl-C that never reaches the clean-up
    started.wait()
    for _ in range(100):
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker_pid, 9)
    pytest.fail("the worker outlived the process that started it")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Two workers that train without interruption (the offline sample, a few steps)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(DATA_ENV, raising=False)
        patch.setenv(OFFLINE_ENV, "1")
        run = cluster.run_workers(2, WORKER_ARGS, tmp_path_factory.mktemp("uninterrupted"),
                                  timeout=300, echo=False)
    assert run.completed, run.logs
    return run


@pytest.mark.slow
def test_two_workers_on_loopback_end_with_identical_weights(uninterrupted):
    first, second = (cluster.weights(path) for path in uninterrupted.weight_files)
    assert cluster.largest_difference(first, second) == 0.0
    assert all(a.startswith("127.0.0.1:") for a in uninterrupted.addresses)
    result = uninterrupted.results[0]
    assert result["strategy"]["strategy"] == "MultiWorkerMirroredStrategy"
    assert result["strategy"]["replicas"] == 2 and result["global_batch"] == 64
    losses = result["networks"][0]["losses"]
    assert len(losses) == 2 and losses[1] < losses[0]   # it learns


@pytest.mark.slow
def test_a_training_whose_worker_is_killed_resumes_and_loses_nothing(
        uninterrupted, tmp_path, sample_only):
    args = WORKER_ARGS + ["--backup", str(tmp_path / "checkpoints")]
    crashed = cluster.run_workers(2, args, tmp_path / "crashed", crash=(1, 1), timeout=300,
                                  echo=False)
    assert crashed.crashed == 1 and crashed.returncodes[1] == -9 and not crashed.completed
    resumed = cluster.run_workers(2, args, tmp_path / "resumed", timeout=300, echo=False)
    assert resumed.completed, resumed.logs
    assert resumed.results[0]["networks"][0]["resumed_from"] == 1
    assert "resuming after epoch 1" in resumed.logs[0]
    for path in resumed.weight_files:  # exactly the weights of the training never interrupted
        assert cluster.largest_difference(cluster.weights(path),
                                          cluster.weights(uninterrupted.weight_files[0])) == 0.0


FIT_UNDER_MULTIWORKER = """
import sys
from helpers.startup import start_tensorflow
tf = start_tensorflow()
import keras
from helpers import architectures
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = architectures.article_cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
images = tf.random.uniform((128, 28, 28, 1))
labels = tf.random.uniform((128,), maxval=10, dtype=tf.int64)
try:
    model.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(64), epochs=1, verbose=0)
    print("fit trained")
except ValueError as exc:
    print("fit failed:", str(exc).splitlines()[0])
"""


@pytest.mark.slow
def test_keras_fit_still_fails_under_multiworker_mirrored_strategy(tmp_path):
    """Why the workers run a loop of their own. When this fails, Keras' fit trains under
    MultiWorkerMirroredStrategy: notebook 09 and helpers.distributed can then use it."""
    script = tmp_path / "fit_worker.py"
    script.write_text(FIT_UNDER_MULTIWORKER)
    run = cluster.run_workers(2, [], tmp_path / "out", program=[sys.executable, str(script)],
                              timeout=300, echo=False)
    for log in run.logs:
        assert "fit failed: Attempt to convert a value (PerReplica:" in log, log[-2000:]


def test_combining_workers_keeps_the_shared_weights_and_averages_their_own_statistics():
    kernel, mean_a, mean_b = np.ones((2, 2)), np.zeros(3), np.full(3, 2.0)
    combined = cluster.combine([[kernel, mean_a], [kernel.copy(), mean_b]], [True, False])
    assert np.array_equal(combined[0], kernel) and np.array_equal(combined[1], np.ones(3))
    with pytest.raises(CourseError, match="worker 1 ended with other trained weights"):
        cluster.combine([[kernel, mean_a], [kernel + 1e-7, mean_a]], [True, False])


# --------------------------------------------------------------------------- the command line


def train_command(tmp_path, *argv) -> tuple[subprocess.CompletedProcess, dict | None]:
    """`cnn-course train` in its own process (the CPU can only be split before TensorFlow
    starts), on the offline sample; returns the process and the model card, if written."""
    # the reference epoch given, as the runner gives it: no probe kept in the course's build/
    env = {k: v for k, v in os.environ.items() if k != DATA_ENV} | {OFFLINE_ENV: "1",
                                                                     SPEED_ENV: "15"}
    out = tmp_path / "model.keras"
    done = subprocess.run([sys.executable, "-m", "helpers.commands.cli", "train", "--recipe", "fast",
                           "--epochs", "1", "--out", str(out), *argv],
                          capture_output=True, text=True, timeout=300, env=env)
    card = out.with_suffix(".json")
    return done, json.loads(card.read_text()) if card.exists() else None


@pytest.mark.slow
@CPU_ONLY
def test_train_mirrored_names_the_strategy_and_its_devices(tmp_path):
    done, card = train_command(tmp_path, "--distribute", "mirrored")
    assert done.returncode == 0, done.stderr[-2000:]
    assert card["distribution"] == {
        "strategy": "MirroredStrategy", "replicas": 2,
        "devices": ["/job:localhost/replica:0/task:0/device:CPU:0",
                    "/job:localhost/replica:0/task:0/device:CPU:1"]}
    assert "with MirroredStrategy on 2 replicas" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.keras"]


@pytest.mark.slow
@CPU_ONLY
def test_train_multiworker_trains_in_worker_processes_on_loopback(tmp_path):
    done, card = train_command(tmp_path, "--distribute", "multiworker", "--workers", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    distribution = card["distribution"]
    assert distribution["strategy"] == "MultiWorkerMirroredStrategy"
    assert distribution["workers"] == 2 and distribution["replicas"] == 2
    assert all(a.startswith("127.0.0.1:") for a in distribution["addresses"])
    assert distribution["devices"] == ["/job:worker/replica:0/task:0/device:CPU:0",
                                       "/job:worker/replica:0/task:1/device:CPU:0"]
    assert "worker 0 | epoch 1/1" in done.stdout and "worker 1 | epoch 1/1" in done.stdout
    assert card["measured"]["test_accuracy"] > 0.3   # chance: 0.1 (one epoch of 7 steps: 0.76 measured)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.keras"]


def test_workers_are_only_for_multiworker(capsys):
    from helpers.commands import cli

    for option in (["--workers", "3"], ["--allow-network"]):
        assert cli.main(["train", *option]) == 2
        assert capsys.readouterr().err == ("cnn-course train: --workers and --allow-network are "
                                           "for --distribute multiworker.\n")


def test_more_workers_than_this_machine_runs_are_refused_before_anything_starts(tmp_path, capsys):
    from helpers.commands import cli

    too_many = cluster.most_workers() + 1
    out = tmp_path / "model.keras"
    assert cli.main(["train", "--distribute", "multiworker", "--workers", str(too_many),
                     "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"cnn-course train: --workers {too_many}: at most {too_many - 1} on this machine "
        "(one per core, at least 4); more would only share its cores.\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("returncodes, expected", [
    ([1, 1], "the training stopped: worker 0 stopped: CourseError: the checkpoint in X is not "
             "of this training: delete the folder to start it. (logs in "),
    ([-9, 1], "the training stopped (worker exit codes [-9, 1]; logs in "),
])
def test_a_failed_multiworker_training_says_why_and_offers_a_resume_only_after_a_kill(
        tmp_path, monkeypatch, returncodes, expected):
    from helpers import recipes
    from helpers.commands import train

    said = "stopped: CourseError: the checkpoint in X is not of this training: delete the folder to start it."
    logs = [f"loading\n{said}\n" if code == 1 else "epoch 1/2\n" for code in returncodes]
    monkeypatch.setattr(cluster, "run_workers", lambda *args, **kwargs: cluster.ClusterRun(
        ["127.0.0.1:1", "127.0.0.1:2"], returncodes, logs, 1.0))
    with pytest.raises(CourseError) as stopped:
        train._train_on_workers(recipes.get_recipe("seed"), 1, 2, tmp_path)
    message = str(stopped.value)
    assert message.startswith(expected)
    assert ("run the same command again" in message) == (min(returncodes) < 0)


@pytest.mark.slow
def test_a_backup_of_another_training_is_kept_and_the_new_one_refused(tmp_path, capsys,
                                                                      sample_only):
    from helpers.commands import cli

    backup = tmp_path / "model.backup"
    (backup / "keras").mkdir(parents=True)
    (backup / "settings.json").write_text(json.dumps({"recipe": "best", "epochs": 10}))
    (backup / "keras" / "training_metadata.json").write_text('{"epoch": 3, "batch": 0}')
    kept = files_under(backup)
    assert cli.main(["train", "--out", str(tmp_path / "model.keras"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "holds an interrupted training with other settings: recipe best (now fast)" in err
    assert f"delete {backup} to start this one" in err and err.count("\n") == 1
    assert files_under(backup) == kept and not (tmp_path / "model.keras").exists()


@pytest.mark.slow
def test_a_backup_without_a_kept_epoch_takes_the_new_settings(tmp_path, capsys, sample_only):
    from helpers.commands import cli

    backup = tmp_path / "model.backup"
    backup.mkdir()   # stopped before its first epoch was kept: nothing to resume
    (backup / "settings.json").write_text(json.dumps({"recipe": "best", "epochs": 10}))
    assert cli.main(["train", "--out", str(tmp_path / "model.keras"), "--epochs", "1"]) == 0
    assert "Keeping the training in" in capsys.readouterr().out and not backup.exists()


@pytest.mark.slow
def test_an_interrupted_train_command_resumes_when_run_again(tmp_path, capsys, monkeypatch,
                                                            sample_only):
    from helpers.commands import cli, train

    class Interrupt(keras.callbacks.Callback):   # a learner's Ctrl-C, once epoch 1 is kept
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    def interrupted(*args, **kwargs):
        return training.train(*args, **kwargs, callbacks=[Interrupt()])

    out = tmp_path / "model.keras"
    argv = ["train", "--recipe", "seed", "--epochs", "2", "--out", str(out)]
    with monkeypatch.context() as patch:
        patch.setattr(train, "train", interrupted)
        assert cli.main(argv) == 130
    backup = tmp_path / "model.backup"
    assert "the same command resumes it" in capsys.readouterr().out and not out.exists()
    assert (backup / "keras" / "training_metadata.json").is_file()
    assert cli.main(argv) == 0
    shown = capsys.readouterr().out
    assert "Resuming the interrupted training" in shown and "resuming after epoch 1" in shown
    assert "epoch 2/2" in shown and "epoch 1/2" not in shown
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["resumed"] is True and card["settings"]["epochs"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.keras"]


@pytest.mark.slow
def test_a_backup_folder_the_command_did_not_write_is_refused(tmp_path, capsys, sample_only):
    from helpers.commands import cli

    (tmp_path / "model.backup" / "keras").mkdir(parents=True)
    (tmp_path / "model.backup" / "keras" / "latest.weights.h5").write_text("someone's")
    assert cli.main(["train", "--out", str(tmp_path / "model.keras")]) == 2
    err = capsys.readouterr().err
    assert "is not a training this command kept" in err and err.count("\n") == 1
