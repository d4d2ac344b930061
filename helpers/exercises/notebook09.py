"""The checks of notebook 09's exercises (scaling up)."""
from __future__ import annotations

from helpers.checking import answer_near, exercise


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
