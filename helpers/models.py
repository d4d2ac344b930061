"""Model builders, from the article's CNN onwards, and what it costs to run them."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from helpers.errors import ModelError
from helpers.session import keras

layers = keras.layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def article_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """The beginner article's CNN: three 3x3 convolutions, two poolings, a 64-unit dense layer."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="article_cnn",
    )


def _conv_bn_relu(filters: int, kernel: int, strides: int = 1, padding: str = "valid"):
    """Convolution (no bias: batch norm adds its own), batch normalisation, ReLU."""
    return [
        layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
    ]


def strided_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """A cheap CNN for fast training: stride-2 convolutions halve the image instead of
    pooling (28 -> 14 -> 7 -> 4), with batch normalisation on the first two."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(16, 5, strides=2, padding="same"),
            *_conv_bn_relu(32, 3, strides=2, padding="same"),
            layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="strided_cnn",
    )


def wide_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """The article's layout, wider, with batch normalisation and dropout: for best accuracy."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(32, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(64, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(128, 3),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(0.3),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="wide_cnn",
    )


def digit_augmentation(rotation_degrees: float = 10, shift: float = 0.1, zoom: float = 0.1):
    """Random small rotations, shifts and zooms: new but still valid digits. No flips: a
    mirrored 2 or 7 is not a digit."""
    return keras.Sequential(
        [
            layers.RandomRotation(rotation_degrees / 360, fill_mode="constant"),
            layers.RandomTranslation(shift, shift, fill_mode="constant"),
            layers.RandomZoom(zoom, fill_mode="constant"),
        ],
        name="digit_augmentation",
    )


def conv_layers(model: keras.Model) -> list:
    """The model's Conv2D layers, in order."""
    return [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]


def feature_extractor(model: keras.Model, layer_list=None) -> keras.Model:
    """A model that maps an input to the outputs of ``layer_list`` (default: every Conv2D)."""
    chosen = layer_list if layer_list is not None else conv_layers(model)
    return keras.Model(inputs=model.inputs[0], outputs=[layer.output for layer in chosen])


def flops_per_image(model: keras.Model) -> int:
    """Forward-pass FLOPs for one image (a multiply-add counts as 2), from the layer shapes.

    Counts convolutions and dense layers, which are nearly all of a CNN's arithmetic.
    """
    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, layers.DepthwiseConv2D):
            k = int(np.prod(layer.kernel_size))
            total += 2 * k * int(np.prod(layer.output.shape[1:]))
        elif isinstance(layer, (layers.Conv2D, layers.Dense)):
            kernel = layer.kernel.shape  # (..., in, out): each output uses prod(kernel[:-1]) MACs
            outputs = int(np.prod(layer.output.shape[1:]))
            total += 2 * int(np.prod(kernel[:-1])) * outputs
    return total


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def save_model(model: keras.Model, path: str | Path) -> Path:
    """Save in Keras' ``.keras`` format, atomically: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def load_model(path: str | Path) -> keras.Model:
    """Load a ``.keras`` model in Keras' safe mode; a clear ModelError when that fails."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"{path}: no model here. Train one with `cnn-course train` or run notebook 03."
        )
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelError(
            f"{path}: not a valid Keras model ({type(exc).__name__}: {first_line[:200]})."
        ) from None
