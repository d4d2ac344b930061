"""The generated real-world-style digits that notebook 08 and the tests read."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from helpers import preprocessing, samples


def _fake_mnist_test(n=30):
    """Tiny 'MNIST' test digits: a bright bar whose position encodes nothing, labels 0-9."""
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255
    return images, np.arange(n) % 10


@pytest.mark.slow
def test_every_kind_with_the_labels_it_draws():
    made = samples.real_world_digits(per_kind=10, seed=0, mnist_test=_fake_mnist_test())
    kinds = [s.kind for s in made]
    assert {k: kinds.count(k) for k in set(kinds)} == {k: 10 for k in samples.KINDS}
    for kind in samples.DRAWN_KINDS:
        assert sorted(s.label for s in made if s.kind == kind) == list(range(10))
    for sample in made:
        assert sample.name.startswith(sample.kind) and f"_{sample.label}." in sample.name


def test_without_mnist_digits_there_are_no_handwritten_kinds():
    made = samples.real_world_digits(per_kind=4, seed=1)
    assert {s.kind for s in made} == set(samples.DRAWN_KINDS)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kinds"):
        samples.real_world_digits(per_kind=1, kinds=("printed", "scribbled"))


def _stroke_share(sample):
    """The pen's width as a share of the canvas: the ink's area over its skeleton's length."""
    alpha = np.asarray(Image.open(io.BytesIO(sample.data)))[..., 3] / 255
    return preprocessing.stroke_width(alpha) / samples.CANVAS_SIZE


@pytest.mark.slow
def test_the_images_are_what_their_kind_says():
    made = samples.real_world_digits(per_kind=10, seed=0, mnist_test=_fake_mnist_test())
    for sample in made:
        image = Image.open(io.BytesIO(sample.data))
        if sample.kind.startswith("drawn"):  # a canvas export: strokes on transparency
            assert image.format == "PNG" and image.mode == "RGBA"
            assert image.size == (samples.CANVAS_SIZE, samples.CANVAS_SIZE)
            alpha = np.asarray(image)[..., 3]
            assert alpha[0, 0] == 0 and alpha.max() == 255
        elif sample.kind in ("photographed", "shadowed"):
            assert image.format == "JPEG" and min(image.size) >= 28 * 6
        elif sample.kind == "frame_filling":  # ink reaches at least two edges
            ink = np.asarray(image) < 128
            assert sum(edge.any() for edge in (ink[0], ink[-1], ink[:, 0], ink[:, -1])) >= 2
        elif sample.kind == "small_scaled_up":  # soft: few pure black or white pixels
            grey = np.asarray(image)
            assert np.mean((grey > 20) & (grey < 235)) > 0.05
        else:
            assert image.format == "PNG" and image.mode == "L"
    thin = [_stroke_share(s) for s in made if s.kind == "drawn_thin"]
    bold = [_stroke_share(s) for s in made if s.kind == "drawn_bold"]
    assert max(thin) < 0.04 and min(bold) > 0.06


def test_the_same_seed_makes_the_same_images():
    first = samples.real_world_digits(per_kind=3, seed=5)
    again = samples.real_world_digits(per_kind=3, seed=5)
    other = samples.real_world_digits(per_kind=3, seed=6)
    assert [s.data for s in first] == [s.data for s in again]
    assert [s.data for s in first] != [s.data for s in other]


@pytest.mark.slow
def test_every_generated_image_preprocesses_to_an_mnist_digit():
    for sample in samples.real_world_digits(per_kind=10, seed=0, mnist_test=_fake_mnist_test()):
        digit = preprocessing.to_mnist(sample.data, sample.name)[..., 0]
        rows, cols = np.nonzero(digit > 0.1)
        assert 18 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 22, sample.name


def test_a_kind_s_images_do_not_depend_on_the_other_kinds_asked_for():
    alone = samples.real_world_digits(per_kind=3, seed=2, kinds=("drawn_bold",))
    among = samples.real_world_digits(per_kind=3, seed=2, kinds=("printed", "drawn_bold"))
    assert [s.data for s in alone] == [s.data for s in among if s.kind == "drawn_bold"]
