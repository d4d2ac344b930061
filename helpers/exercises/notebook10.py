"""The checks of notebook 10's exercises (cats, dogs and birds)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from helpers.checking import augments_in_training_only, answer_near, answers, exercise


def _photos(count=8):
    """Made-up colour photos, bytes 0-255: a bright blob left of centre on a gradient."""
    rows, cols = np.mgrid[0:32, 0:32]
    image = np.stack([rows * 6, cols * 6, 255 - rows * 4], axis=-1).astype(np.float32)
    image[8:20, 4:14] = 250.0
    return np.repeat(image[None], count, axis=0)


@exercise("10.1", "flipped left to right, a little turned, a little contrast: still a photo of the same animal.")
def _photo_augmentation(answer):
    import keras

    from helpers.blocks import leaf_layers

    augment = answer()
    if not isinstance(augment, keras.layers.Layer):
        return "return a Keras layer (a keras.Sequential of random layers), not a function or list."
    leaves = list(leaf_layers(augment)) if isinstance(augment, keras.Sequential) else [augment]
    flips = [layer for layer in leaves if isinstance(layer, keras.layers.RandomFlip)]
    if not flips:
        return "add a horizontal flip: a cat facing left is still a cat."
    if any(layer.mode != "horizontal" for layer in flips):
        return ("flip left to right only (RandomFlip(\"horizontal\")): upside-down cats are "
                "rare in photos, so vertical flips teach the network about photos it will not see.")
    rotations = [layer for layer in leaves if isinstance(layer, keras.layers.RandomRotation)]
    if not rotations:
        return "add a small rotation, RandomRotation."
    if any(max(abs(f) for f in np.ravel(layer.factor)) > 10.1 / 360 for layer in rotations):
        return "rotate by 10° at most; RandomRotation's factor is a fraction of a full turn."
    if not any(isinstance(layer, keras.layers.RandomContrast) for layer in leaves):
        return "add RandomContrast(0.2): photos differ in contrast too."
    return augments_in_training_only(augment, _photos(), "photos")


@exercise("10.2", "training stops when validation stops improving, and the best epoch is kept.")
def _best_epoch_callbacks(answer):
    import keras

    with tempfile.TemporaryDirectory() as scratch:
        path = str(Path(scratch) / "best.keras")
        callbacks = answer(path)
        if not isinstance(callbacks, (list, tuple)):
            return "return a list of the two callbacks, as fit's callbacks= takes it."
        stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
        keeping = [c for c in callbacks if isinstance(c, keras.callbacks.ModelCheckpoint)]
        if len(stopping) != 1 or len(keeping) != 1:
            return "return one EarlyStopping and one ModelCheckpoint."
        stop, keep = stopping[0], keeping[0]
        for callback, name in ((stop, "EarlyStopping"), (keep, "ModelCheckpoint")):
            if not callback.monitor.startswith("val_"):
                return (f"{name} watches {callback.monitor!r}, measured on the training photos; "
                        "watch the validation accuracy, 'val_accuracy'.")
        if not stop.restore_best_weights:
            return ("without restore_best_weights=True, EarlyStopping stops but keeps the "
                    "weights of the last epoch, not the best.")
        if not keep.save_best_only:
            return "with save_best_only=True, ModelCheckpoint keeps the best epoch, not the last."
        if keep.filepath != path:
            return "save to the path the function is given."
        rng = np.random.default_rng(0)
        x, y = rng.random((64, 4), dtype=np.float32), rng.integers(0, 2, 64)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, callbacks=list(callbacks))
        if not Path(path).is_file():
            return "after a training, no model was saved at the path."
    return None


@exercise("10.3", "cells, then blocks of 2x2 cells one cell apart, 9 directions per cell.")
def _hog_length(answer):
    return answer_near(answer, 3 * 3 * 2 * 2 * 9, rel=0, wrong={
        4 * 4 * 9: "that counts each cell once; the 2x2-cell blocks step by one cell, so they "
                   "overlap, and a cell counts once in every block it is in.",
        7 * 7 * 2 * 2 * 9: "that is the notebook's 4x4-pixel cells; these are 8x8.",
    })


SOLUTIONS = {
    "10.1": """\
def my_photo_augmentation():
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(10 / 360),
        keras.layers.RandomContrast(0.2),
    ])""",
    "10.2": """\
def best_epoch_callbacks(path):
    return [
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=10,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True),
    ]""",
    "10.3": """\
# 32 / 8 = 4 cells a side; 2x2-cell blocks stepping one cell: 3 x 3 blocks of 4 cells,
# each cell 9 directions
hog_numbers = 3 * 3 * (2 * 2) * 9""",
    "10.4": """\
```python
def with_vertical_flips():
    return keras.Sequential([photo_augmentation(), keras.layers.RandomFlip("vertical")])

keras.utils.set_random_seed(0)
flipped = article_network(augmentation=with_vertical_flips(), dropout=0.5)
flipped.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = flipped.fit(x_small, y_small, epochs=SMALL_EPOCHS, batch_size=32,
                      validation_data=(x_val, y_val), verbose=0).history
print(f"validation accuracy, last epoch: {history['val_accuracy'][-1]:.1%} against "
      f"{small_augmented_val_accuracy:.1%} without vertical flips")
```
Compare the two on the validation set, and look at a few augmented copies: half of them are
upside down, a view of a cat the validation and test photos almost never show. An
augmentation pays when it makes training photos that look like the photos to come; one
that does not spends the network's capacity on views it will not meet. Expect it to help
less than the horizontal flip, or to cost accuracy; with a single run each, a difference of
a point or two is within the noise of the training (try a second seed before you conclude).""",
    "10.5": """\
```python
for C in (0.001, 0.01, 0.1, 1.0):
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))
    print(f"C = {C}: validation accuracy {classifier.fit(hog_fit, y_fit).score(hog_val, y_val):.1%}")
```
`C` is the inverse strength of the regularisation: small values keep the weights small,
large ones let the classifier fit the training photos closely. Choose it on the validation
set, never on the test set; the HOG parameters themselves (cell size, orientations) are
choices of the same kind. Compare the best with `all_val_accuracy`: if it stays well
short, the features, not the classifier, are what limits it.""",
    "10.6": """\
Make a folder with one subfolder per class (two classes of at least 30 photos each to
start), check it with `pictures.check_class_folders(folder)`, then read it as section 1
does, `keras.utils.image_dataset_from_directory(folder,
image_size=(32, 32), crop_to_aspect_ratio=True, ...)`, keep a tenth for validation with `train_test_split`, and train
`article_network(augmentation=photo_augmentation(), dropout=0.5, num_classes=2)`. With so
few photos, transfer learning (section 4, or notebook 06 part B with ImageNet weights) may
be the better start (the `grad_cam` above reads networks built like `article_network`, with
their layers in one `Sequential`). Then look at Grad-CAM on a few validation photos: if the heat sits on the
background, the classes differ in their backgrounds (indoor against outdoor, say), and the
network has learned that instead of the objects: photograph both classes in the same
places.""",
}

HINTS = {
    "10.1": "Section 3's photo_augmentation shows the pattern: a keras.Sequential of random layers. Which flip keeps a photo of an animal a plausible photo? RandomRotation takes a fraction of a full turn.",
    "10.2": "Both callbacks take monitor=; one has an option that puts the best weights back when training stops, the other one that saves only an epoch better than all before it.",
    "10.3": "A 32-pixel side holds 4 cells of 8 pixels. Blocks of 2x2 cells step one cell at a time: how many positions does a block have along a side? Each block holds 4 cells, each with 9 directions.",
}

answers(SOLUTIONS, HINTS)
