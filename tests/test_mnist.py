"""The MNIST data layer: IDX parsing, verification, sources, downloading and fetching."""
from __future__ import annotations

import email.message
import gzip
import hashlib
import io
import os
import shutil
import socket
import stat
import threading
import urllib.request

import numpy as np
import pytest

from conftest import files_under, write_idx
from helpers import downloads, mnist, report
from helpers.commands import fetch
from helpers.errors import DatasetError
from helpers.idx import idx_bytes, parse_idx, read_idx
from helpers.mnist import load_mnist


# --------------------------------------------------------------------------- IDX parsing


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_round_trips_plain_and_gzip(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / name, array)), array)


def test_read_idx_labels_are_one_dimensional(tmp_path):
    labels = read_idx(write_idx(tmp_path / "labels", np.array([5, 0, 4, 1, 9])))
    assert labels.shape == (5,) and labels.tolist() == [5, 0, 4, 1, 9]


def test_wrong_header_names_the_file(tmp_path):
    path = tmp_path / "not-idx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DatasetError, match="not-idx: not an IDX file"):
        read_idx(path)


def test_size_mismatch_is_reported_as_truncation():
    raw = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="promises 3,152 bytes but the file has 3,000"):
        parse_idx(raw[:3000], "x")


def test_truncated_gzip_gives_one_line_error_naming_it(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((50, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DatasetError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "truncated or corrupt gzip" in message
    assert "\n" not in message


def test_missing_file_names_it(tmp_path):
    with pytest.raises(DatasetError, match="nothing-here: file not found"):
        read_idx(tmp_path / "nothing-here")


# --------------------------------------------------------------------------- the dir source


def test_checksum_mismatch_names_the_file(tiny_mnist_dir):
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: checksum mismatch"):
        load_mnist(source="dir", data_dir=tiny_mnist_dir)


def test_missing_idx_file_is_named(tiny_mnist_dir):
    (tiny_mnist_dir / "t10k-labels-idx1-ubyte").unlink()
    (tiny_mnist_dir / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte \(or .*\.gz\) is missing"):
        load_mnist(source="dir", data_dir=tiny_mnist_dir)


def test_folder_without_mnist_says_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match="no MNIST files.*fetch-data"):
        load_mnist(source="dir", data_dir=tmp_path)


def test_unknown_source_lists_the_choices():
    with pytest.raises(DatasetError, match="unknown data source 'mnist'.*auto, dir, keras, sample"):
        load_mnist(source="mnist")


def test_npz_is_verified_against_the_idx_checksums(tmp_path):
    path = tmp_path / "mnist.npz"
    small = np.zeros((2, 28, 28), np.uint8)
    np.savez(path, x_train=small, y_train=np.zeros(2, np.uint8), x_test=small,
             y_test=np.zeros(2, np.uint8))
    with pytest.raises(DatasetError, match="mnist.npz: checksum mismatch"):
        load_mnist(source="dir", data_dir=tmp_path)


def test_corrupt_npz_says_delete_and_fetch_again(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04" + bytes(64))
    with pytest.raises(DatasetError, match="mnist.npz: truncated or corrupt archive"):
        mnist.load_npz(path)


@pytest.mark.slow
def test_full_mnist_from_shared_folder(shared_mnist):
    for folder in (shared_mnist, shared_mnist.parent):  # the IDX folder or the one holding it
        (x_train, y_train), (x_test, y_test) = mnist = load_mnist(source="dir", data_dir=folder)
        assert mnist.source == "dir"
        assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
        assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
        assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918,
                                                 6265, 5851, 5949]
        assert y_train[:5].tolist() == [5, 0, 4, 1, 9] and y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_truncated_copy_of_real_file_gives_one_line_error(shared_mnist, tmp_path):
    copy = tmp_path / "mnist"
    shutil.copytree(shared_mnist, copy)
    damaged = copy / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:500_000])
    with pytest.raises(DatasetError) as info:
        load_mnist(source="dir", data_dir=copy)
    assert str(damaged) in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- auto and sample


@pytest.mark.slow
def test_sample_is_stratified_and_fixed():
    (x_train, y_train), (x_test, y_test) = first = load_mnist(source="sample")
    assert first.source == "sample"
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert 0 < x_train.mean() < 255 and x_train.dtype == np.uint8
    (x_again, _), _ = load_mnist(source="sample")
    assert np.array_equal(x_train, x_again)


@pytest.mark.slow
def test_auto_offline_falls_back_to_sample_with_banner(offline, capsys):
    mnist = load_mnist()
    assert mnist.source == "sample"
    banner = capsys.readouterr().out
    assert "sample" in banner and "cnn-course fetch-data" in banner
    assert "simulated offline" in banner
    assert files_under(offline / "keras-home") == []  # nothing half-written in the cache
    assert report.recorded()["data_source"] == "sample"


def test_auto_uses_the_environment_variable(offline, tiny_mnist_dir, monkeypatch):
    monkeypatch.setenv(mnist.DATA_ENV, str(tiny_mnist_dir))
    with pytest.raises(DatasetError, match=r"checksum mismatch.*\$CNN_COURSE_DATA"):
        load_mnist()


def test_auto_prefers_data_dir_argument(offline, shared_mnist, monkeypatch, tiny_mnist_dir):
    monkeypatch.setenv(mnist.DATA_ENV, str(tiny_mnist_dir))  # would fail if it were used
    assert load_mnist(data_dir=shared_mnist).source == "dir"


@pytest.mark.slow
def test_offline_switch_never_touches_the_network(offline, monkeypatch):
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("network used"))
    assert load_mnist().source == "sample"


