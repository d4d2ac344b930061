"""The checks of notebook 07's exercises (architectures)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answers, answer_near, exercise


@exercise("07.1", "depthwise then pointwise: 9·C_in + C_in·C_out.")
def _separable_parameters(answer):
    return answer_near(answer, 9 * 32 + 32 * 96, rel=0, wrong={
        9 * 32 * 96: "that is an ordinary 3x3 convolution.",
        9 * 96 + 32 * 96: "the depthwise part filters each *input* channel once.",
    })


@exercise("07.2", "for Adam the rate grows with the square root of the batch ratio.")
def _adam_for_batch(answer):
    import keras

    for batch_size in (32, 256, 100):
        optimizer = answer(batch_size)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            return (f"adam_for_batch({batch_size}) returned {type(optimizer).__name__}; return "
                    "the optimizer itself, keras.optimizers.Adam(learning_rate=...).")
        if not isinstance(optimizer, keras.optimizers.Adam):
            return f"that is {type(optimizer).__name__}; the rule here is Adam's: return an Adam."
        rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        ratio = batch_size / 32
        problem = answer_near(rate, 1e-3 * ratio ** 0.5, wrong={
            1e-3: f"batch {batch_size} makes {ratio:g}x fewer steps than batch 32: the rate must grow.",
            1e-3 * ratio: "that is the linear rule, which comes from SGD with a warm-up; for "
                          "Adam multiply by the square root of the batch ratio.",
            1e-3 / ratio ** 0.5: "larger batches make fewer steps, so the rate grows with "
                                 "them: multiply by the square root of batch_size / 32.",
        })
        if problem:
            return f"adam_for_batch({batch_size}): {problem}"
    return None


@exercise("07.3", "a bottleneck block: 1x1 down, 3x3, 1x1 up, and the input added back.")
def _bottleneck_block(answer):
    import keras

    inputs = keras.Input((8, 8, 32))
    outputs = answer(inputs, 32)
    if outputs is None:
        return "your function returned None: end it with `return` and the block's output."
    block = keras.Model(inputs, outputs)
    if tuple(block.output_shape[1:]) != (8, 8, 32):
        return (f"the block's output is shaped {block.output_shape[1:]}; with padding=\"same\" "
                "and a last 1x1 convolution back to `filters` it keeps (8, 8, 32).")
    from helpers.blocks import leaf_layers

    convs = [l for l in leaf_layers(block) if isinstance(l, keras.layers.Conv2D)]
    shapes = [(tuple(c.kernel_size), c.filters) for c in convs]
    if shapes != [((1, 1), 8), ((3, 3), 8), ((1, 1), 32)]:
        return (f"its convolutions are {[f'{k[0]}x{k[1]} to {f}' for k, f in shapes]}; the block "
                "has 1x1 to filters // 4, 3x3 to filters // 4, then 1x1 back to filters.")
    for conv in convs:  # with the convolutions silenced, only the shortcut is left
        conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 32)).astype(np.float32)
    out = np.asarray(block(x, training=False))
    if np.allclose(out, 0, atol=1e-6):
        return "without its convolutions the block outputs zeros: add the block's input to the " \
               "convolutions' output (keras.layers.Add()([x, y])) before the last ReLU."
    if np.allclose(out, x, atol=1e-3):
        return "the shortcut is there; apply a ReLU after the addition, as the block ends."
    if not np.allclose(out, np.maximum(x, 0), atol=1e-3):
        return "the shortcut should carry the input unchanged: add the input itself, then apply ReLU."
    return None


@exercise("07.4", "global average pooling then one Dense layer: 650 parameters for 64 maps.")
def _gap_head_model(answer):
    import keras

    inputs = keras.Input((3, 3, 64))
    outputs = answer(inputs)
    if outputs is None:
        return "your function returned None: end it with `return` and the head's output."
    head = keras.Model(inputs, outputs)
    if tuple(head.output_shape[1:]) != (10,):
        return f"the head gives {head.output_shape[1:]}; end with a Dense layer of 10 units."
    if head.count_params() == 3 * 3 * 64 * 10 + 10:
        return "that flattens the maps (5,770 parameters); average each map to one number first."
    if head.count_params() != 650:
        return f"it has {head.count_params():,} parameters; one Dense(10) on 64 averages has 650."
    probabilities = np.asarray(head(np.random.default_rng(0).random((4, 3, 3, 64), dtype=np.float32)))
    if not np.allclose(probabilities.sum(axis=1), 1, atol=1e-4):
        return "its outputs are not probabilities: the Dense layer needs activation=\"softmax\"."
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "07.3": """\
def bottleneck_block(x, filters):
    y = keras.layers.Conv2D(filters // 4, 1, use_bias=False)(x)
    y = keras.layers.ReLU()(keras.layers.BatchNormalization()(y))
    y = keras.layers.Conv2D(filters // 4, 3, padding="same", use_bias=False)(y)
    y = keras.layers.ReLU()(keras.layers.BatchNormalization()(y))
    y = keras.layers.Conv2D(filters, 1, use_bias=False)(y)
    y = keras.layers.BatchNormalization()(y)
    return keras.layers.ReLU()(keras.layers.Add()([x, y]))""",
    "07.4": """\
def gap_head(x):
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.layers.Dense(10, activation="softmax")(x)""",
    "07.1": """\
separable_parameters = 3 * 3 * 32 + 32 * 96   # depthwise: one 3x3 filter per input channel; pointwise: 1x1""",
    "07.2": """\
def adam_for_batch(batch_size):
    return keras.optimizers.Adam(learning_rate=0.001 * (batch_size / 32) ** 0.5)""",
    "07.5": """\
```python
L = keras.layers
def deeper_resnet():
    inputs = keras.Input((28, 28, 1))
    x = L.ReLU()(blocks.batch_norm()(L.Conv2D(16, 3, padding="same", use_bias=False)(inputs)))
    for filters, strides in [(16, 1), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1)]:
        x = residual_block(x, filters, strides)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(10, activation="softmax")(x))

run = training.train(dataclasses.replace(recipe, build=deeper_resnet), (x_fit, y_fit),
                     epochs=EPOCHS, verbose=False)
print(deeper_resnet().count_params(), run.seconds_per_epoch,
      run.model.evaluate(x_val, y_val, verbose=0)[1])
```
The parameters and the seconds per epoch grow with the extra blocks (count them: each
block adds two 3x3 convolutions). Compare the accuracy with the table: on digits, extra
depth has little left to find.""",
    "07.6": """\
```python
for name in ("article", "depthwise separable"):
    run = training.train(dataclasses.replace(recipe, build=builders[name]), (x_rest, y_rest),
                         epochs=6, verbose=False)
    print(name, run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Both improve with more training; compare the gap with the table above to see whether
the smaller network was only slower to learn, or less able.""",
    "07.7": """\
```python
L = keras.layers
def default_momentum():
    def block(filters):
        return [L.Conv2D(filters, 3, use_bias=False), L.BatchNormalization(), L.ReLU()]
    return keras.Sequential([keras.Input((28, 28, 1)), *block(32), L.MaxPooling2D(2),
                             *block(64), L.MaxPooling2D(2), *block(64), L.Flatten(),
                             L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])

run = training.train(dataclasses.replace(recipe, build=default_momentum), (x_fit, y_fit),
                     epochs=EPOCHS, verbose=False)
print(run.history["accuracy"][-1], run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Compare the two numbers, and both with the table's batch-norm row. A validation accuracy
well below the training accuracy means the running averages used at prediction time have
not caught up with the weights. The table's training has a few hundred steps with the
learning rate annealed to zero, enough for them to catch up partly: to see the lag
clearly, train for one epoch at batch 512 (under a hundred steps) with
`train_one_epoch(default_momentum, 512, one_cycle)` and compare with the `+ one-cycle
schedule` row.""",
}

HINTS = {
    "07.1": 'Depthwise: one 3x3 filter per input channel. Pointwise: a 1x1 convolution from 32 to 96 channels.',
    "07.2": 'The batch ratio is batch_size / 32, and the rate grows with its square root; `train_one_epoch` shows how an Adam optimizer is made with a given rate.',
    "07.3": 'Start from `residual_block` in the section on residual connections: the same shape of code (keep `x` aside, compute `y`, add, ReLU), with three convolutions whose kernel sizes and widths the question gives.',
    "07.4": 'One Keras layer averages each feature map to a single number (the section on global average pooling names it); one Dense layer with a softmax does the rest.',
}

answers(SOLUTIONS, HINTS)
