"""The checks of notebook 07's exercises (architectures)."""
from __future__ import annotations

from helpers.checking import answer_near, exercise


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
