"""A multi-worker training on this machine: one process per worker, each told by
``TF_CONFIG`` where the cluster's workers listen (ports on 127.0.0.1, in a network of their
own: see ``helpers.private_network``), their logs shown as they come, a worker's crash
simulated on request, and their results read.

A real cluster starts the same worker program (``python -m helpers.worker``) on each
machine, with the machines' addresses in ``TF_CONFIG`` instead.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers import report
from helpers.distributed import TF_CONFIG_ENV
from helpers.errors import CourseError

LOOPBACK = "127.0.0.1"
GRACE_SECONDS = 2   # after one worker ends badly, how long the others get to end by themselves
# What a worker must not inherit from the process that starts it.
NOT_INHERITED = ("CNN_COURSE_METRICS",)  # the notebook's metrics file is the notebook's alone


def loopback_addresses(count: int) -> list[str]:
    """``count`` free ports on 127.0.0.1, as ``host:port``."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((LOOPBACK, 0))
        return [f"{LOOPBACK}:{s.getsockname()[1]}" for s in sockets]
    finally:
        for s in sockets:
            s.close()


def most_workers() -> int:
    """The most workers this machine runs: one per core, at least 4 (more only share them)."""
    return max(4, os.cpu_count() or 1)


def stopped_lines(run: ClusterRun) -> list[str]:
    """What the workers that stopped by themselves said (their one-line ``stopped:``)."""
    return [f"worker {i} {line.strip()}" for i, log in enumerate(run.logs)
            for line in log.splitlines() if line.startswith("stopped:")]


def tf_config(addresses: list[str], index: int) -> str:
    """The ``TF_CONFIG`` of worker ``index``: every worker's address, and which one it is."""
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})


@dataclass
class ClusterRun:
    """What the workers did: exit codes (negative: killed by that signal), logs, results."""

    addresses: list[str]
    returncodes: list[int]
    logs: list[str]
    seconds: float
    crashed: int | None = None        # the worker killed on purpose, if any
    results: list[dict] = field(default_factory=list)   # each worker's worker-<i>.json
    weight_files: list[Path] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return all(code == 0 for code in self.returncodes)


def run_workers(count: int, worker_args: list[str], out_dir: str | Path,
                crash: tuple[int, int] | None = None, timeout: float | None = None,
                echo: bool = True, program: list[str] | None = None,
                allow_network: bool = False) -> ClusterRun:
    """Start ``count`` workers of ``program`` (default: ``python -m helpers.worker``)
    with ``worker_args`` and ``--out out_dir``, and wait for them, showing each log line as
    ``worker i | ...``. They share this machine's cores equally, and none outlives this
    process. ``crash=(i, k)`` has worker ``i`` die (SIGKILL) once its epoch ``k`` is kept,
    as when a machine fails; when one worker ends badly, the others get ``GRACE_SECONDS`` to
    notice and stop by themselves, and are then stopped, as a cluster manager does before it
    restarts the job.

    TensorFlow's servers listen on every network interface, so the workers run in a network
    of their own (``helpers.private_network``), which nothing outside this machine reaches.
    Where the system cannot give them one, this refuses, unless ``allow_network`` accepts
    that the servers can be reached from the machine's network while they train."""
    with contextlib.ExitStack() as stack:
        return _run_workers(count, worker_args, Path(out_dir), crash, timeout, echo,
                            _network_prefix(stack, allow_network) + (program or [
                                sys.executable, "-m", "helpers.worker"]))


def check_private_network(allow_network: bool = False) -> None:
    """Refuse now (``CourseError``), before any work, what ``run_workers`` would refuse."""
    with contextlib.ExitStack() as stack:
        _network_prefix(stack, allow_network, announce=False)


def _network_prefix(stack: contextlib.ExitStack, allow_network: bool,
                    announce: bool = True) -> list[str]:
    """How to start a worker in the private network (kept open by ``stack``), or nothing."""
    from helpers.private_network import NoPrivateNetwork, PrivateNetwork

    try:
        return stack.enter_context(PrivateNetwork()).prefix()
    except NoPrivateNetwork as exc:
        if not allow_network:
            raise CourseError(
                "the workers' TensorFlow servers listen on every network interface, and this "
                f"system cannot give them a network of their own ({exc}): anyone on this "
                "machine's network could reach them while they train. To accept that on a "
                "network you trust, add --allow-network (cnn-course train) or "
                "allow_network=True (cluster.run_workers).") from None
        if announce:
            report.announce(f"Note: the workers' servers can be reached from this machine's "
                            f"network while they train ({exc}).")
        return []