def test_damaged_keras_cache_is_an_error_not_a_fallback(offline):
    cache = mnist.keras_cache_path()
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="mnist.npz: truncated or corrupt archive"):
        load_mnist()


# --------------------------------------------------------------------------- downloading


def test_name_lookup_that_hangs_is_abandoned(monkeypatch):
    never_answered = threading.Event()  # the lookup waits for it; only the test's end sets it
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: never_answered.wait())
    try:
        with pytest.raises(DatasetError, match="no answer looking up example.org within 0.2 s"):
            downloads.resolve_host("example.org", timeout=0.2)
    finally:
        never_answered.set()


def _served(tmp_path, content: bytes) -> str:
    """A file:// address serving ``content`` (urllib reads it as it reads https)."""
    source = tmp_path / "served" / "payload.bin"
    source.parent.mkdir()
    source.write_bytes(content)
    return source.as_uri()


def test_download_checks_the_checksum_and_gives_normal_permissions(tmp_path):
    content = b"the bytes of a published file"
    dest = tmp_path / "out" / "file.bin"
    downloads.download(_served(tmp_path, content), dest, hashlib.sha256(content).hexdigest(),
                       size=len(content))
    assert dest.read_bytes() == content
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o666 & ~umask
    assert files_under(tmp_path / "out") == ["file.bin"]  # no staging folder left


def test_download_with_wrong_checksum_leaves_nothing(tmp_path):
    with pytest.raises(DatasetError, match="wrong checksum"):
        downloads.download(_served(tmp_path, b"junk"), tmp_path / "out" / "mnist.npz", "0" * 64)
    assert files_under(tmp_path / "out") == []


def test_download_of_the_wrong_size_leaves_nothing(tmp_path):
    with pytest.raises(DatasetError, match="downloaded 4 bytes, expected 9,406,464"):
        downloads.download(_served(tmp_path, b"junk"), tmp_path / "out" / "w.h5", size=9_406_464)
    assert files_under(tmp_path / "out") == []


class _BrokenResponse(io.BytesIO):
    """What urlopen returns, but the connection drops after the first block."""

    def info(self):
        headers = email.message.Message()
        headers["Content-Length"] = str(len(self.getvalue()))
        return headers

    def read(self, size=-1):
        if self.tell() > 0:
            raise ConnectionResetError("connection reset by peer")
        return super().read(10)


def test_interrupted_download_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(downloads, "resolve_host", lambda host, timeout: None)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: _BrokenResponse(bytes(100)))
    with pytest.raises(DatasetError, match="could not download.*connection reset"):
        downloads.download("https://example.org/mnist.npz", tmp_path / "out" / "mnist.npz")
    assert files_under(tmp_path / "out") == []


def test_offline_switch_refuses_before_any_lookup(monkeypatch, tmp_path):
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("network used"))
    with pytest.raises(DatasetError, match="CNN_COURSE_OFFLINE is set"):
        downloads.download("https://example.org/x.bin", tmp_path / "x.bin")


@pytest.mark.slow
def test_fetch_copies_a_verified_folder(shared_mnist, tmp_path, capsys):
    dest = fetch.fetch_mnist(tmp_path / "classroom", from_dir=shared_mnist.parent)
    assert load_mnist(source="dir", data_dir=dest).source == "dir"
    fetch.fetch_mnist(dest)  # a second run finds it and does nothing
    assert "already in" in capsys.readouterr().out


def test_fetch_from_damaged_folder_copies_nothing(tiny_mnist_dir, tmp_path):
    with pytest.raises(DatasetError, match="checksum mismatch"):
        fetch.fetch_mnist(tmp_path / "classroom", from_dir=tiny_mnist_dir)
    assert files_under(tmp_path / "classroom") == []


def test_gzip_of_other_data_is_rejected_by_header(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(b"hello world, this is not IDX"))
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(path)


@pytest.mark.slow
def test_fetch_from_a_bad_folder_when_a_good_copy_is_there_says_it_was_ignored(
        shared_mnist, tiny_mnist_dir, tmp_path, capsys):
    dest = fetch.fetch_mnist(tmp_path / "classroom", from_dir=shared_mnist)
    capsys.readouterr()
    fetch.fetch_mnist(dest, from_dir=tiny_mnist_dir)
    out = capsys.readouterr().out
    assert "already in" in out
    assert f"nothing copied from {tiny_mnist_dir}; it is not usable" in out
    assert "checksum mismatch" in out


@pytest.mark.slow
def test_fetch_replaces_a_damaged_copy_of_the_other_format_whole(shared_mnist, tmp_path):
    target = tmp_path / "classroom" / "mnist"
    target.mkdir(parents=True)
    (target / "mnist.npz").write_bytes(b"PK\x03\x04 damaged")  # preferred over IDX files
    fetch.fetch_mnist(tmp_path / "classroom", from_dir=shared_mnist)
    assert load_mnist(source="dir", data_dir=target).source == "dir"
    assert "mnist.npz" not in files_under(target)
    assert not [p for p in (tmp_path / "classroom").iterdir() if p.name != "mnist"]


@pytest.mark.slow
def test_an_empty_course_data_folder_is_not_a_copy(offline, monkeypatch):
    (offline / "course-data" / "mnist").mkdir(parents=True)  # what a failed fetch once left
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    assert load_mnist().source == "sample"
