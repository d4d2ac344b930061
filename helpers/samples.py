"""Real-world-style digit images made by the course, to test preprocessing and models offline.

Eight kinds, each with its own quirk, none of which looks like an MNIST training image
until it is preprocessed:

- ``printed``: digits in the fonts that ship with matplotlib, dark on light, rotated a little;
- ``inverted``: the same, light on dark;
- ``drawn_thin`` and ``drawn_bold``: mouse strokes on a transparent 280x280 canvas (as an
  HTML canvas or a drawing app exports them), from a 2-pixel pen to one a sixth of the canvas;
- ``frame_filling``: a drawing that fills its picture, strokes touching the edges;
- ``small_scaled_up``: a handwritten digit saved small, then enlarged: soft and blurry;
- ``photographed``: a handwritten digit as a photo of ink on unevenly lit paper (JPEG);
- ``shadowed``: the same with a shadow across the paper.

The handwritten kinds use MNIST *test* digits (pass ``mnist_test``), never trained on.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_NAMES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf",
              "STIXGeneral.ttf", "cmr10.ttf")
DRAWN_KINDS = ("printed", "inverted", "drawn_thin", "drawn_bold", "frame_filling")
HANDWRITTEN_KINDS = ("small_scaled_up", "photographed", "shadowed")
KINDS = DRAWN_KINDS + HANDWRITTEN_KINDS
CANVAS_SIZE = 280  # the drawing pad's size in notebook 08

# How a hand draws each digit in a unit box (x right, y down): one polyline per stroke.
STROKES = {
    0: [[(0.5, 0.05), (0.2, 0.2), (0.12, 0.5), (0.2, 0.8), (0.5, 0.95), (0.8, 0.8), (0.88, 0.5),
         (0.8, 0.2), (0.5, 0.05)]],
    1: [[(0.35, 0.2), (0.55, 0.05), (0.55, 0.95)]],
    2: [[(0.15, 0.25), (0.35, 0.07), (0.65, 0.07), (0.82, 0.28), (0.7, 0.5), (0.15, 0.93),
         (0.88, 0.93)]],
    3: [[(0.15, 0.12), (0.5, 0.05), (0.8, 0.2), (0.75, 0.4), (0.45, 0.5), (0.8, 0.62),
         (0.82, 0.82), (0.5, 0.95), (0.15, 0.87)]],
    4: [[(0.65, 0.95), (0.65, 0.05), (0.1, 0.65), (0.9, 0.65)]],
    5: [[(0.82, 0.07), (0.25, 0.07), (0.2, 0.45), (0.55, 0.4), (0.82, 0.58), (0.8, 0.85),
         (0.5, 0.95), (0.15, 0.85)]],
    6: [[(0.75, 0.08), (0.4, 0.2), (0.2, 0.55), (0.25, 0.85), (0.5, 0.95), (0.78, 0.8),
         (0.75, 0.58), (0.5, 0.48), (0.25, 0.6)]],
    7: [[(0.12, 0.08), (0.88, 0.08), (0.45, 0.95)]],
    8: [[(0.5, 0.5), (0.22, 0.3), (0.3, 0.1), (0.5, 0.05), (0.7, 0.1), (0.78, 0.3), (0.5, 0.5),
         (0.2, 0.7), (0.3, 0.92), (0.5, 0.96), (0.72, 0.92), (0.8, 0.7), (0.5, 0.5)]],
    9: [[(0.78, 0.4), (0.5, 0.5), (0.25, 0.4), (0.25, 0.15), (0.5, 0.05), (0.75, 0.15),
         (0.78, 0.4), (0.72, 0.95)]],
}


@dataclass
class Sample:
    """One generated picture of a digit, as the bytes of an image file."""

    name: str
    label: int
    kind: str
    data: bytes


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _font_path(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def printed_digit(digit: int, font: str, rng: np.random.Generator,
                  inverted: bool = False) -> Image.Image:
    """A digit printed in ``font``, dark on light (or light on dark), somewhere on a canvas."""
    size = int(rng.integers(60, 400))
    canvas = int(size * rng.uniform(1.3, 2.5))
    ink, paper = (235, 20) if inverted else (20, 235)
    image = Image.new("L", (canvas, canvas), paper)
    draw = ImageDraw.Draw(image)
    typeface = ImageFont.truetype(str(_font_path(font)), size)
    x, y = rng.uniform(0.05, 0.35) * canvas, rng.uniform(0.0, 0.25) * canvas
    draw.text((x, y), str(digit), fill=ink, font=typeface,
              stroke_width=int(rng.integers(0, max(2, size // 25))), stroke_fill=ink)
    return image.rotate(float(rng.uniform(-8, 8)), fillcolor=paper, resample=Image.BICUBIC)


def mouse_path(digit: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The pointer positions of a hand drawing ``digit`` in a unit box: each stroke's
    corners smoothed into a curve, slanted and wobbling a little, sampled as a mouse is."""
    slant, squeeze = rng.uniform(-0.25, 0.15), rng.uniform(0.65, 1.0)
    paths = []
    for line in STROKES[digit]:
        corners = np.array(line) + rng.normal(0, 0.025, (len(line), 2))
        padded = np.vstack([corners[:1], corners, corners[-1:]])
        points = []
        for i in range(1, len(padded) - 2):  # Catmull-Rom: a curve through every corner
            p0, p1, p2, p3 = padded[i - 1 : i + 3]
            for t in np.linspace(0, 1, 8, endpoint=False):
                points.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                                     + (3 * p1 - p0 - 3 * p2 + p3) * t**3))
        points.append(corners[-1])
        path = np.array(points)
        x = 0.5 + (path[:, 0] - 0.5) * squeeze + slant * (0.5 - path[:, 1])
        paths.append(np.column_stack([x, path[:, 1]]) + rng.normal(0, 0.004, path.shape))
    return paths