def _run_workers(count: int, worker_args: list[str], out_dir: Path,
                 crash: tuple[int, int] | None, timeout: float | None, echo: bool,
                 program: list[str]) -> ClusterRun:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("worker-*.*"):
        stale.unlink()
    addresses = loopback_addresses(count)
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["PYTHONUNBUFFERED"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"   # TensorFlow's C++ errors repeat the worker's "stopped:" line
    env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"   # workers sharing a GPU take its memory as needed
    threads = max(1, (os.cpu_count() or 1) // count)
    command = [*program, *worker_args,
               "--out", str(out_dir), "--threads", str(threads), "--launcher-pid", str(os.getpid())]
    logs = [out_dir / f"worker-{i}.log" for i in range(count)]
    processes = []
    started = time.monotonic()
    try:
        for i in range(count):
            dies = ["--crash-after-epoch", str(crash[1])] if crash and crash[0] == i else []
            with open(logs[i], "wb") as log:
                processes.append(subprocess.Popen(
                    command + dies, env={**env, TF_CONFIG_ENV: tf_config(addresses, i)},
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True))  # Ctrl-C reaches this process, which stops them
        _watch(processes, logs, timeout, echo)
    finally:
        for process in processes:  # an interrupt, a timeout: no worker outlives its launcher
            if process.poll() is None:
                process.kill()
                process.wait()
    crashed = crash[0] if crash and processes[crash[0]].returncode == -signal.SIGKILL else None
    run = ClusterRun(addresses, [p.returncode for p in processes],
                     [log.read_text(errors="replace") for log in logs],
                     round(time.monotonic() - started, 2), crashed)
    if run.completed:  # what the course's workers write (another program may write nothing)
        results = [out_dir / f"worker-{i}.json" for i in range(count)]
        run.results = [json.loads(path.read_text()) for path in results if path.exists()]
        run.weight_files = [path for i in range(count)
                            if (path := out_dir / f"worker-{i}.npz").exists()]
    return run


def _watch(processes, logs, timeout, echo) -> None:
    """Echo new log lines until every worker has ended; stop the rest ``GRACE_SECONDS``
    after one ends badly."""
    shown = [0] * len(processes)
    first_failure = None
    started = time.monotonic()
    while True:
        ended = all(p.poll() is not None for p in processes)  # before reading: no line missed
        for i, log in enumerate(logs):
            text = log.read_bytes()[shown[i]:]
            complete = text[:text.rfind(b"\n") + 1]
            shown[i] += len(complete)
            for line in complete.decode(errors="replace").splitlines():
                if echo and line.strip():
                    report.announce(f"worker {i} | {line}")
        if ended:
            return
        codes = [p.poll() for p in processes]
        if first_failure is None and any(code not in (None, 0) for code in codes):
            first_failure = time.monotonic()
            if echo:
                report.announce("      " + ", ".join(
                    f"worker {i} {'was killed' if code == -signal.SIGKILL else 'stopped'}"
                    for i, code in enumerate(codes) if code not in (None, 0)))
        if first_failure is not None and time.monotonic() - first_failure > GRACE_SECONDS:
            for process in processes:  # SIGKILL: a worker waiting in a collective ignores SIGTERM
                if process.poll() is None:
                    process.kill()
        if timeout is not None and time.monotonic() - started > timeout:
            raise CourseError(f"the workers did not finish within {timeout:.0f} s; their logs "
                              f"are in {logs[0].parent}.")
        time.sleep(0.2)


def weights(path: str | Path, network: int | None = None) -> list:
    """A worker's final weights in the order of ``model.get_weights()``: of every network it
    trained one after another, or of the one numbered ``network`` (from 0)."""
    import numpy as np

    def order(name: str) -> tuple[int, int]:
        member, index = name.removeprefix("network").split("_")
        return int(member), int(index)

    with np.load(path) as saved:
        names = sorted(saved.files, key=order)
        return [saved[n] for n in names if network is None or order(n)[0] == network]


def combine(per_worker: list[list], trainable: list[bool]) -> list:
    """One set of weights from every worker's: the trained weights, which all-reduce keeps
    identical on every worker (anything else is refused), and the mean of the statistics
    each worker keeps of its own share of every batch (batch norm's running averages)."""
    import numpy as np

    for index, weights in enumerate(per_worker[1:], start=1):
        kept = [(a, b) for a, b, t in zip(per_worker[0], weights, trainable, strict=True) if t]
        if kept and largest_difference(*zip(*kept)) > 0:
            raise CourseError(f"worker {index} ended with other trained weights than worker 0; "
                              "they must be identical: please report this.")
    return [column[0] if t else np.mean(column, axis=0)
            for t, column in zip(trainable, zip(*per_worker))]


def largest_difference(first: list, second: list) -> float:
    """The largest difference between two lists of weight arrays (0.0: identical)."""
    import numpy as np

    return max(float(np.max(np.abs(a - b))) for a, b in zip(first, second, strict=True))
