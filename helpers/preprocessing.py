"""Turn any picture of a digit into an MNIST-style input, the way MNIST itself was made.

MNIST digits are light ink on black, cropped to the ink, scaled so the longer side is 20
pixels, and placed in a 28x28 image with their centre of mass at the centre. A photo or a
canvas drawing resized straight to 28x28 looks nothing like that; ``to_mnist`` does each
step, and ``to_mnist_steps`` returns them all for display.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from skimage.morphology import reconstruction, skeletonize

from helpers.errors import ImageError

MAX_PIXELS = 40_000_000   # refuse larger images before decoding them (decompression bombs)
MAX_SIDE = 1024           # larger images are reduced to this (longer side) as they are read
DIGIT_BOX = 20            # MNIST: the longer side of the digit, in pixels
CANVAS = 28               # MNIST: the image size
MIN_INK_CONTRAST = 0.15   # ink must differ from the paper by this much (of full range) at least
PAPER_VARIATION = 0.08    # a border varying more than this is uneven lighting, to be flattened
MNIST_STROKE = 2.8        # MNIST: the median stroke width of its digits, in pixels of 28x28
THIN_STROKE = 2.0         # thinner than MNIST's thinnest tenth: thickened to MNIST_STROKE
BOLD_STROKE = 3.9         # bolder than MNIST's boldest tenth: thinned to MNIST_STROKE


def load_grey(image, name: str | None = None) -> np.ndarray:
    """Any image (path, bytes, PIL image or array) as a float grey array, 0 black to 1 white.

    Transparent pixels are composited onto white first, as drawing apps and HTML canvases
    leave the background transparent. An animated image is read from its first frame with
    ink; 16-bit images are scaled by their bit depth; images larger than ``MAX_SIDE`` pixels
    are reduced while they are decoded.
    """
    return load_grey_and_alpha(image, name)[0]


def load_grey_and_alpha(image, name: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`load_grey`, and the image's transparency (0 transparent to 1 opaque) when it
    varies (a drawing on a transparent background), else None."""
    name = name or _describe(image)
    if isinstance(image, np.ndarray):
        alpha = None
        if image.ndim == 3 and image.shape[-1] == 4:
            alpha = image[..., 3].astype(np.float32) / (255 if image.dtype == np.uint8 else 1)
        return _array_to_grey(image, name), _if_varies(alpha)
    pil = _open(image, name)
    alpha = None
    if "A" in pil.getbands() or (pil.mode == "P" and "transparency" in pil.info):
        alpha = np.asarray(pil.convert("RGBA"), dtype=np.float32)[..., 3] / 255
    return _pil_to_grey(pil, name), _if_varies(alpha)


def _if_varies(alpha: np.ndarray | None) -> np.ndarray | None:
    return alpha if alpha is not None and np.ptp(alpha) >= MIN_INK_CONTRAST else None


def _describe(image) -> str:
    if isinstance(image, (str, Path)):
        return str(image)
    return f"<{type(image).__name__}>"


