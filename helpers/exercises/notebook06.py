"""The checks of notebook 06's exercises (transfer learning)."""
from __future__ import annotations

import numpy as np

from helpers.checking import answer_near, exercise


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
