"""The layer stacks the course's networks share: batch normalisation with the momentum the
course teaches, convolution-BN-ReLU, and digit augmentation. All of them are Keras' own
layers, so a saved model loads with Keras alone, anywhere."""
from __future__ import annotations

import keras
from keras import layers

BN_MOMENTUM = 0.9  # running statistics that keep up with short trainings (Keras: 0.99)


def batch_norm() -> keras.Layer:
    """Batch normalisation whose running statistics follow the weights within ~10 steps.

    Prediction uses running averages of each channel's mean and variance. With Keras'
    default momentum (0.99) they lag hundreds of steps behind the weights, and a model
    trained for a few epochs can predict worse than it trained (notebook 07's exercise 7).
    """
    return layers.BatchNormalization(momentum=BN_MOMENTUM)


def conv_bn_relu(filters: int, kernel: int, strides: int = 1, padding: str = "valid") -> list:
    """Convolution (no bias: batch norm adds its own), batch normalisation, ReLU."""
    return [
        layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False),
        batch_norm(),
        layers.ReLU(),
    ]


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


def leaf_layers(model: keras.Model):
    """Every layer of ``model``, looking inside the networks nested in it."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer
