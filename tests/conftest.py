"""Shared fixtures: small IDX files, the shared MNIST copy when present, and no network."""
from __future__ import annotations

import gzip
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from helpers import data
from helpers.data import idx_bytes

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in .gz."""
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


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
    """The full MNIST folder beside the project, or skip when this machine has none."""
    folder = SHARED_DATA / "mnist"
    if not folder.is_dir():
        pytest.skip("no shared MNIST copy on this machine")
    return folder


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, no Keras cache, no course data folder, no $CNN_COURSE_DATA."""
    def no_network(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known (simulated offline)")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "course-data")
    return tmp_path


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder``, hidden ones included, as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []


os.environ.setdefault("MPLBACKEND", "Agg")
