"""Shared fixtures: small IDX files, the full MNIST copy named by $CNN_COURSE_DATA, no network."""
from __future__ import annotations

import gzip
import os
import socket
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from helpers import mnist, paths
from helpers.downloads import OFFLINE_ENV
from helpers.idx import idx_bytes
from helpers.paths import DATA_ENV
from helpers.startup import start_tensorflow

matplotlib.use("Agg")
start_tensorflow()  # once, quietly, before any test imports Keras

# The full dataset, when this machine has one: read once here, before any test clears the variable.
FULL_DATA = os.environ.get(DATA_ENV)


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in .gz."""
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


@pytest.fixture(autouse=True)
def own_checkpoints(tmp_path, monkeypatch):
    """Every test gets an empty checkpoint folder: none sees the course's own checkpoints."""
    from helpers.checkpoints import CHECKPOINT_ENV

    monkeypatch.setenv(CHECKPOINT_ENV, str(tmp_path / "own-checkpoints"))


@pytest.fixture(autouse=True)
def own_speed_file_and_models(tmp_path_factory, monkeypatch):
    """The machine's measured speed and the notebooks' saved models are kept in the test
    run's own folders, not in the course's build/ and models/."""
    from helpers import speed
    from helpers.paths import MODEL_ENV

    monkeypatch.setattr(speed, "CACHE_PATH", tmp_path_factory.getbasetemp() / "speed.json")
    monkeypatch.setenv(MODEL_ENV, str(tmp_path_factory.getbasetemp() / "models"))


@pytest.fixture(scope="session")
def machine_speed() -> float:
    """This machine's reference epoch, probed once for the whole test run."""
    from helpers import speed

    return speed.probe().reference_epoch_seconds


@pytest.fixture(autouse=True)
def runners_reference_epoch(request, monkeypatch):
    """A test that starts kernels or commands gives them this machine's reference epoch, as
    the runner gives its notebooks: none of them probes and keeps it in build/. A runner it
    starts takes the same for the whole epochs it times (not two of some 20 s each)."""
    if any(request.node.get_closest_marker(m) for m in ("slow", "notebook", "full", "browser")):
        from helpers import speed

        seconds = request.getfixturevalue("machine_speed")
        monkeypatch.setenv(speed.SPEED_ENV, str(seconds))
        monkeypatch.setattr(speed, "measure_reference_epoch", lambda: seconds)


@pytest.fixture
def tiny_mnist_dir(tmp_path: Path) -> Path:
    """A folder with the four MNIST file names holding tiny (wrong-checksum) IDX data."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "tiny"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (6, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(6))
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (3, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(3))
    return folder


@pytest.fixture
def shared_mnist() -> Path:
    """The full MNIST folder named by $CNN_COURSE_DATA, or skip when there is none."""
    if not FULL_DATA:
        pytest.skip(f"no full MNIST: ${DATA_ENV} is not set")
    return mnist.find_mnist_dir(FULL_DATA)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, no Keras cache, no course data folder, no $CNN_COURSE_DATA."""
    def no_network(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known (simulated offline)")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.delenv(OFFLINE_ENV, raising=False)
    monkeypatch.setattr(mnist, "DATA_DIR", tmp_path / "course-data")
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "course-data")   # photos and weights
    return tmp_path


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder``, hidden ones included, as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []
