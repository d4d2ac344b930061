"""The checks of notebook 05's exercises (data augmentation)."""
from __future__ import annotations

from helpers.checking import answers, answer_near, exercise


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


# The worked answers: `solution(key)` shows one, and `cnn-course run` and the tests
# run each checked exercise with its own (code that defines the answer).
SOLUTIONS = {
    "05.1": """\
rotation_factor = 10 / 360""",
    "05.2": """\
shift_pixels = 0.1 * 28""",
    "05.3": """\
errors_removed = 1 - (1 - 0.95) / (1 - 0.90)""",
    "05.4": """\
```python
def with_flips():
    return keras.Sequential([blocks.digit_augmentation(), keras.layers.RandomFlip("horizontal")])

xs, ys = mnist.subset(x_fit, y_fit, 2000)
recipe = dataclasses.replace(experiment_recipe(2000, True), augment=with_flips)
run = training.train(recipe, (xs, ys), verbose=False)
print(run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Expect the accuracy to fall below the run without flips: half of the training digits are
now mirror images that never occur in the test set, and some of them look like other
digits. Compare your number with the table above.""",
    "05.5": """\
```python
strong = lambda: blocks.digit_augmentation(rotation_degrees=30, shift=0.2, zoom=0.2)
```
Use it as the recipe's `augment`, and compare with the table. Expect stronger augmentation
to help less as the data grows, and possibly to hurt with all of it: the transformed digits
look less like real ones (a 6 rotated by 30° starts to resemble other digits). Your numbers
decide.""",
    "05.6": """\
```python
only = {
    "rotation": lambda: keras.layers.RandomRotation(10 / 360, fill_mode="constant"),
    "translation": lambda: keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
    "zoom": lambda: keras.layers.RandomZoom(0.1, fill_mode="constant"),
}
xs, ys = mnist.subset(x_fit, y_fit, 2000)
for name, layer in only.items():
    recipe = dataclasses.replace(experiment_recipe(2000, True), augment=layer)
    run = training.train(recipe, (xs, ys), verbose=False)
    print(name, run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Compare the three numbers with the "without" and "with" columns at 2,000 images. A
network without pooling (like `strided_cnn`) has little built-in tolerance to shifts, so
translation is the first one to suspect; your measurements decide.""",
    "05.7": """\
```python
for augment_on in (False, True):
    keras.utils.set_random_seed(0)
    recipe = dataclasses.replace(experiment_recipe(None, augment_on), epochs=10)
    run = training.train(recipe, (x_fit, y_fit), verbose=False)
    print(augment_on, run.model.evaluate(x_val, y_val, verbose=0)[1])
```
Compare the gap with the three-epoch gap in the table: your measurement answers the
question for this network.""",
}

HINTS = {
    "05.1": 'A full turn is 360 degrees; the factor is a fraction of it.',
    "05.2": "The factor is a fraction of the image's side: 0.1 of 28 pixels.",
    "05.3": 'Errors are 1 - accuracy: compare the errors after with the errors before.',
}

answers(SOLUTIONS, HINTS)
