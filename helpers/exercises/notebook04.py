"""The checks of notebook 04's exercises (evaluate and inspect)."""
from __future__ import annotations

import warnings

import numpy as np

from helpers.checking import answers, answer_near, exercise, same_array


@exercise("04.1", "precision divides by the column (everything predicted as the class).")
def _precision(answer):
    from sklearn import metrics

    rng = np.random.default_rng(4)
    truth = rng.integers(0, 4, size=200)
    predicted = np.where(rng.random(200) < 0.7, truth, rng.integers(0, 4, size=200))
    matrix = metrics.confusion_matrix(truth, predicted)
    expected = metrics.precision_score(truth, predicted, average=None)
    theirs = answer(matrix.copy())
    if np.ndim(theirs) == 0 and theirs is not None:
        return "that is one number; return one precision per class, an array."
    if theirs is not None and np.allclose(theirs, np.diag(matrix) // matrix.sum(axis=0)):
        return "that is integer division (//), which rounds down to 0; divide with /."
    recall = metrics.recall_score(truth, predicted, average=None)
    if theirs is not None and np.shape(theirs) == recall.shape and np.allclose(theirs, recall):
        return "that is recall (divided by each row, the true members of the class); " \
               "precision divides by the column, everything predicted as the class."
    return same_array(theirs, expected, "your precision on a 4-class confusion matrix", atol=1e-6)


@exercise("04.2", "a softmax probability near 1 has a gradient near 0: saliency uses scores.")
def _probability_gradient(answer):
    # the unsure case first: there the typical mistakes give values far from p(1 - p)
    for scores, k in ((np.array([1.0, 0.5, -0.5], np.float32), 1),
                      (np.log(np.array([0.999, 0.0005, 0.0005], np.float32)), 0)):  # 99.9% sure
        p = float(np.exp(scores[k]) / np.exp(scores).sum())
        try:
            theirs = answer(scores, k)
        except TypeError as exc:
            if "NoneType" not in str(exc):
                raise
            theirs = None
        except ValueError as exc:
            if "ndarray" not in str(exc):
                raise
            return "the tape watches tensors: convert the scores first, `tf.constant(scores)`."
        if theirs is None:
            return ("the tape gave no gradient (None): it records a constant only when told, "
                    "`tape.watch(scores)`, and only what is computed inside the `with` block.")
        if np.size(theirs) == len(scores):
            return "that is the gradient with respect to every score; return element k."
        problem = answer_near(np.asarray(theirs).item(), p * (1 - p), rel=1e-3, wrong={
            1.0: "that is the score's own derivative; take the gradient of the probability, "
                 "softmax(scores)[k].",
            1 - p: "that is the gradient of the log-probability; take the probability's own.",
            p: "that is the probability itself; return its gradient.",
            0.0: "that is the gradient of all the probabilities together (their sum is always "
                 "1): pick softmax(scores)[k] before taking the gradient.",
        } if k == 1 else None)
        if problem:
            return f"for scores {np.round(scores, 3).tolist()} and k={k}: {problem}"
    return None


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


@exercise("04.4", "keras.Model(model.inputs[0], layer.output) reuses the trained layers up to any one.")
def _outputs_of(answer):
    import keras

    L = keras.layers
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"),
                              L.MaxPooling2D(2), L.Conv2D(6, 3, activation="relu"), L.Flatten(),
                              L.Dense(3, activation="softmax")])
    x = rng.random((2, 12, 12, 1), dtype=np.float32)
    model(x)                         # called once, as a trained model has been
    layer = model.layers[2]          # the second convolution: (3, 3, 6)
    part = answer(model, layer)
    if not isinstance(part, keras.Model):
        return "return a model: keras.Model(inputs, outputs)."
    try:
        with warnings.catch_warnings():  # keras.Model(model.inputs, ...) wants a list: fine here
            warnings.simplefilter("ignore")
            out = np.asarray(part(x))
    except Exception:
        return "the model should take the same input as `model` (model.inputs[0]), not the layer's own."
    expected = np.asarray(x)
    for step in model.layers[:3]:
        expected = np.asarray(step(expected))
    if out.shape == x.shape[:1] + tuple(model.layers[2].input.shape[1:]):
        return "that is the layer's input: end the model at layer.output."
    if out.shape != expected.shape:
        return (f"its output is shaped {out.shape[1:]}, the layer's {expected.shape[1:]}: end "
                "the model at layer.output, not at the model's output.")
    if not np.allclose(out, expected, atol=1e-5):
        return "its output differs from the layer's: build it from the model's own layers."
    return None


