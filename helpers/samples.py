"""Real-world-style digit images made by the course, to test preprocessing and models offline.

Three families, each with its own quirks: digits printed in the fonts that ship with
matplotlib, digits drawn as pen strokes on a transparent canvas (as a drawing app or an
HTML canvas exports them), and handwritten MNIST test digits turned into "photos" (dark
ink on uneven paper, large, off-centre, JPEG-compressed). None of them looks like an
MNIST training image until it is preprocessed.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_NAMES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf",
              "STIXGeneral.ttf", "cmr10.ttf")

# Pen strokes for each digit in a unit box (x right, y down): lists of polylines.
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
    family: str
    data: bytes


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _font_path(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def printed_digit(digit: int, font: str, rng: np.random.Generator) -> Image.Image:
    """A digit printed in ``font``, dark on light or light on dark, somewhere on a canvas."""
    size = int(rng.integers(60, 400))
    canvas = int(size * rng.uniform(1.3, 2.5))
    ink, paper = (20, 235) if rng.random() < 0.7 else (235, 20)
    image = Image.new("L", (canvas, canvas), paper)
    draw = ImageDraw.Draw(image)
    typeface = ImageFont.truetype(str(_font_path(font)), size)
    x, y = rng.uniform(0.05, 0.35) * canvas, rng.uniform(0.0, 0.25) * canvas
    draw.text((x, y), str(digit), fill=ink, font=typeface,
              stroke_width=int(rng.integers(0, max(2, size // 25))), stroke_fill=ink)
    return image.rotate(float(rng.uniform(-8, 8)), fillcolor=paper, resample=Image.BICUBIC)


def drawn_digit(digit: int, rng: np.random.Generator) -> Image.Image:
    """A digit drawn as pen strokes on a transparent canvas, as a drawing app exports it."""
    canvas = int(rng.integers(200, 600))
    scale = canvas * rng.uniform(0.4, 0.8)
    x0, y0 = rng.uniform(0.05, 0.95 - scale / canvas) * canvas, rng.uniform(0.05, 0.2) * canvas
    width = int(max(3, scale * rng.uniform(0.04, 0.12)))
    colour = (0, 0, 0, 255) if rng.random() < 0.8 else (30, 60, 200, 255)
    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    wobble = scale * 0.02
    for line in STROKES[digit]:
        points = [(x0 + px * scale * 0.8 + rng.normal(0, wobble),
                   y0 + py * scale + rng.normal(0, wobble)) for px, py in line]
        draw.line(points, fill=colour, width=width, joint="curve")
        for px, py in (points[0], points[-1]):
            r = width / 2
            draw.ellipse((px - r, py - r, px + r, py + r), fill=colour)
    return image


def photographed_digit(mnist_digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A handwritten digit (28x28, white on black) as a photo of dark ink on uneven paper."""
    factor = int(rng.integers(6, 20))
    big = Image.fromarray(mnist_digit).resize((28 * factor, 28 * factor), Image.BICUBIC)
    big = big.filter(ImageFilter.GaussianBlur(factor / 4))
    canvas = int(28 * factor * rng.uniform(1.2, 2.0))
    ink = np.zeros((canvas, canvas), np.float32)
    top, left = (rng.integers(0, canvas - 28 * factor + 1) for _ in range(2))
    ink[top : top + 28 * factor, left : left + 28 * factor] = np.asarray(big) / 255
    yy, xx = np.mgrid[0:canvas, 0:canvas] / canvas
    paper = 0.75 + 0.2 * (rng.uniform(-1, 1) * yy + rng.uniform(-1, 1) * xx) / 2
    photo = paper * (1 - 0.85 * ink) + rng.normal(0, 0.02, ink.shape)
    return Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8))


def real_world_digits(per_family: int = 60, seed: int = 0, mnist_test=None) -> list[Sample]:
    """Generate ``per_family`` images of each family (printed, drawn, photographed), with
    their labels. ``mnist_test``: ``(images, labels)`` for the photographed family."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(per_family):
        digit = i % 10
        font = FONT_NAMES[(i // 10) % len(FONT_NAMES)]
        printed = printed_digit(digit, font, rng)
        samples.append(Sample(f"printed_{i:03d}_{digit}.png", digit, "printed",
                              _encode(printed, "PNG")))
        drawn = drawn_digit(digit, rng)
        samples.append(Sample(f"drawn_{i:03d}_{digit}.png", digit, "drawn", _encode(drawn, "PNG")))
    if mnist_test is not None:
        images, labels = mnist_test
        for i, index in enumerate(rng.choice(len(labels), per_family, replace=False)):
            photo = photographed_digit(images[index], rng)
            samples.append(Sample(f"photo_{i:03d}_{labels[index]}.jpg", int(labels[index]),
                                  "photographed", _encode(photo, "JPEG", quality=int(rng.integers(40, 85)))))
    return samples
