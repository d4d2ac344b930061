"""Turn any picture of a digit into an MNIST-style input, the way MNIST itself was made.

MNIST digits are light ink on black, cropped to the ink, scaled so the longer side is 20
pixels, and placed in a 28x28 image with their centre of mass at the centre. A photo or a
canvas drawing resized straight to 28x28 looks nothing like that; ``to_mnist`` does each
step, and ``to_mnist_steps`` returns them all for display.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import reconstruction, skeletonize

from helpers.errors import ImageError
from helpers.pictures import MIN_INK_CONTRAST, describe, load_grey, load_grey_and_alpha

DIGIT_BOX = 20            # MNIST: the longer side of the digit, in pixels
CANVAS = 28               # MNIST: the image size
PAPER_VARIATION = 0.08    # a border varying more than this is uneven lighting, to be flattened
PAPER_SIDE = 256          # the paper's lighting is estimated on at most this many pixels a side
# MNIST's stroke widths in pixels of 28x28 (mnist_stroke_widths; a test measures them):
MNIST_STROKE = 2.2        # the median
THIN_STROKE = 1.6         # thinner than MNIST's thinnest tenth: thickened to MNIST_STROKE
BOLD_STROKE = 3.4         # bolder than MNIST's boldest tenth: thinned to MNIST_STROKE
WIDTH_UPSCALE = 8         # MNIST's digits are measured enlarged, as sharp as a real picture


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
        dark_ink = _dark_ink_on_light(grey, border)
        ink = 1 - grey if dark_ink else grey.copy()
        border_ink = 1 - border if dark_ink else border
        if np.percentile(border_ink, 95) - np.percentile(border_ink, 5) > PAPER_VARIATION:
            ink = np.clip(ink - paper_level(ink), 0, None)
        else:
            ink = np.clip(ink - np.median(border_ink), 0, None)
    if ink.max() < MIN_INK_CONTRAST:
        return np.zeros_like(ink)
    threshold = threshold_otsu(ink, nbins=64)
    strong = np.percentile(ink[ink > threshold], 90) if np.any(ink > threshold) else ink.max()
    return np.clip((ink - threshold / 2) / max(strong - threshold / 2, 1e-6), 0, 1)


def _dark_ink_on_light(grey: np.ndarray, border: np.ndarray) -> bool:
    """Whether the paper is light: the border is mostly paper. When a quarter or more of it
    is light and a quarter or more dark, it is either light paper partly in shadow or ink
    reaching the edge; the ink is then on the side where the picture goes furthest beyond
    the border (shadowed paper is never as dark as ink), else the border's median decides."""
    low, middle, high = np.percentile(border, [25, 50, 75])
    if (low > 0.5) == (high > 0.5):
        return middle > 0.5
    darkest, lightest = np.percentile(grey, [1, 99])
    darker_than_border, lighter_than_border = low - darkest, lightest - high
    if abs(darker_than_border - lighter_than_border) < 0.1:
        return middle > 0.5
    return darker_than_border > lighter_than_border


def paper_level(ink: np.ndarray, largest: int = PAPER_SIDE) -> np.ndarray:
    """The paper's own darkness under uneven light (in ink units: 0 white paper), estimated
    where there is no ink: an erosion half the picture wide removes every stroke narrower than
    that, then a reconstruction by dilation (under the picture) restores the lighting's shapes,
    shadows included, up to the picture's edges. Lighting varies slowly, so a large picture
    is estimated at ``largest`` pixels and the estimate enlarged back."""
    height, width = ink.shape
    scale = max(height, width) / largest
    if scale > 1:
        small = _resized(ink, max(1, round(width / scale)), max(1, round(height / scale)),
                         Image.Resampling.BOX)
        return _resized(paper_level(small, largest), width, height, Image.Resampling.BILINEAR)
    window = max(3, min(ink.shape) // 2)
    return reconstruction(ndimage.grey_erosion(ink, size=(window, window)), ink, method="dilation")


def _resized(image: np.ndarray, width: int, height: int, method) -> np.ndarray:
    """``image`` (2-D floats) resized to ``width`` x ``height`` with Pillow's ``method``."""
    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize((width, height), method))


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
    """The strokes' typical width in pixels: twice the median distance from their skeleton
    to the paper (less the pixel the skeleton stands on), the same in every direction."""
    mask = np.pad(ink > 0.5, 1)  # the picture's edge is paper
    skeleton = skeletonize(mask)
    if not skeleton.any():
        return 0.0
    return float(2 * np.median(ndimage.distance_transform_edt(mask)[skeleton]) - 1)


def mnist_stroke_widths(images: np.ndarray) -> np.ndarray:
    """:func:`stroke_width` of MNIST-style digits (uint8, 28x28), each measured enlarged
    ``WIDTH_UPSCALE`` times, in pixels of 28x28."""
    size = (CANVAS * WIDTH_UPSCALE,) * 2
    return np.array([stroke_width(np.asarray(Image.fromarray((image / 255).astype(np.float32), mode="F")
                                             .resize(size, Image.Resampling.BILINEAR))) / WIDTH_UPSCALE
                     for image in images])


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
        to_paper = ndimage.distance_transform_edt(np.pad(cropped > 0.5, 1))[1:-1, 1:-1]
        changed = np.minimum(cropped, np.clip(to_paper - radius, 0, 1))
    rows, cols = np.flatnonzero(changed.max(axis=1) > 0.05), np.flatnonzero(changed.max(axis=0) > 0.05)
    if len(rows) == 0:
        return cropped
    return changed[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # cropped to the ink again


def scale_to_box(ink: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Resize so the longer side is ``box`` pixels, keeping the aspect ratio (anti-aliased)."""
    height, width = ink.shape
    factor = box / max(height, width)
    resized = _resized(ink, max(1, round(width * factor)), max(1, round(height * factor)),
                       Image.Resampling.LANCZOS)
    return np.clip(resized, 0, 1)


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
    name = name or describe(image)
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