@exercise("04.5", "Grad-CAM: each map weighted by its mean gradient, summed, negatives cut.")
def _grad_cam(answer):
    rng = np.random.default_rng(1)
    maps = rng.random((2, 3, 4, 5)).astype(np.float32)
    gradients = (rng.normal(size=(2, 3, 4, 5)) + [2, -2, 1, -1, 0]).astype(np.float32)
    weights = gradients.mean(axis=(1, 2), keepdims=True)
    weighted = (weights * maps).sum(axis=-1)
    out = answer(maps, gradients)
    if out is None:
        return "grad_cam_of returned None: end it with `return` and the maps."
    out = np.asarray(out, dtype=np.float64)
    if out.shape != (2, 3, 4):
        return f"it returns shape {out.shape}; one map per image, (images, height, width): (2, 3, 4)."
    if np.allclose(out, np.maximum(weighted, 0), atol=1e-5):
        return None
    if np.allclose(out, weighted, atol=1e-5):
        return "keep only the positive part: apply a ReLU (np.maximum(..., 0)) after the sum."
    if np.allclose(out, np.maximum((gradients * maps).sum(axis=-1), 0), atol=1e-5):
        return ("each map's weight is its gradient averaged over the positions (axes 1 and 2), "
                "one number per channel, not the gradient at each position.")
    if np.allclose(out, np.maximum(weighted, 0) / 5, atol=1e-5):
        return "add the weighted maps over the channels (sum), rather than averaging them."
    if np.allclose(out, np.maximum(weights * maps, 0).sum(axis=-1), atol=1e-5):
        return "apply the ReLU once, after adding the weighted maps, not to each of them."
    peak = np.maximum(weighted, 0).max(axis=(1, 2), keepdims=True)
    if np.allclose(out, np.maximum(weighted, 0) / peak, atol=1e-5):
        return "leave the scaling to a peak of 1 to the plotting: return the maps before it."
    return same_array(out, np.maximum(weighted, 0), "grad_cam_of(maps, gradients)", atol=1e-5)


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "04.1": """\
def precision_per_class(matrix):
    return np.diag(matrix) / matrix.sum(axis=0)   # right predictions / everything predicted as the class""",
    "04.2": """\
def probability_gradient(scores, k):
    scores = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(scores)                        # a constant is recorded only when watched
        probability = tf.nn.softmax(scores)[k]
    return float(tape.gradient(probability, scores)[k])""",
    "04.3": """\
second_pool_shape = (5, 5, 64)   # 28 -conv-> 26 -pool-> 13 -conv-> 11 -pool-> 5, 64 filters""",
    "04.4": """\
def outputs_of(model, layer):
    \"\"\"A model from ``model``'s input to ``layer``'s output.\"\"\"
    return keras.Model(model.inputs[0], layer.output)""",
    "04.5": """\
def grad_cam_of(maps, gradients):
    \"\"\"ReLU of the maps weighted by their mean gradients, summed over channels.\"\"\"
    weights = gradients.mean(axis=(1, 2), keepdims=True)   # one per image and channel
    return np.maximum((weights * maps).sum(axis=-1), 0)""",
    "04.6": """\
```python
wrong = np.flatnonzero((y_test == true_digit) & (predicted == predicted_digit))[:12]
right = np.flatnonzero((y_test == true_digit) & (predicted == true_digit))[:12]
plots.show_images(x_test[wrong], cols=12, suptitle="wrong")
plots.show_images(x_test[right], cols=12, suptitle="right")
```
The wrong ones usually have the stroke that separates the two digits missing or faint.""",
    "04.7": """\
```python
confidence = probabilities.max(axis=1)
for low, high in [(0, .5), (.5, .9), (.9, .99), (.99, 1.01)]:
    group = (confidence >= low) & (confidence < high)
    if group.any():
        print(f"{low:.0%}-{min(high, 1):.0%}: {group.sum():5d} images, "
              f"accuracy {np.mean(predicted[group] == y_test[group]):.1%}")
```
If the accuracy of each group lies inside its confidence range, the model is calibrated;
if it lies below, the model is over-confident there.""",
    "04.8": """\
```python
i = examples[0]
image, label = x_test_in[i], y_test[i]
batch = []
for top in range(0, 23, 2):
    for left in range(0, 23, 2):
        covered = image.copy()
        covered[top:top + 6, left:left + 6] = 0.5
        batch.append(covered)
p = model.predict(np.stack(batch), verbose=0)[:, label].reshape(12, 12)
plt.imshow(p, cmap="viridis"); plt.colorbar(label=f"p({label})")
```
Put it beside the saliency and Grad-CAM maps of the same digit: occlusion measures what
hiding a region does to the probability, saliency what a tiny change of one pixel does
to the score, and Grad-CAM which regions of the last feature maps raise it. Where do they
agree?""",
}

HINTS = {
    "04.1": "The diagonal holds each class's right predictions; a column holds everything predicted as that class. NumPy gives you both for all classes at once, without a loop.",
    "04.2": 'Follow the saliency cell: the tape records only what happens inside its `with` block, and a constant only when you watch it. Compute the probability of class k there, then ask the tape for its gradient with respect to the scores, and keep element k.',
    "04.4": 'The feature-map cell builds the same kind of model for every convolution at once; here the output is one layer\'s.',
    "04.5": 'Steps 3 and 4 of the Grad-CAM cell, with NumPy in place of tf: `mean` and `sum` take `axis=` (and `keepdims=True` keeps a weight per channel that multiplies the maps), and `np.maximum(x, 0)` is a ReLU.',
    "04.3": "Follow a 28x28 image: a 3x3 convolution without padding takes 2 pixels off, a 2x2 pooling halves (rounding down); the channels are the last convolution's filters.",
}

answers(SOLUTIONS, HINTS)
