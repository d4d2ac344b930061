"""Checked exercises: ``check(key, answer)`` says at once whether an answer is right, and if
not, what is wrong; ``cnn-course learners-copy`` (:mod:`helpers.learners`) writes the
notebooks without their solutions.

In a notebook, a checked exercise is one code cell::

    parameters_5x5 = ...          # your answer
    ### BEGIN SOLUTION
    parameters_5x5 = ...          # the solution (removed from the learners' copy)
    ### END SOLUTION
    check("02.2", parameters_5x5)

The learners' copy keeps the first line and the ``check`` call, and drops the solution
block and every ``<details><summary>Solution</summary>`` answer in the text. Every check
records its verdict for the run report, so the test suite knows each solution passes.
"""
from __future__ import annotations

import math

import numpy as np

from helpers.checking import EXERCISES, answer_near, probe_images, same_array, check, exercise, verdict

__all__ = ["EXERCISES", "check", "example_ink", "verdict"]

# --------------------------------------------------------------------------- 01 data


@exercise("01.1", "scaled images take four bytes per pixel, float32.")
def _float32_bytes(answer, x_train):
    return answer_near(answer, x_train.size * 4, rel=0, wrong={
        x_train.nbytes: "that is the uint8 size; float32 takes 4 bytes per pixel.",
        x_train.size * 8: "that is float64; the course scales to float32 (4 bytes).",
    })


@exercise("01.2", "the majority-class baseline is what any classifier must beat.")
def _majority_baseline(answer, y_train, y_test):
    guess = np.bincount(y_train, minlength=10).argmax()
    return answer_near(answer, float(np.mean(y_test == guess)), rel=1e-6, wrong={
        float(np.mean(y_train == guess)): "that is the share in the training set; measure "
                                          "the guess on the test set.",
        0.1: "0.1 is a uniform random guess; always guess the most common training digit.",
    })


@exercise("01.3", "your scale() gives float32 values in [0, 1], as the model expects.")
def _scale_function(answer):
    images = probe_images()
    out = np.asarray(answer(images))
    if out.dtype != np.float32:
        return f"the result is {out.dtype}; convert to float32 (half the memory of float64)."
    return same_array(out, images.astype(np.float32) / 255, "scale(x)")


# --------------------------------------------------------------------------- 02 blocks


@exercise("02.1", "average pooling is a mean where max pooling takes the largest value.")
def _average_pool(answer):
    import keras

    x = np.random.default_rng(1).random((6, 7, 3)).astype(np.float32)
    for size in (2, 3):
        theirs = keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(size)(x[None]))[0]
        problem = same_array(answer(x, size), theirs, f"average_pool(x, size={size}) on a 6x7x3 input")
        if problem:
            return problem
    return None


@exercise("02.2", "only the first layer's parameters change; the flattened size stays 576.")
def _parameters_5x5(answer):
    return answer_near(answer, 93_834, rel=0, wrong={
        93_802: "each of the 32 filters also has a bias.",
        93_322: "that is the 3x3 model; the first layer's kernels grow to 5x5.",
    })


@exercise("02.3", "each 3x3 convolution after pooling adds more than 2 pixels of view.")
def _receptive_field_5x5(answer):
    return answer_near(answer, 20, rel=0, wrong={
        18: "that is the 3x3 model's receptive field; the first kernel is now 5x5.",
        11: "a layer after pooling steps 2 (then 4) input pixels per output pixel: multiply "
            "its k - 1 by the jump.",
    })


@exercise("02.4", "inverted dropout scales the kept values by 1 / (1 - rate) in training.")
def _dropout_scale(answer):
    return answer_near(answer, 1 / (1 - 0.75), wrong={
        0.75: "0.75 is the share that is dropped; the kept values are scaled up, so that the "
              "layer's average output stays the same.",
        0.25: "0.25 is the share that is kept; the kept values are divided by it.",
        2.0: "that is the factor for a rate of 0.5; this layer drops 75%.",
        1.0: "that is inference time; in training the kept values are scaled up.",
    })


# --------------------------------------------------------------------------- 03 training


@exercise("03.1", "the last, smaller batch is still a step.")
def _updates_per_epoch(answer, images, batch_size):
    return answer_near(answer, math.ceil(images / batch_size), rel=0, wrong={
        images // batch_size: "the last batch is smaller but still updates the weights: round up.",
    })


