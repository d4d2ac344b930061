"""The course's own layers and the layer stacks its networks share.

``FusedBatchNorm`` is Keras' ``BatchNormalization`` computed by TensorFlow's fused kernel
while training. Saved models hold plain ``BatchNormalization`` layers instead
(:func:`with_keras_batch_norm`), so they load with Keras alone, anywhere.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

BN_MOMENTUM = 0.9  # running statistics that keep up with short trainings (Keras: 0.99)


@keras.saving.register_keras_serializable(package="cnn_course")
class FusedBatchNorm(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` over the last axis, trained with TensorFlow's
    fused kernel: one pass over the data instead of several small operations.

    Same weights and the same outputs as Keras' layer, in training (batch statistics) and
    in inference (running averages). One difference: the running variance is updated
    with the unbiased batch variance (larger by n/(n-1), n the values per channel in a
    batch: 1.0001 after a convolution, 1.008 after a dense layer at batch 128). Speed:
    ``benchmark.batch_norm_speed`` measures it against Keras' layer (``cnn-course bench``
    and notebook 07 report it; the saving varies with the machine's load).
    """

    def __init__(self, momentum: float = BN_MOMENTUM, epsilon: float = 1e-3, **kwargs):
        kwargs.pop("axis", None)
        super().__init__(axis=-1, momentum=momentum, epsilon=epsilon, **kwargs)

    def call(self, inputs, training=None, mask=None):
        if mask is not None or not (self.center and self.scale) or self.renorm:
            return super().call(inputs, training=training, mask=mask)
        images = inputs if len(inputs.shape) == 4 else tf.reshape(inputs, (-1, 1, 1, inputs.shape[-1]))
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                images, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)[:3]
            for average, value in ((self.moving_mean, mean), (self.moving_variance, variance)):
                average.assign(self.momentum * average + (1 - self.momentum) * value)
        else:
            y = tf.compat.v1.nn.fused_batch_norm(
                images, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                epsilon=self.epsilon, is_training=False)[0]
        return y if len(inputs.shape) == 4 else tf.reshape(y, tf.shape(inputs))


def batch_norm() -> keras.Layer:
    """Batch normalisation whose running statistics follow the weights within ~10 steps.

    Prediction uses running averages of each channel's mean and variance. With Keras'
    default momentum (0.99) they lag hundreds of steps behind the weights, and a model
    trained for a few epochs can predict worse than it trained (notebook 07's exercise 6).
    """
    return FusedBatchNorm(momentum=BN_MOMENTUM)


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


def with_keras_batch_norm(model: keras.Model) -> keras.Model:
    """``model`` itself when it has no ``FusedBatchNorm``; otherwise a copy in which each one
    is a ``keras.layers.BatchNormalization`` holding the same weights (and the same compile
    settings), so that its saved file needs nothing but Keras."""
    if not any(isinstance(layer, FusedBatchNorm) for layer in leaf_layers(model)):
        return model

    def clone(layer):
        kind = layers.BatchNormalization if isinstance(layer, FusedBatchNorm) else type(layer)
        return kind.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    if model.compiled:
        copy.compile_from_config(model.get_compile_config())
    return copy
