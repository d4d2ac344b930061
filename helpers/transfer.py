"""Transfer learning: a feature extractor to reuse, a new head on it, freezing and
unfreezing, and MobileNetV2 pre-trained on ImageNet for photos."""
from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf
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


def classifier_on(base: keras.Model, num_classes: int, dropout: float = 0.2,
                  preprocess: keras.Layer | None = None) -> keras.Model:
    """A new softmax head on ``base``. The base is called with ``training=False``: its
    batch-norm layers keep the statistics learned in pre-training, even once unfrozen."""
    inputs = keras.Input(shape=base.input_shape[1:])
    x = preprocess(inputs) if preprocess is not None else inputs
    x = base(x, training=False)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=f"{base.name}_classifier")


def unfreeze_top(base: keras.Model, n_layers: int) -> int:
    """Make the last ``n_layers`` of ``base`` trainable (all of them when 0) and keep the rest
    frozen; returns how many weight tensors are now trainable. Recompile afterwards."""
    base.trainable = True
    for layer in base.layers[:-n_layers] if n_layers else []:
        layer.trainable = False
    return len(base.trainable_weights)


def head_then_fine_tune(model: keras.Model, base: keras.Model, train_data, val_data=None,
                        head_epochs: int = 5, fine_epochs: int = 5, unfreeze_layers: int = 0,
                        head_lr: float = 1e-3, fine_lr: float = 1e-4,
                        batch_size: int = 32) -> tuple[dict, dict]:
    """Transfer learning in two phases: train only the new head on the frozen ``base``, then
    unfreeze the base's last ``unfreeze_layers`` (all when 0) and continue at a low learning
    rate. Data: ``(x, y)`` arrays or ``tf.data`` datasets. Returns both phases' histories."""

    def fit(epochs, learning_rate):
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        if isinstance(train_data, tf.data.Dataset):
            return model.fit(train_data, validation_data=val_data, epochs=epochs,
                             shuffle=False, verbose=0).history  # the dataset shuffles itself
        x, y = train_data
        return model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=val_data,
                         verbose=0).history

    base.trainable = False
    head_history = fit(head_epochs, head_lr)
    unfreeze_top(base, unfreeze_layers)
    fine_history = fit(fine_epochs, fine_lr) if fine_epochs else {}
    return head_history, fine_history


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
