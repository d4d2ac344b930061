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


def _small_base():
    from helpers.transfer import conv_base

    return conv_base()


def _weights_of(layers) -> set[int]:
    return {id(w) for layer in layers for w in layer.weights}


@exercise("06.3", "the base is frozen and only the new head trains.")
def _frozen_base_new_head(answer):
    import keras

    base = _small_base()
    model = answer(base, 3)
    if not isinstance(model, keras.Model):
        return "return the model (keras.Sequential or keras.Model) with the base and the head."
    if tuple(model.output_shape[1:]) != (3,):
        return (f"its output is shaped {model.output_shape[1:]}; the head ends with "
                "Dense(num_classes, ...).")
    base_weights = _weights_of([base])
    trainable = {id(w) for w in model.trainable_weights}
    if trainable & base_weights:
        return "the base's weights would train: freeze it with base.trainable = False."
    if not trainable:
        return "nothing would train: the head must stay trainable (freeze the base only)."
    if not {id(w) for w in model.weights} & base_weights:
        return "the model does not use the base it was given: call the base, then the head."
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    probabilities = np.asarray(model(x, training=False))
    if not np.allclose(probabilities.sum(axis=1), 1, atol=1e-4):
        return 'its outputs are not probabilities: the last Dense layer needs activation="softmax".'
    before = [w.numpy().copy() for w in base.weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.train_on_batch(x, np.arange(8) % 3)
    if not all(np.array_equal(b, w.numpy()) for b, w in zip(before, base.weights)):
        return "a training step changed the base: freeze it with base.trainable = False."
    return None


@exercise("06.4", "the top layers train; the rest, and every batch-norm layer, stay frozen.")
def _unfreeze_top(answer):
    import keras

    base = _small_base()
    base.trainable = False
    answer(base, 4)
    norms = [l for l in base.layers if isinstance(l, keras.layers.BatchNormalization)]
    expected = _weights_of(l for l in base.layers[-4:] if l not in norms)
    trainable = {id(w) for w in base.trainable_weights}
    if not trainable:
        return ("nothing trains: set base.trainable = True first, then freeze the layers below "
                "the top k (a layer inside a frozen model stays frozen).")
    if trainable & _weights_of(norms):
        return ("a batch-norm layer trains: keep every BatchNormalization layer frozen, so it "
                "runs in inference mode with the statistics of pre-training.")
    if trainable - expected:
        return "layers below the top k train too: freeze base.layers[:-k]."
    if expected - trainable:
        return "some of the top k layers stay frozen: of those, only batch norm should."
    return None


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "06.1": """\
head_parameters = 128 * 10 + 10""",
    "06.2": """\
demo_base.trainable = True
never_trained = sum(int(np.prod(w.shape)) for w in demo.non_trainable_weights)  # batch norm's statistics""",
    "06.3": '''\
def classifier_on(base, num_classes):
    """``base``, frozen, with a new softmax head for ``num_classes`` classes."""
    base.trainable = False
    return keras.Sequential([base, keras.layers.Dense(num_classes, activation="softmax")])''',
    "06.4": '''\
def unfreeze_top(base, k):
    """Make the last ``k`` layers of ``base`` trainable, except batch norm."""
    base.trainable = True
    for layer in base.layers[:-k]:
        layer.trainable = False
    for layer in base.layers[-k:]:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False''',
    "06.5": """\
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
    "06.6": """\
Rerun the pre-training cell with `x_source, y_source = mnist.subset(x_source, y_source, 2000)`,
then the budget loop with `BUDGETS = [10]`, and compare with the table. Expect the
frozen-features accuracy to drop, since weaker features transfer less; whether they still
beat training from scratch, your numbers say.""",
    "06.7": """\
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
    "06.3": 'Two steps from the section on three ways to learn: step 1 of `frozen_then_fine_tuned`, and a head like the one `new_head_on` or `with_head` puts on a base.',
    "06.4": 'Start from `unfreeze_but_batch_norm`: after it, what must change for the layers below the top k (`base.layers[:-k]`)? Mind the order: a layer inside a frozen model stays frozen.',
}

answers(SOLUTIONS, HINTS)
