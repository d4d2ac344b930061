"""Transfer learning's building parts: a feature extractor to reuse, and MobileNetV2
pre-trained on ImageNet for photos. Notebook 06 writes the new head, the freezing and the
fine-tuning itself."""
from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from helpers.architectures import INPUT_SHAPE
from helpers.blocks import conv_bn_relu
from helpers.errors import ModelError


def conv_base(input_shape=INPUT_SHAPE) -> keras.Model:
    """Batch-normalised convolutions ending in global average pooling: a feature extractor
    that a new classification head can sit on."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *conv_bn_relu(32, 3),
            layers.MaxPooling2D(2),
            *conv_bn_relu(64, 3),
            layers.MaxPooling2D(2),
            *conv_bn_relu(128, 3),
            layers.GlobalAveragePooling2D(),
        ],
        name="conv_base",
    )


def mobilenet_base(input_shape=(160, 160, 3), weights: str | Path | None = None) -> keras.Model:
    """MobileNetV2 without its ImageNet classifier, pooled to one vector per image, frozen.
    ``weights``: a path to the ImageNet weights file, or None for random weights."""
    base = keras.applications.MobileNetV2(input_shape=input_shape, include_top=False,
                                          weights=None, pooling="avg")
    if weights is not None:
        try:
            base.load_weights(str(weights))
        except Exception as exc:  # wrong or damaged file
            raise ModelError(f"{weights}: not MobileNetV2 ImageNet weights "
                             f"({type(exc).__name__}). Fetch them again.") from None
    base.trainable = False
    return base


def check_mobilenet_weights(path: str | Path) -> Path:
    """Load ``path`` into MobileNetV2 to prove it is the right file; a damaged one is
    deleted (so a later fetch replaces it) and reported as a ModelError."""
    try:
        mobilenet_base(weights=path)
    except ModelError:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path)


def mobilenet_preprocessing() -> keras.Layer:
    """Pixel values 0-255 to the [-1, 1] range MobileNetV2 was trained on."""
    return layers.Rescaling(1 / 127.5, offset=-1)
