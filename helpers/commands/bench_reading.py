"""``cnn-course bench-reading``: how much reducing a large picture as it is read saves.

It makes one large picture of a digit (PNG and JPEG, dark ink on white, as a phone or
scanner gives), then reads it with ``preprocessing.to_mnist`` twice in this process: as the
course does (a JPEG decoded at a fraction of its size, any picture reduced to
``pictures.MAX_SIDE`` pixels before float work) and with that reduction turned off (the
whole picture decoded and processed, as the course did before). For each way it
reports the seconds and the peak memory the read added, and the ratios between them.
"""
from __future__ import annotations

import ctypes
import gc
import io
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from helpers import files, pictures, preprocessing

PAGE_SIZE = 4096  # bytes per memory page, for /proc/self/statm


def large_digit(side: int) -> Image.Image:
    """A '0' drawn with a bold pen on a white ``side`` x ``side`` picture, off-centre."""
    image = Image.new("L", (side, side), 250)
    ImageDraw.Draw(image).ellipse((side * 0.3, side * 0.15, side * 0.62, side * 0.8), outline=20,
                                  width=max(2, side // 30))
    return image


def _resident_bytes() -> int | None:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return None  # not Linux: memory is not measured


def _release_freed_memory() -> None:
    """Hand memory freed earlier back to the system (glibc keeps it otherwise), so that a
    measurement starts from what is really in use and sees what it allocates."""
    gc.collect()
    Image.core.clear_cache()  # Pillow's own pool of image blocks
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the measurement may see less than was allocated


@contextmanager
def peak_memory():
    """Sample this process's resident memory every 2 ms; yields a dict that gets ``added``:
    the peak above the level at the start, in bytes (None where it cannot be read)."""
    _release_freed_memory()
    start, result, done = _resident_bytes(), {"added": None}, threading.Event()
    peak = [start or 0]

    def sample():
        while not done.wait(0.002):
            peak[0] = max(peak[0], _resident_bytes() or 0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        if start is not None:
            result["added"] = max(peak[0], _resident_bytes() or 0) - start


def _read(data: bytes, reduce: bool) -> dict:
    saved = pictures.MAX_SIDE
    pictures.MAX_SIDE = saved if reduce else 10**9
    try:
        with peak_memory() as memory:
            started = time.perf_counter()
            digit = preprocessing.to_mnist(data)
            seconds = time.perf_counter() - started
    finally:
        pictures.MAX_SIDE = saved
    return {"seconds": seconds, "peak_added_mb": None if memory["added"] is None
            else memory["added"] / 1e6, "digit": digit}


def run(side: int = 6000) -> dict:
    """Read a ``side`` x ``side`` PNG and JPEG both ways; results per format, with ratios."""
    image = large_digit(side)
    result = {"side": side, "max_side": pictures.MAX_SIDE, "formats": {}}
    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        data = buffer.getvalue()
        reduced = _read(data, reduce=True)   # first, so the other's freed memory does not help it
        whole = _read(data, reduce=False)
        both = {"reduced": reduced, "whole": whole}
        entry = {way: {k: v for k, v in r.items() if k != "digit"} for way, r in both.items()}
        entry["speed_ratio"] = whole["seconds"] / reduced["seconds"]
        if reduced["peak_added_mb"] and whole["peak_added_mb"] is not None:
            entry["memory_ratio"] = whole["peak_added_mb"] / max(reduced["peak_added_mb"], 1e-3)
        entry["largest_pixel_difference"] = float(np.abs(reduced["digit"] - whole["digit"]).max())
        result["formats"][fmt] = entry
    return result


def times(ratio: float, more: str = "faster", fewer: str = "slower") -> str:
    """A ratio in words: ``2.0x faster`` above 1, ``2.9x slower`` (its inverse) below."""
    if ratio is None or ratio != ratio or ratio <= 0:
        return "n/a"
    return f"{ratio:.1f}x {more}" if ratio >= 1 else f"{1 / ratio:.1f}x {fewer}"


def format_table(result: dict) -> str:
    """The result as a text table."""
    lines = [f"Reading a {result['side']}x{result['side']} picture of a digit with to_mnist "
             f"(reduced to {result['max_side']} pixels while decoding, or whole):",
             f"{'format':7s} {'reduced s':>10s} {'whole s':>9s} {'reduced is':>12s} "
             f"{'reduced MB':>11s} {'whole MB':>9s} {'reduced uses':>16s}"]
    for fmt, e in result["formats"].items():
        mb = [e[w]["peak_added_mb"] for w in ("reduced", "whole")]
        memory = (f"{mb[0]:11.0f} {mb[1]:9.0f} "
                  f"{times(e.get('memory_ratio'), 'less memory', 'more memory'):>16s}"
                  if None not in mb else f"{'n/a':>11s} {'n/a':>9s} {'n/a':>16s}")
        lines.append(f"{fmt:7s} {e['reduced']['seconds']:10.2f} {e['whole']['seconds']:9.2f} "
                     f"{times(e['speed_ratio']):>12s} {memory}")
    return "\n".join(lines)


def write_json(result: dict, path: str | Path) -> Path:
    import json

    return files.write_text(path, json.dumps(result, indent=2) + "\n")