def draw_path(paths: list[np.ndarray], size: int, box: tuple[float, float, float],
              width: float, colour, background) -> Image.Image:
    """Strokes drawn as a canvas draws them: round-capped segments between pointer
    positions. ``box`` is (left, top, height) of the digit, in pixels."""
    left, top, height = box
    image = Image.new("RGBA" if isinstance(background, tuple) else "L", (size, size), background)
    draw = ImageDraw.Draw(image)
    r = width / 2
    for path in paths:
        xy = [(left + x * height, top + y * height) for x, y in path]
        draw.line(xy, fill=colour, width=max(1, round(width)))
        for x, y in xy:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return image


def drawn_digit(digit: int, rng: np.random.Generator, bold: bool = False) -> Image.Image:
    """A digit drawn with the mouse on a transparent 280x280 canvas: a thin pen (2-8
    pixels) or a bold one (20-45 pixels), black or coloured, anywhere on the canvas."""
    size = CANVAS_SIZE
    width = rng.uniform(20, 45) if bold else rng.uniform(2, 8)
    height = size * rng.uniform(0.45, 0.85)
    margin = width / 2 + 2
    left = rng.uniform(margin, max(margin, size - margin - 0.9 * height))
    top = rng.uniform(margin, max(margin, size - margin - height))
    colour = (0, 0, 0, 255) if rng.random() < 0.8 else (30, 60, 200, 255)
    return draw_path(mouse_path(digit, rng), size, (left, top, height), width, colour,
                     (0, 0, 0, 0))


def frame_filling_digit(digit: int, rng: np.random.Generator) -> Image.Image:
    """A drawing whose strokes run to the edges of its picture: dark on white, no margin."""
    size = int(rng.integers(120, 400))
    width = size * rng.uniform(0.04, 0.12)
    paths = mouse_path(digit, rng)
    points = np.vstack(paths)
    low, high = points.min(axis=0), points.max(axis=0)
    height = size / max(high - low) * rng.uniform(1.0, 1.08)   # edge to edge, a little cut off
    left, top = ((size - (high - low) * height) / 2 - low * height)
    return draw_path(paths, size, (left, top, height), width, 25, 245)