@exercise("03.2", "cross-entropy is -ln(probability of the right digit).")
def _cross_entropy(answer):
    return answer_near(answer, -math.log(0.25), wrong={
        -math.log10(0.25): "that is log base 10; Keras uses the natural logarithm.",
        0.25: "that is the probability itself; the loss is its negative logarithm.",
        0.75: "that is 1 - p; the loss is -ln(p).",
    })


@exercise("03.3", "your cosine schedule matches keras.optimizers.schedules.CosineDecay.")
def _cosine_learning_rate(answer):
    import keras

    for total in (1000, 400):
        schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=total)
        steps = [0, total // 10, total // 4, total // 2, 3 * total // 4, total]
        theirs = np.array([float(schedule(s)) for s in steps])
        problem = same_array([answer(s, total) for s in steps], theirs,
                              f"cosine_learning_rate(step, {total}) at steps 0-{total}", atol=1e-8)
        if problem:
            return problem
    return None


# --------------------------------------------------------------------------- 04 evaluation

EXAMPLE_CONFUSION = np.array([[50, 2, 0], [5, 40, 5], [0, 3, 45]])  # rows: true class


@exercise("04.1", "precision divides by the column (everything predicted as the class).")
def _precision(answer):
    column = EXAMPLE_CONFUSION[:, 1]
    return answer_near(answer, column[1] / column.sum(), wrong={
        40 / 50: "that is recall (divided by the row, the true 1s); precision divides by the "
                 "column, everything predicted as 1.",
    })


@exercise("04.2", "a softmax probability near 1 has a gradient near 0: saliency uses logits.")
def _softmax_gradient(answer):
    p = 0.999
    return answer_near(answer, p * (1 - p), rel=1e-2, wrong={
        p: "that is the probability itself; its derivative with respect to its own score is "
           "p(1 - p).",
        1.0: "the derivative of the score itself is 1; the probability's is p(1 - p).",
    })


@exercise("04.3", "a 3x3 valid convolution takes 2 pixels, pooling halves (rounding down).")
def _feature_map_shape(answer):
    expected = (5, 5, 64)
    shape = tuple(answer)
    if shape and shape[0] is None:  # a Keras shape, with its batch axis
        shape = shape[1:]
    if shape == expected:
        return None
    if shape == (11, 11, 64):
        return "that is the second convolution's output; the pooling after it halves it."
    return f"{answer} is not it: follow 28 through conv, pool, conv, pool (the channels " \
           "are the second convolution's filters)."


# --------------------------------------------------------------------------- 05 augmentation


@exercise("05.1", "Keras' RandomRotation takes a fraction of a full turn.")
def _rotation_factor(answer):
    return answer_near(answer, 10 / 360, wrong={
        10: "RandomRotation's factor is a fraction of a full circle (360°), not degrees.",
        0.1: "that is 36°; the factor is a fraction of a full circle.",
    })


@exercise("05.2", "a translation factor is a fraction of the image's height or width.")
def _shift_pixels(answer):
    return answer_near(answer, 2.8, wrong={0.1: "the factor is a fraction of 28 pixels: convert it."})


@exercise("05.3", "'errors removed' compares error rates, not accuracies.")
def _errors_removed(answer):
    return answer_near(answer, 0.5, wrong={
        0.05: "that is the gain in accuracy; the errors went from 10% to 5%.",
        0.0526: "that is the gain relative to the accuracy; compare the error rates.",
    })


# --------------------------------------------------------------------------- 06 transfer


@exercise("06.1", "a head from 128 features to 10 classes learns 128 x 10 weights and 10 biases.")
def _head_parameters(answer):
    return answer_near(answer, 1290, rel=0, wrong={
        1280: "each of the 10 outputs also has a bias.",
        645: "that is the 5-class head of the notebook; this one has 10 classes.",
    })


@exercise("06.2", "batch norm's moving mean and variance are never trained, only updated.")
def _never_trained(answer, model):
    statistics = sum(int(np.prod(w.shape)) for w in model.weights if "moving" in w.path)
    trainable_when_unfrozen = model.count_params() - statistics
    return answer_near(answer, statistics, rel=0, wrong={
        0: "batch norm's moving mean and variance are weights too, updated but never trained.",
        trainable_when_unfrozen: "that is what trains; the question asks for what never does.",
        model.count_params() - 645: "that counts the frozen base; unfreeze it first "
                                    "(demo_base.trainable = True).",
    })


@exercise("06.3", "with training=False, batch norm uses its stored statistics, not the batch's.")
def _inference_batch_norm(answer):
    if not isinstance(answer, (bool, np.bool_)):
        return "answer True or False."
    if not answer:
        return None
    if answer:
        return "in inference mode batch norm uses the moving statistics stored in training, " \
               "so one image's features do not depend on the others in its batch."


# --------------------------------------------------------------------------- 07 architectures


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


@exercise("07.3", "the linear scaling rule grows the learning rate with the batch.")
def _scaled_learning_rate(answer):
    return answer_near(answer, 1e-3 * 256 / 32, wrong={
        1e-3: "with 8x larger batches there are 8x fewer steps: scale the rate with the batch.",
        1e-3 * 8 ** 0.5: "that is the square-root rule; the linear rule multiplies by the batch ratio.",
    })


# --------------------------------------------------------------------------- 08 your digits


@exercise("08.1", "the longer side decides the scale, so the digit fits the 20-pixel box.")
def _box_scale(answer):
    return answer_near(answer, 20 / 200, wrong={
        20 / 100: "with that scale the 200-pixel side becomes 40 pixels: the longer side decides.",
    })


@exercise("08.2", "the centre of mass weighs every pixel by its ink.")
def _centre_of_mass(answer):
    ink = example_ink()
    rows, cols = np.indices(ink.shape)
    expected = np.array([(rows * ink).sum(), (cols * ink).sum()]) / ink.sum()
    problem = same_array(np.asarray(answer, dtype=float), expected, "(row, column)", atol=1e-6)
    if problem and np.allclose(np.asarray(answer, dtype=float), expected[::-1], atol=1e-6):
        return "you have (column, row); give (row, column)."
    return problem


def example_ink() -> np.ndarray:
    """The small ink image of exercise 08.2."""
    ink = np.zeros((6, 8))
    ink[1:3, 1:3] = 1.0
    ink[3:5, 5:7] = 3.0
    return ink


@exercise("08.3", "a dark digit on light paper becomes MNIST's light digit on black.")
def _invert(answer):
    x = np.random.default_rng(2).random((5, 5)).astype(np.float32)
    return same_array(answer(x), 1 - x, "invert(x) on values in [0, 1]")


# --------------------------------------------------------------------------- 09 scaling up


def _pair(answer, expected: tuple, names: tuple, wrong: tuple) -> str | None:
    """A pair of numbers, each checked with ``answer_near`` and its typical mistakes."""
    try:
        first, second = (float(value) for value in answer)
    except (TypeError, ValueError):
        return f"give two numbers in parentheses: ({names[0]}, {names[1]})."
    if all(answer_near(v, e) is None for v, e in zip((second, first), expected)):
        return f"the two are swapped: give ({names[0]}, {names[1]})."
    for value, right, name, mistakes in zip((first, second), expected, names, wrong):
        problem = answer_near(value, right, wrong=mistakes)
        if problem:
            return f"{name}: {problem}"
    return None


@exercise("09.1", "4 GPUs at 32 each make batches of 128, and the rate grows by the same 4.")
def _four_gpus(answer):
    return _pair(answer, (128, 0.004), ("the global batch", "the learning rate"), (
        {32: "each GPU keeps 32: the global batch is all of them together."},
        {0.001: "4x larger batches make 4x fewer steps: scale the rate by 4.",
         0.002: "the batch grew 4x, so the linear rule multiplies the rate by 4."}))


@exercise("09.2", "each replica divides by the global batch, so their sum is the global mean.")
def _global_average(answer):
    return _pair(answer, (12.8 / 64, 32 / 64), ("replica 0's loss", "the reduced loss"), (
        {12.8 / 32: "replica 0 divides by the global batch (64), not its own 32 images.",
         12.8: "that is the sum; compute_average_loss divides it by the global batch."},
        {32 / 32: "each part was divided by the global batch: their sum is the mean over 64.",
         32 / 128: "reduce with SUM adds the two parts; it does not average them.",
         32: "that is the sum of all 64 losses; each replica's part was divided by 64 first."}))


@exercise("09.3", "16-bit activations take half the bytes of float32's.")
def _bfloat16_bytes(answer):
    values = 128 * 26 * 26 * 32
    return answer_near(answer, values * 2, rel=0, wrong={
        values * 4: "that is float32; bfloat16 takes 2 bytes per value.",
        values: "that is the number of values; each takes 2 bytes.",
        values * 16: "that counts bits; a byte is 8 bits.",
        values * 2 / 1024: "that is in KiB; give bytes.",
        26 * 26 * 32 * 2: "that is one image; the batch has 128.",
    })
