"""Reading any picture (a path, bytes, a PIL image or an array, of any format, mode and size)
as a grey float array, with its transparency: the first step of ``preprocessing.to_mnist``;
or, for a network trained on colour photos, as a small colour square (:func:`load_photo`).

Large pictures are reduced as they are read (JPEGs decoded at a fraction of their size, then
any picture shrunk with a box filter) before any float work; 16-bit pictures are scaled by
their bit depth; an animated picture is read from its first frame with ink.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from helpers import report
from helpers.errors import ImageError

MAX_PIXELS = 40_000_000   # refuse larger images before decoding them (decompression bombs)
MAX_SIDE = 1024           # larger images are reduced to this (longer side) as they are read
MAX_FILE_BYTES = 256 * 1024 ** 2  # the largest file read as a picture (a 40-megapixel TIFF: 120 MB)
MIN_INK_CONTRAST = 0.15   # ink must differ from the paper by this much (of full range) at least


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
    name = name or describe(image)
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


def load_photo(image, size=(32, 32), name: str | None = None) -> np.ndarray:
    """Any picture as a colour network's input: its largest centred square, shrunk to
    ``size``, as RGB values 0-255 in a float32 (H, W, 3) array. Grey, palette and 16-bit
    pictures become RGB; transparent parts are laid on white."""
    name = name or describe(image)
    if isinstance(image, np.ndarray):
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[-1] in (3, 4) or array.ndim == 2:
            scale = 1 if array.dtype == np.uint8 or array.max() > 1 else 255
            image = Image.fromarray(np.clip(array * scale, 0, 255).astype(np.uint8))
        else:
            raise ImageError(f"{name}: expected a grey (H, W) or colour (H, W, 3 or 4) image, "
                             f"got shape {array.shape}.")
    pil = _open(image, name)
    if pil.mode == "F":
        pil = Image.fromarray(np.clip(np.asarray(pil), 0, 255).astype(np.uint8))
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        rgba = pil.convert("RGBA")
        pil = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    try:
        rgb = pil.convert("RGB")
    except (ValueError, OSError):
        raise ImageError(f"{name}: its colours are in {pil.mode} mode, which cannot be turned "
                         "into RGB; save it as an RGB PNG or JPEG.") from None
    return np.asarray(ImageOps.fit(rgb, size, Image.Resampling.LANCZOS), np.float32)


KERAS_IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what Keras' folder reader reads


def check_class_folders(folder: str | Path) -> dict[str, int]:
    """Before ``keras.utils.image_dataset_from_directory`` reads ``folder`` (one subfolder
    per class): the number of photos in each class. An ``ImageError`` names every photo that
    cannot be read and every class folder with no photo (Keras would fail deep inside
    TensorFlow on the first, and make a class no photo teaches of the second); files Keras
    skips (other formats, notes) are said in one line."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"{folder}: no such folder; give a folder with one subfolder per class.")
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ImageError(f"{folder}: no class folders in it; put each class's photos in a "
                         "subfolder named after the class.")
    counts, damaged, skipped = {}, [], []
    for class_folder in classes:
        files = sorted(p for p in class_folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        photos = [p for p in files if p.suffix.lower() in KERAS_IMAGE_SUFFIXES]
        skipped += [p for p in files if p.suffix.lower() not in KERAS_IMAGE_SUFFIXES]
        for photo in photos:
            try:
                with Image.open(photo) as image:
                    image.load()
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
                damaged.append(photo)
        counts[class_folder.name] = len(photos)
    empty = [name for name, count in counts.items() if count == 0]
    problems = []
    if damaged:
        shown = ", ".join(str(p.relative_to(folder)) for p in damaged[:5])
        problems.append(f"{len(damaged)} photo(s) cannot be read ({shown}"
                        f"{', ...' if len(damaged) > 5 else ''}): delete or re-save them")
    if empty:
        problems.append(f"class folder(s) with no photo: {', '.join(empty)}: add photos or "
                        "remove the folder")
    if problems:
        raise ImageError(f"{folder}: " + "; ".join(problems) + ".")
    if skipped:
        kinds = sorted({p.suffix.lower() or p.name for p in skipped})
        report.announce(f"{folder}: {len(skipped)} file(s) Keras does not read are skipped "
                        f"({', '.join(kinds)}); convert photos among them to JPEG or PNG.")
    return counts


def _if_varies(alpha: np.ndarray | None) -> np.ndarray | None:
    return alpha if alpha is not None and np.ptp(alpha) >= MIN_INK_CONTRAST else None


def describe(image) -> str:
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
            if not path.exists():
                raise ImageError(f"{name}: no such file.")
            if not path.is_file():
                raise ImageError(f"{name}: not a regular file (a device, a pipe or a socket); "
                                 "give an image file.")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ImageError(f"{name}: {path.stat().st_size:,} bytes, more than any picture "
                                 f"the course reads ({MAX_FILE_BYTES:,}); scale it down first.")
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
    return pil.convert("RGBA") if pil.mode == "P" else pil


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
    try:
        return np.asarray(pil.convert("L"), dtype=np.float32) / 255
    except (ValueError, OSError):  # colour spaces Pillow cannot turn into grey (LAB, HSV)
        raise ImageError(f"{name}: its colours are in {pil.mode} mode, which cannot be turned "
                         "into grey; save it as an RGB or greyscale PNG or JPEG.") from None


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
