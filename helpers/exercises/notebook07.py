"""The checks of notebook 07's exercises (architectures)."""
from __future__ import annotations

from helpers.checking import answers, answer_near, exercise


@exercise("07.1", "depthwise then pointwise: 9·C_in + C_in·C_out.")
def _separable_parameters(answer):
    return answer_near(answer, 9 * 32 + 32 * 96, rel=0, wrong={
        9 * 32 * 96: "that is an ordinary 3x3 convolution.",
        9 * 96 + 32 * 96: "the depthwise part filters each *input* channel once.",
    })


@exercise("07.2", "global average pooling leaves one number per channel for the dense layer.")
def _gap_head(answer):
    return answer_near(answer, 64 * 10 + 10, rel=0, wrong={
        640: "each of the 10 outputs also has a bias.",
        3 * 3 * 64 * 10 + 10: "after global average pooling there is one number per channel.",
    })


@exercise("07.3", "for Adam the rate grows with the square root of the batch ratio.")
def _scaled_learning_rate(answer):
    return answer_near(answer, 1e-3 * (256 / 32) ** 0.5, wrong={
        1e-3: "with 8x larger batches there are 8x fewer steps: the rate must grow.",
        1e-3 * 256 / 32: "that is the linear rule, which comes from SGD with a warm-up; for "
                         "Adam multiply by the square root of the batch ratio.",
    })


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "07.1": """\
separable_parameters = 3 * 3 * 32 + 32 * 96   # depthwise: one 3x3 filter per input channel; pointwise: 1x1""",
    "07.2": """\
gap_head_parameters = 64 * 10 + 10""",
    "07.3": """\
scaled_rate = 0.001 * (256 / 32) ** 0.5""",
    "07.4": """\
```python
L = keras.layers
def deeper_resnet():
    inputs = keras.Input((28, 28, 1))
    x = L.ReLU()(blocks.batch_norm()(L.Conv2D(16, 3, padding="same", use_bias=False)(inputs)))
    for filters, strides in [(16, 1), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1)]:
        x = architectures.residual_block(x, filters, strides)
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
    "07.5": """\
```python
for name in ("article", "depthwise separable"):
    run = training.train(dataclasses.replace(recipe, build=builders[name]), (x_rest, y_rest),
                         epochs=6, verbose=False)
    print(name, run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Both improve with more training; compare the gap with the table above to see whether
the smaller network was only slower to learn, or less able.""",
    "07.6": """\
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
    "07.2": '64 inputs, 10 outputs, and one bias per output.',
    "07.3": 'The batch ratio is 256 / 32; multiply the rate by its square root.',
}

answers(SOLUTIONS, HINTS)
