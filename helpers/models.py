"""Model builders, from the article's CNN onwards, and what it costs to run them."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from helpers.errors import ModelError
from helpers.session import filtered_stderr, keras, tf

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


BN_MOMENTUM = 0.9  # running statistics that keep up with short trainings (Keras: 0.99)


@keras.saving.register_keras_serializable(package="cnn_course")
class FusedBatchNorm(layers.Layer):
    """Batch normalisation over the last axis, computed by TensorFlow's fused kernel.

    Same weights and behaviour as ``keras.layers.BatchNormalization`` (batch statistics
    while training, running averages when predicting or frozen), but one pass over the data
    instead of several small operations: on a CPU a small CNN with it trains 1.2-1.5x faster.
    """

    def __init__(self, momentum: float = BN_MOMENTUM, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum, self.epsilon = momentum, epsilon

    def build(self, input_shape):
        channels = (input_shape[-1],)
        self.gamma = self.add_weight(shape=channels, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=channels, initializer="zeros",
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=channels, initializer="ones",
                                               trainable=False, name="moving_variance")

    def call(self, x, training=False):
        images = x if len(x.shape) == 4 else tf.reshape(x, (-1, 1, 1, x.shape[-1]))
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                images, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)[:3]
            for average, value in ((self.moving_mean, mean), (self.moving_variance, variance)):
                average.assign(self.momentum * average + (1 - self.momentum) * value)
        else:
            y = tf.compat.v1.nn.fused_batch_norm(
                images, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                epsilon=self.epsilon, is_training=False)[0]
        return y if len(x.shape) == 4 else tf.reshape(y, tf.shape(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


def batch_norm() -> keras.Layer:
    """Batch normalisation whose running statistics follow the weights within ~10 steps.

    Prediction uses running averages of each channel's mean and variance. With Keras'
    default momentum (0.99) they lag hundreds of steps behind the weights, and a model
    trained for a few epochs predicts far worse than it trained.
    """
    return FusedBatchNorm(momentum=BN_MOMENTUM)


def _conv_bn_relu(filters: int, kernel: int, strides: int = 1, padding: str = "valid"):
    """Convolution (no bias: batch norm adds its own), batch normalisation, ReLU."""
    return [
        layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False),
        batch_norm(),
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


def wide_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES,
             kernel_size: int = 3) -> keras.Model:
    """The article's layout, wider, with batch normalisation and dropout: for best accuracy.
    ``kernel_size`` sets the first two convolutions' window (3x3, or 5x5 for a wider view)."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(32, kernel_size),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(64, kernel_size),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(128, 3),
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


# --------------------------------------------------------------------------- architectures
# Notebook 07 compares these with the article's CNN. Each is small enough to train on a CPU.


def batchnorm_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """The article's CNN with batch normalisation after every convolution."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(32, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(64, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(64, 3),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="batchnorm_cnn",
    )


def gap_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """Batch-normalised convolutions, then global average pooling instead of flatten + dense:
    each of the last feature maps is averaged to one number."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(32, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(64, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(128, 3),
            layers.GlobalAveragePooling2D(),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="gap_cnn",
    )


def residual_block(x, filters: int, strides: int = 1):
    """Two 3x3 convolutions whose output is added to the block's input (the shortcut);
    a 1x1 convolution reshapes the shortcut when the size or width changes."""
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    y = batch_norm()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = batch_norm()(y)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(shortcut)
        shortcut = batch_norm()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def small_resnet(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """A small ResNet: a stem, three residual blocks (28 -> 14 -> 7), global average pooling."""
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(batch_norm()(x))
    x = residual_block(x, 16)
    x = residual_block(x, 32, strides=2)
    x = residual_block(x, 64, strides=2)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="small_resnet")


