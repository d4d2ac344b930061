"""The checks of notebook 06's exercises (transfer learning)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answers, answer_near, exercise


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
    if answer:
        return "in inference mode batch norm uses the moving statistics stored in training, " \
               "so one image's features do not depend on the others in its batch."
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "06.1": """\
head_parameters = 128 * 10 + 10""",
    "06.2": """\
demo_base.trainable = True
never_trained = sum(int(np.prod(w.shape)) for w in demo.non_trainable_weights)  # batch norm's statistics""",
    "06.3": """\
depends_on_batch = False""",
    "06.4": """\
```python
x_few, y_few = mnist.subset(x_pool, y_pool, 50, seed=1)
for fine_lr in (1e-3, 1e-2):
    _, accuracy = frozen_then_fine_tuned(x_few, y_few, fine_lr=fine_lr,
                                         evaluate_on=(x_target_val, y_target_val))
    print(f"fine-tuning at {fine_lr}: validation accuracy {accuracy:.2%}")
```
Keep the rate with the higher validation accuracy. Large steps on 50 images can move the
pre-trained features towards those few examples: expect the network to overfit them and
forget part of what made the features general, and check whether your numbers agree.""",
    "06.5": """\
Rerun the pre-training cell with `x_source, y_source = mnist.subset(x_source, y_source, 2000)`,
then the budget loop with `BUDGETS = [10]`, and compare with the table. Expect the
frozen-features accuracy to drop, since weaker features transfer less; whether they still
beat training from scratch, your numbers say.""",
    "06.6": """\
```python
x_few, y_few = mnist.subset(x_pool, y_pool, 250, seed=1)
frozen, fine_tuned = frozen_then_fine_tuned(1 - x_few, y_few,
                                            evaluate_on=(1 - x_target_test, y_target_test))
print(f"inverted digits: frozen features {frozen:.2%}, fine-tuned {fine_tuned:.2%}")
```
Compare with the table's row for 50 per class. Dark strokes on white trigger different
filters than white strokes on black, so expect the frozen features to fit the new inputs
less well, and fine-tuning to matter more.""",
}

HINTS = {
    "06.1": 'A Dense layer has one weight per input and output, plus one bias per output.',
    "06.2": 'Look at `demo.non_trainable_weights` once the base is trainable: what is left there is never trained by the optimizer.',
    "06.3": "With `training=False`, batch normalisation uses its stored averages, not the batch's statistics.",
}

answers(SOLUTIONS, HINTS)
