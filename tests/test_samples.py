"""The generated real-world-style digits that notebook 08 and the tests read."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from helpers import preprocessing, samples


def _fake_mnist_test(n=30):
    """Tiny 'MNIST' test digits: a bright bar whose position encodes nothing, labels 0-9."""
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255
    return images, np.arange(n) % 10


def test_three_families_with_the_labels_they_draw():
    made = samples.real_world_digits(per_family=10, seed=0, mnist_test=_fake_mnist_test())
    families = [s.family for s in made]
    assert {f: families.count(f) for f in set(families)} == {"printed": 10, "drawn": 10,
                                                             "photographed": 10}
    for family in ("printed", "drawn"):
        assert sorted(s.label for s in made if s.family == family) == list(range(10))
    for sample in made:
        assert sample.name.endswith((".png", ".jpg")) and f"_{sample.label}." in sample.name


def test_without_mnist_digits_there_are_no_photos():
    made = samples.real_world_digits(per_family=4, seed=1)
    assert {s.family for s in made} == {"printed", "drawn"}


def test_the_images_are_what_their_family_says():
    made = samples.real_world_digits(per_family=10, seed=0, mnist_test=_fake_mnist_test())
    for sample in made:
        image = Image.open(io.BytesIO(sample.data))
        if sample.family == "drawn":  # a drawing app's export: strokes on transparency
            assert image.format == "PNG" and image.mode == "RGBA"
            alpha = np.asarray(image)[..., 3]
            assert alpha[0, 0] == 0 and alpha.max() == 255
        elif sample.family == "photographed":
            assert image.format == "JPEG" and min(image.size) >= 28 * 6
        else:
            assert image.format == "PNG" and image.mode == "L"


def test_the_same_seed_makes_the_same_images():
    first = samples.real_world_digits(per_family=3, seed=5)
    again = samples.real_world_digits(per_family=3, seed=5)
    other = samples.real_world_digits(per_family=3, seed=6)
    assert [s.data for s in first] == [s.data for s in again]
    assert [s.data for s in first] != [s.data for s in other]


def test_every_generated_image_preprocesses_to_an_mnist_digit():
    for sample in samples.real_world_digits(per_family=10, seed=0, mnist_test=_fake_mnist_test()):
        digit = preprocessing.to_mnist(sample.data, sample.name)[..., 0]
        rows, cols = np.nonzero(digit > 0.1)
        assert 18 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 22, sample.name