def inception_module(x, filters: int):
    """Four parallel branches (1x1, 3x3, 5x5 convolutions and pooling), concatenated: the
    network chooses which scale of pattern matters. 1x1 convolutions keep it cheap."""
    branch1 = layers.Conv2D(filters, 1, padding="same", activation="relu")(x)
    branch3 = layers.Conv2D(filters // 2, 1, padding="same", activation="relu")(x)
    branch3 = layers.Conv2D(filters, 3, padding="same", activation="relu")(branch3)
    branch5 = layers.Conv2D(filters // 4, 1, padding="same", activation="relu")(x)
    branch5 = layers.Conv2D(filters // 2, 5, padding="same", activation="relu")(branch5)
    pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    pool = layers.Conv2D(filters // 2, 1, padding="same", activation="relu")(pool)
    return layers.Concatenate()([branch1, branch3, branch5, pool])


def small_inception(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """A stem convolution, two inception modules with pooling between, global average pooling."""
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, 3, activation="relu")(inputs)           # 26x26
    x = layers.MaxPooling2D(2)(x)                                  # 13x13
    x = inception_module(x, 32)
    x = layers.MaxPooling2D(2)(x)                                  # 6x6
    x = inception_module(x, 64)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="small_inception")


def separable_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """The MobileNet idea: each 3x3 convolution split into a per-channel (depthwise) 3x3 and a
    1x1 (pointwise) convolution that mixes channels: far fewer parameters and operations."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(32, 3),
            layers.MaxPooling2D(2),
            layers.SeparableConv2D(64, 3, use_bias=False),
            batch_norm(),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.SeparableConv2D(128, 3, use_bias=False),
            batch_norm(),
            layers.ReLU(),
            layers.GlobalAveragePooling2D(),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="separable_cnn",
    )


def average_of(members: list[keras.Model], name: str = "ensemble") -> keras.Model:
    """One model whose prediction is the average of the members' predicted probabilities."""
    inputs = keras.Input(shape=members[0].input_shape[1:])
    outputs = layers.Average()([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------- transfer learning


def conv_base(input_shape=INPUT_SHAPE) -> keras.Model:
    """Batch-normalised convolutions ending in global average pooling: a feature extractor
    that a new classification head can sit on."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(32, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(64, 3),
            layers.MaxPooling2D(2),
            *_conv_bn_relu(128, 3),
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


def mobilenet_preprocessing() -> keras.Layer:
    """Pixel values 0-255 to the [-1, 1] range MobileNetV2 was trained on."""
    return layers.Rescaling(1 / 127.5, offset=-1)


ARCHITECTURES = {
    "article": article_cnn,
    "batch norm": batchnorm_cnn,
    "global avg pool": gap_cnn,
    "small ResNet": small_resnet,
    "inception-style": small_inception,
    "depthwise separable": separable_cnn,
}


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


# --------------------------------------------------------------------------- TensorFlow Lite


def to_tflite(model: keras.Model) -> bytes:
    """The model converted to TensorFlow Lite, the format for phones and small devices."""
    import contextlib
    import io

    import logging

    # The converter prints and logs what it does with a temporary SavedModel: nothing to act on.
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), filtered_stderr():
            return tf.lite.TFLiteConverter.from_keras_model(model).convert()
    finally:
        tf_logger.setLevel(level)


class TFLiteClassifier:
    """Runs a TensorFlow Lite model with the LiteRT interpreter (TensorFlow's own where
    LiteRT is not installed)."""

    def __init__(self, content: bytes):
        import warnings

        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            Interpreter = tf.lite.Interpreter
        with warnings.catch_warnings(), filtered_stderr():
            warnings.simplefilter("ignore", UserWarning)  # tf.lite's notice to use LiteRT
            self.interpreter = Interpreter(model_content=content)
            self.interpreter.allocate_tensors()
            details = self.interpreter.get_input_details()[0]
            self._input = details["index"]
            self._output = self.interpreter.get_output_details()[0]["index"]
            self(np.zeros(details["shape"][1:], np.float32))  # the first call sets up kernels

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities for one image shaped like the model's input, without batch axis."""
        self.interpreter.set_tensor(self._input, np.asarray(image, np.float32)[np.newaxis])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output)[0]
