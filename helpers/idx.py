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


def read_bytes(path: Path, size: int | None = None) -> bytes:
    """The bytes of ``path``, decompressed when it ends in .gz; a DatasetError names it.
    ``size``: the file's known size; a file (or its decompressed content) larger than that
    is refused as soon as it is, so a small file that inflates without end costs nothing."""
    try:
        if size is not None and path.suffix != ".gz" and path.stat().st_size > size:
            raise DatasetError(f"{path}: {path.stat().st_size:,} bytes, more than the "
                               f"{size:,} this file has; it is not the original. Replace it "
                               "with a fresh copy.")
        if path.suffix != ".gz":
            return path.read_bytes()
        with gzip.open(path, "rb") as stream:
            raw = stream.read(-1 if size is None else size + 1)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found.") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DatasetError(
            f"{path}: truncated or corrupt gzip file ({exc}). Replace it with a fresh copy."
        ) from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if size is not None and len(raw) > size:
        raise DatasetError(f"{path}: decompresses to more than the {size:,} bytes this file "
                           "has; it is not the original. Replace it with a fresh copy.")
    return raw
