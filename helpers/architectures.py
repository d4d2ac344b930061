"""The course's networks that more than one place uses: the beginner article's CNN, its
strided, wider and batch-normalised versions, an ensemble that averages networks, and
their arithmetic per image. Notebook 07 builds the other architectures it compares in the
open."""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from helpers.blocks import batch_norm, conv_bn_relu, leaf_layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def article_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES,
                output_dtype: str | None = None) -> keras.Model:
    """The beginner article's CNN: three 3x3 convolutions, two poolings, a 64-unit dense layer.
    ``output_dtype="float32"`` keeps the last layer in float32 under a mixed-precision policy."""
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
            layers.Dense(num_classes, activation="softmax", dtype=output_dtype),
        ],
        name="article_cnn",
    )


def strided_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """A cheap CNN for fast training: stride-2 convolutions halve the image instead of
    pooling (28 -> 14 -> 7 -> 4), with batch normalisation on the first two."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *conv_bn_relu(16, 5, strides=2, padding="same"),
            *conv_bn_relu(32, 3, strides=2, padding="same"),
            layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="strided_cnn",
    )


def wide_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES,
             kernel_size: int = 3) -> keras.Model:
    """The article's layout, wider, with batch normalisation and dropout: for best accuracy.
    ``kernel_size`` sets the first two convolutions' window (3x3, or 5x5 for a wider view).
    The first convolution has no batch normalisation: on its large output (32 maps of 24x24
    or 26x26) it took a large share of each step, and training without it reached the same
    validation accuracy in less time (measured in the README, beside the record)."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size, activation="relu"),
            layers.MaxPooling2D(2),
            *conv_bn_relu(64, kernel_size),
            layers.MaxPooling2D(2),
            *conv_bn_relu(128, 3),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, use_bias=False),
            batch_norm(),
            layers.ReLU(),
            layers.Dropout(0.3),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name=f"wide_cnn_{kernel_size}x{kernel_size}",
    )


# --------------------------------------------------------------------------- batch norm
# The article's CNN with batch norm: notebook 07's second network and its "training faster" steps.


def batchnorm_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """The article's CNN with batch normalisation after every convolution."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *conv_bn_relu(32, 3),
            layers.MaxPooling2D(2),
            *conv_bn_relu(64, 3),
            layers.MaxPooling2D(2),
            *conv_bn_relu(64, 3),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="batchnorm_cnn",
    )


def average_of(members: list[keras.Model], name: str = "ensemble") -> keras.Model:
    """One model whose prediction is the average of the members' predicted probabilities."""
    inputs = keras.Input(shape=members[0].input_shape[1:])
    outputs = layers.Average()([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)


def flops_per_image(model: keras.Model) -> int:
    """Forward-pass FLOPs for one image (a multiply-add counts as 2), from the layer shapes.

    Counts convolutions (plain, depthwise and separable) and dense layers, which are nearly
    all of a CNN's arithmetic.
    """
    total = 0
    for layer in leaf_layers(model):
        if isinstance(layer, layers.SeparableConv2D):
            out_h, out_w, out_c = layer.output.shape[1:]
            in_c = layer.input.shape[-1]
            depthwise = int(np.prod(layer.kernel_size)) * in_c * layer.depth_multiplier
            total += 2 * out_h * out_w * (depthwise + in_c * layer.depth_multiplier * out_c)
        elif isinstance(layer, layers.DepthwiseConv2D):
            k = int(np.prod(layer.kernel_size))
            total += 2 * k * int(np.prod(layer.output.shape[1:]))
        elif isinstance(layer, (layers.Conv2D, layers.Dense)):
            kernel = layer.kernel.shape  # (..., in, out): each output uses prod(kernel[:-1]) MACs
            outputs = int(np.prod(layer.output.shape[1:]))
            total += 2 * int(np.prod(kernel[:-1])) * outputs
    return total