def _open(image, name: str) -> Image.Image:
    if isinstance(image, Image.Image):
        pil = image
    else:
        if isinstance(image, (str, Path)):
            path = Path(image)
            if path.is_dir():
                raise ImageError(f"{name}: is a folder, not an image file.")
            if not path.is_file():
                raise ImageError(f"{name}: no such file.")
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise ImageError(f"{name}: cannot be read ({exc.strerror}).") from None
        elif isinstance(image, (bytes, bytearray)):
            raw = bytes(image)
        else:
            raise ImageError(f"{name}: expected a file path, bytes, a PIL image or an array.")
        if not raw:
            raise ImageError(f"{name}: the file is empty (0 bytes).")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                pil = Image.open(io.BytesIO(raw))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{name}: the image is too large (limit {MAX_PIXELS:,} pixels); "
                             "scale it down first.") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise ImageError(f"{name}: not an image (or a format Pillow cannot read).") from None
    width, height = pil.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name}: {width}x{height} pixels is too large (limit {MAX_PIXELS:,}); "
            "scale it down first."
        )
    try:
        if max(pil.size) > MAX_SIDE:
            pil.draft(pil.mode, (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a fraction of the size
        pil.load()
        pil = _first_frame_with_ink(pil)
        pil = _wide_range_to_float(ImageOps.exif_transpose(pil))  # phones store rotation apart
        if max(pil.size) > MAX_SIDE:
            pil.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
        return pil
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{name}: the image is damaged or truncated ({exc}).") from None


def _first_frame_with_ink(pil: Image.Image) -> Image.Image:
    """The first frame of an animated image (GIF, APNG, WebP) that is not blank."""
    frames = getattr(pil, "n_frames", 1)
    if frames == 1:
        return pil
    for index in range(frames):
        pil.seek(index)
        frame = pil.convert("RGBA") if pil.mode == "P" else pil.copy()
        if np.ptp(_pil_to_grey(frame, "")) >= MIN_INK_CONTRAST:
            return frame
    pil.seek(0)
    return pil.convert("RGBA") if frames > 1 and pil.mode == "P" else pil


def _wide_range_to_float(pil: Image.Image) -> Image.Image:
    """16- and 32-bit integer images as float images in 0-255, scaled by their bit depth
    (Pillow's own conversion to 8 bits clips everything above 255 to white)."""
    if pil.mode not in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        return pil
    values = np.asarray(pil, dtype=np.float64)
    full_scale = 2.0 ** max(8, int(np.ceil(np.log2(values.max() + 1)))) - 1 if values.size else 255
    return Image.fromarray((np.clip(values, 0, None) / full_scale * 255).astype(np.float32), mode="F")


def _pil_to_grey(pil: Image.Image, name: str) -> np.ndarray:
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        rgba = pil.convert("RGBA")
        on_white = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        grey = np.asarray(on_white.convert("L"), dtype=np.float32) / 255
        if np.ptp(grey) < MIN_INK_CONTRAST:  # white ink on a transparent background
            on_black = Image.alpha_composite(Image.new("RGBA", rgba.size, "black"), rgba)
            grey = np.asarray(on_black.convert("L"), dtype=np.float32) / 255
        return grey
    if pil.mode == "F":
        return np.clip(np.asarray(pil, dtype=np.float32) / 255, 0, 1)
    return np.asarray(pil.convert("L"), dtype=np.float32) / 255


def _array_to_grey(array: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[-1] in (1, 3, 4):
        if a.shape[-1] == 1:
            a = a[..., 0]
        else:
            scale = 255 if a.dtype == np.uint8 else 1
            return _pil_to_grey(Image.fromarray(
                (np.clip(a / scale, 0, 1) * 255).astype(np.uint8)), name)
    if a.ndim != 2 or min(a.shape) < 2:
        raise ImageError(f"{name}: expected a grey (H, W) or colour (H, W, 3 or 4) image, "
                         f"got shape {a.shape}.")
    if a.size > MAX_PIXELS:
        raise ImageError(f"{name}: {a.shape} is too large (limit {MAX_PIXELS:,} pixels).")
    a = a.astype(np.float32)
    return a / 255 if array.dtype == np.uint8 or a.max() > 1 else a


def ink_map(grey: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """Ink as 1 and paper as 0, whatever the polarity, with uneven lighting and noise removed.

    A drawing on a transparent background says where its ink is: where it is opaque
    (``alpha``, when given). Otherwise the paper is what fills the border of the picture:
    if most of the border is light, the ink is dark (and the other way round). Only when the
    border's brightness really varies (a shadow, a gradient) is the paper estimated
    (:func:`paper_level`) and subtracted: strokes narrower than half the picture, however
    bold, are never taken for paper.
    """
    if alpha is not None:
        ink = np.clip(alpha.astype(np.float32), 0, 1)
    else:
        border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
        dark_ink = np.percentile(border, 75) > 0.5  # light paper, even if partly in shadow
        ink = 1 - grey if dark_ink else grey.copy()
        border_ink = 1 - border if dark_ink else border
        if np.percentile(border_ink, 95) - np.percentile(border_ink, 5) > PAPER_VARIATION:
            ink = np.clip(ink - paper_level(ink), 0, None)
        else:
            ink = np.clip(ink - np.median(border_ink), 0, None)
    if ink.max() < MIN_INK_CONTRAST:
        return np.zeros_like(ink)
    threshold = _otsu(ink)
    strong = np.percentile(ink[ink > threshold], 90) if np.any(ink > threshold) else ink.max()
    return np.clip((ink - threshold / 2) / max(strong - threshold / 2, 1e-6), 0, 1)


def paper_level(ink: np.ndarray) -> np.ndarray:
    """The paper's own darkness under uneven light (in ink units: 0 white paper), estimated
    where there is no ink: an erosion half the picture wide removes every stroke narrower than
    that, then a reconstruction by dilation (under the picture) restores the lighting's shapes,
    shadows included, up to the picture's edges."""
    window = max(3, min(ink.shape) // 2)
    return reconstruction(ndimage.grey_erosion(ink, size=(window, window)), ink, method="dilation")


def _otsu(values: np.ndarray) -> float:
    """The threshold that best splits ``values`` into two groups (Otsu's method)."""
    hist, edges = np.histogram(values, bins=64, range=(0, float(values.max()) + 1e-6))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * centres)
    total, total_mean = weight[-1], mean[-1]
    between = (total_mean * weight - mean * total) ** 2 / np.maximum(
        weight * (total - weight), 1e-12)
    return float(centres[np.argmax(between[:-1])])


def crop_to_ink(ink: np.ndarray, name: str = "<image>") -> np.ndarray:
    """The ink's bounding box, ignoring specks much smaller than the digit's strokes."""
    mask = ink > 0.3
    labels, count = ndimage.label(mask)
    if count == 0:
        raise ImageError(f"{name}: no ink found; the image looks blank.")
    sizes = ndimage.sum(mask, labels, index=range(1, count + 1))
    keep = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.05 * sizes.max()))
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    return np.where(_dilate(keep), ink, 0)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _dilate(mask: np.ndarray) -> np.ndarray:
    return ndimage.binary_dilation(mask, iterations=2)


def stroke_width(ink: np.ndarray) -> float:
    """The strokes' mean width in pixels: the ink's area over the length of its skeleton."""
    mask = ink > 0.5
    return float(mask.sum() / max(skeletonize(mask).sum(), 1))


def normalise_stroke(cropped: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Thicken strokes that would come out thinner than MNIST's after scaling to ``box``
    (and thin those that would come out bolder), to MNIST's median width: a 2-pixel pen on a
    280-pixel canvas would otherwise be a faint hairline in 28x28. A disc-shaped dilation
    (or erosion), computed with a distance transform, keeps round pens round."""
    scale = max(cropped.shape) / box  # pixels of the crop per pixel of the box
    width = stroke_width(cropped) / scale
    if THIN_STROKE <= width <= BOLD_STROKE or width == 0:
        return cropped
    radius = round(abs(MNIST_STROKE - width) * scale / 2)
    if radius == 0:
        return cropped
    if width < THIN_STROKE:  # every pixel within ``radius`` of the ink becomes ink
        padded = np.pad(cropped, radius + 1)
        to_ink = ndimage.distance_transform_edt(padded <= 0.5)
        changed = np.maximum(padded, np.clip(radius + 1 - to_ink, 0, 1))
    else:  # every ink pixel within ``radius`` of the paper becomes paper
        to_paper = ndimage.distance_transform_edt(cropped > 0.5)
        changed = np.minimum(cropped, np.clip(to_paper - radius, 0, 1))
    rows, cols = np.flatnonzero(changed.max(axis=1) > 0.05), np.flatnonzero(changed.max(axis=0) > 0.05)
    if len(rows) == 0:
        return cropped
    return changed[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # cropped to the ink again


def scale_to_box(ink: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Resize so the longer side is ``box`` pixels, keeping the aspect ratio (anti-aliased)."""
    height, width = ink.shape
    factor = box / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = Image.fromarray(ink.astype(np.float32), mode="F").resize(
        size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized), 0, 1)


def centre_by_mass(digit: np.ndarray, canvas: int = CANVAS) -> np.ndarray:
    """Place ``digit`` in a ``canvas`` square with its centre of mass at the centre."""
    out = np.zeros((canvas, canvas), dtype=np.float32)
    top, left = (canvas - digit.shape[0]) // 2, (canvas - digit.shape[1]) // 2
    out[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    cy, cx = ndimage.center_of_mass(out)
    shifted = ndimage.shift(out, ((canvas - 1) / 2 - cy, (canvas - 1) / 2 - cx), order=1,
                            mode="constant")
    return np.clip(shifted, 0, 1).astype(np.float32)


def to_mnist_steps(image, name: str | None = None) -> dict[str, np.ndarray]:
    """Every step from the picture to the MNIST-style digit: grey, ink, cropped, stroke
    (its width made MNIST's), scaled, mnist."""
    name = name or _describe(image)
    grey, alpha = load_grey_and_alpha(image, name)
    ink = ink_map(grey, alpha)
    cropped = crop_to_ink(ink, name)
    stroke = normalise_stroke(cropped)
    scaled = scale_to_box(stroke)
    return {"grey": grey, "ink": ink, "cropped": cropped, "stroke": stroke, "scaled": scaled,
            "mnist": centre_by_mass(scaled)}


def to_mnist(image, name: str | None = None) -> np.ndarray:
    """Any picture of one digit as an MNIST-style float32 (28, 28, 1) array in [0, 1]."""
    return to_mnist_steps(image, name)["mnist"][..., np.newaxis]


def naive_resize(image, name: str | None = None) -> np.ndarray:
    """What not to do: grey, resized straight to 28x28 and scaled to [0, 1], nothing else."""
    grey = load_grey(image, name)
    small = Image.fromarray(grey.astype(np.float32), mode="F").resize((CANVAS, CANVAS))
    return np.clip(np.asarray(small), 0, 1)[..., np.newaxis].astype(np.float32)
