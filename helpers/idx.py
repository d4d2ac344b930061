"""The IDX format that MNIST ships in: a tiny header (type, rank, sizes), then raw bytes.

``read_idx`` reads a file (plain or gzip-compressed); ``parse_idx`` and ``idx_bytes``
convert between the bytes and a NumPy array.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from helpers.errors import DatasetError


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (plain or .gz) of unsigned bytes into an array of its shape."""
    path = Path(path)
    return parse_idx(read_bytes(path), path)


def parse_idx(raw: bytes, path: str | Path = "<bytes>") -> np.ndarray:
    """Parse IDX bytes: two zero bytes, type 0x08 (uint8), rank, big-endian sizes, data."""
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DatasetError(
            f"{path}: not an IDX file of unsigned bytes (header {raw[:4].hex() or 'empty'}); "
            "it may be the wrong file or damaged. Replace it with a fresh copy."
        )
    rank = raw[3]
    header_size = 4 + 4 * rank
    if len(raw) < header_size:
        raise DatasetError(f"{path}: file ends inside its IDX header; it is truncated.")
    shape = struct.unpack(f">{rank}I", raw[4:header_size])
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        raise DatasetError(
            f"{path}: IDX header promises {expected:,} bytes but the file has {len(raw):,}; "
            "it is truncated or damaged. Replace it with a fresh copy."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array (the inverse of :func:`parse_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path``, decompressed when it ends in .gz; a DatasetError names it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found.") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror}).") from None
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise DatasetError(
            f"{path}: truncated or corrupt gzip file ({exc}). Replace it with a fresh copy."
        ) from None