def small_scaled_up_digit(mnist_digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A handwritten digit saved small (14-24 pixels, dark on white), then enlarged 8-16x
    with smooth interpolation, as a thumbnail blown up: soft, blurry strokes."""
    small = int(rng.integers(14, 25))
    digit = Image.fromarray(255 - mnist_digit).resize((small, small), Image.BILINEAR)
    big = small * int(rng.integers(8, 17))
    return digit.resize((big, big), Image.BICUBIC)


def photographed_digit(mnist_digit: np.ndarray, rng: np.random.Generator,
                       shadow: bool = False) -> Image.Image:
    """A handwritten digit (28x28, white on black) as a photo of dark ink on paper lit
    unevenly, with a shadow across it when ``shadow``; large and off-centre."""
    factor = int(rng.integers(6, 20))
    big = Image.fromarray(mnist_digit).resize((28 * factor, 28 * factor), Image.BICUBIC)
    big = big.filter(ImageFilter.GaussianBlur(factor / 4))
    canvas = int(28 * factor * rng.uniform(1.2, 2.0))
    ink = np.zeros((canvas, canvas), np.float32)
    top, left = (rng.integers(0, canvas - 28 * factor + 1) for _ in range(2))
    ink[top : top + 28 * factor, left : left + 28 * factor] = np.asarray(big) / 255
    yy, xx = np.mgrid[0:canvas, 0:canvas] / canvas
    paper = 0.75 + 0.2 * (rng.uniform(-1, 1) * yy + rng.uniform(-1, 1) * xx) / 2
    if shadow:  # a straight shadow edge at any angle, softened as a real one is
        angle, offset = rng.uniform(0, 2 * np.pi), rng.uniform(-0.1, 0.1)
        side = (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle) - offset
        paper = paper * (1 - rng.uniform(0.3, 0.5) / (1 + np.exp(-side / 0.02)))
    photo = paper * (1 - 0.85 * ink) + rng.normal(0, 0.02, ink.shape)
    return Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8))


def real_world_digits(per_kind: int = 60, seed: int = 0, mnist_test=None,
                      kinds: tuple[str, ...] = KINDS) -> list[Sample]:
    """``per_kind`` images of each of ``kinds`` (see the module's text), with their labels.
    ``mnist_test``: ``(images, labels)``, needed for the handwritten kinds (left out without)."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    samples = []
    for kind in kinds:
        if kind in HANDWRITTEN_KINDS and mnist_test is None:
            continue
        rng = np.random.default_rng([seed, KINDS.index(kind)])  # a kind's own images, always
        if kind in HANDWRITTEN_KINDS:
            images, labels = mnist_test
            picks = rng.choice(len(labels), per_kind, replace=False)
            digits = [int(labels[p]) for p in picks]
        else:
            digits = [i % 10 for i in range(per_kind)]
        for i, digit in enumerate(digits):
            if kind in ("printed", "inverted"):
                image = printed_digit(digit, FONT_NAMES[(i // 10) % len(FONT_NAMES)], rng,
                                      inverted=kind == "inverted")
            elif kind.startswith("drawn"):
                image = drawn_digit(digit, rng, bold=kind == "drawn_bold")
            elif kind == "frame_filling":
                image = frame_filling_digit(digit, rng)
            elif kind == "small_scaled_up":
                image = small_scaled_up_digit(images[picks[i]], rng)
            else:
                image = photographed_digit(images[picks[i]], rng, shadow=kind == "shadowed")
            photo = kind in ("photographed", "shadowed")
            data = _encode(image, "JPEG", quality=int(rng.integers(40, 85))) if photo \
                else _encode(image, "PNG")
            samples.append(Sample(f"{kind}_{i:03d}_{digit}.{'jpg' if photo else 'png'}",
                                  digit, kind, data))
    return samples


def write_samples(made: list[Sample], folder: str | Path) -> Path:
    """Write the images into ``folder`` with a ``labels.csv`` (``file,label,group``, the group
    being the kind) that ``cnn-course predict --labels`` reads; returns the CSV's path."""
    from helpers import files

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for sample in made:
        with files.atomic_write(folder / sample.name) as tmp:
            tmp.write_bytes(sample.data)
    rows = ["file,label,group"] + [f"{s.name},{s.label},{s.kind}" for s in made]
    return files.write_text(folder / "labels.csv", "\n".join(rows) + "\n")

