"""MNIST-style preprocessing of real-world pictures, and `cnn-course predict`."""
from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

import keras

from helpers import export, mnist, own_digits, pictures, preprocessing, training
from helpers.commands import cli
from helpers.errors import ImageError
from helpers.preprocessing import to_mnist


def ring(size=300, box=(80, 40, 180, 220), width=18, ink=0, paper=255, mode="L"):
    """A '0'-like ellipse outline, off-centre, dark on light by default."""
    image = Image.new(mode, (size, size), paper)
    ImageDraw.Draw(image).ellipse(box, outline=ink, width=width)
    return image


def png(image: Image.Image, fmt="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def assert_mnist_like(x):
    assert x.shape == (28, 28, 1) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1 and x.max() > 0.8
    digit = x[..., 0]
    cy, cx = np.array(np.nonzero(digit > 0)).mean(axis=1)  # rough centre of ink
    mass_y, mass_x = (np.indices(digit.shape) * digit).sum(axis=(1, 2)) / digit.sum()
    assert abs(mass_y - 13.5) < 0.6 and abs(mass_x - 13.5) < 0.6  # centred by mass
    rows, cols = np.nonzero(digit > 0.1)
    assert 18 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 22  # longer side about 20 px
    border = np.concatenate([digit[:3].ravel(), digit[-3:].ravel(), digit[:, :3].ravel(),
                             digit[:, -3:].ravel()])
    assert border.max() < 0.05  # black background, light ink
    return digit


def test_dark_ink_on_paper_becomes_light_ink_centred():
    assert_mnist_like(to_mnist(png(ring())))


def test_every_form_of_the_same_digit_gives_the_same_result():
    reference = assert_mnist_like(to_mnist(png(ring())))
    inverted = ring(ink=255, paper=0)
    transparent = ring(mode="RGBA", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0))
    white_on_clear = ring(mode="RGBA", ink=(255, 255, 255, 255), paper=(255, 255, 255, 0))
    shifted_scaled = ring(size=900, box=(500, 300, 800, 840), width=54)
    variants = {
        "inverted": png(inverted),
        "transparent": png(transparent),
        "white ink on transparent": png(white_on_clear),
        "shifted and scaled": png(shifted_scaled),
        "palette GIF": png(ring().convert("P"), "GIF"),
        "RGB JPEG": png(ring().convert("RGB"), "JPEG", quality=60),
        "array": np.asarray(ring()),
        "PIL image": ring(),
    }
    for name, variant in variants.items():
        digit = assert_mnist_like(to_mnist(variant, name))
        assert np.corrcoef(digit.ravel(), reference.ravel())[0, 1] > 0.9, name


def test_uneven_light_and_jpeg_noise_stay_out_of_the_digit():
    rng = np.random.default_rng(0)
    paper = np.linspace(120, 250, 400)[None, :] * np.ones((400, 1))  # a shadow across the page
    image = np.clip(paper + rng.normal(0, 6, paper.shape), 0, 255)
    mask = np.asarray(ring(size=400, box=(150, 60, 260, 330), width=20)) < 128
    image[mask] *= 0.2
    noisy = png(Image.fromarray(image.astype(np.uint8)), "JPEG", quality=35)
    reference = assert_mnist_like(to_mnist(png(ring(size=400, box=(150, 60, 260, 330), width=20))))
    digit = assert_mnist_like(to_mnist(noisy, "shadowed.jpg"))
    assert np.corrcoef(digit.ravel(), reference.ravel())[0, 1] > 0.9


@pytest.mark.parametrize("angle", [20, 70, 135, 250])
def test_a_shadow_edge_across_the_page_is_not_ink(angle):
    """A hard-edged shadow over 40-60% of the page, the digit half in it: the ink map holds
    the digit and nothing of the shadow (not even where its edge meets the picture's)."""
    size = 400
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    side = xx * np.cos(np.radians(angle)) + yy * np.sin(np.radians(angle))
    paper = 0.8 * (1 - 0.45 / (1 + np.exp(-side / 0.02)))   # the shadow: 45% darker
    mask = np.asarray(ring(size=size, box=(150, 60, 260, 330), width=20)) < 128
    image = np.where(mask, paper * 0.15, paper)
    grey = preprocessing.load_grey((image * 255).astype(np.uint8))
    ink = preprocessing.ink_map(grey)
    assert np.mean(ink[mask] > 0.5) > 0.9
    assert np.mean(ink[~ndimage.binary_dilation(mask, iterations=3)] > 0.3) < 0.005


@pytest.mark.parametrize("pen, expect", [(3, "thickened"), (28, "kept"), (60, "thinned")])
def test_strokes_come_out_as_wide_as_mnist_s(pen, expect):
    """A hairline, an ordinary and a very bold pen on a 280-pixel canvas all end with
    MNIST's stroke width (in pixels of the 20-pixel box); an ordinary one is left as it is."""
    image = ring(size=280, box=(70, 30, 210, 250), width=pen)
    steps = preprocessing.to_mnist_steps(png(image))
    if expect == "kept":
        assert steps["stroke"] is steps["cropped"]
    stroke = steps["stroke"]
    width = preprocessing.stroke_width(stroke) / (max(stroke.shape) / preprocessing.DIGIT_BOX)
    assert preprocessing.THIN_STROKE <= width <= preprocessing.BOLD_STROKE, width
    assert_mnist_like(steps["mnist"][..., None])


def test_a_16_bit_image_with_dark_grey_ink_is_read_like_its_8_bit_copy():
    eight = np.asarray(ring(), dtype=np.uint8)
    sixteen = (eight.astype(np.uint16) * 257).astype(np.uint16)        # 0-255 -> 0-65535
    sixteen[eight < 128] = 8000                                          # dark grey ink
    decoded = Image.open(io.BytesIO(png(Image.fromarray(sixteen))))
    assert decoded.mode.startswith("I")                                  # really 16-bit
    ours = to_mnist(png(Image.fromarray(sixteen)))
    assert_mnist_like(ours)
    assert np.abs(ours - to_mnist(png(ring()))).max() < 0.1


def test_an_animated_gif_is_read_from_its_first_frame_with_ink():
    blank = Image.new("L", (300, 300), 255)
    gif = png(blank, "GIF", save_all=True, append_images=[ring(), blank])
    assert Image.open(io.BytesIO(gif)).n_frames == 3
    ours = to_mnist(gif)
    assert_mnist_like(ours)
    assert np.abs(ours - to_mnist(png(ring()))).max() < 0.1


@pytest.mark.slow
def test_a_very_large_image_is_reduced_as_it_is_read():
    big = ring(size=3000, box=(800, 400, 1800, 2200), width=180)
    for fmt in ("PNG", "JPEG"):
        grey = preprocessing.load_grey(png(big, fmt))
        assert max(grey.shape) == pictures.MAX_SIDE, fmt
        assert_mnist_like(to_mnist(png(big, fmt)))


def _bar(width_share, background):
    """A vertical bar (a '1') of the given share of a 280-pixel image's width."""
    size, width = 280, max(1, round(280 * width_share))
    left = (size - width) // 2
    if background == "transparent":
        image = np.zeros((size, size, 4), np.uint8)
        image[40:240, left:left + width] = (20, 20, 20, 255)
    else:
        columns = np.linspace(1.0, 0.55, size) if background == "shadow" else np.ones(size)
        paper = np.tile(columns, (size, 1))
        paper[40:240, left:left + width] *= 0.15           # dark ink, darkened by the shadow too
        image = (paper * 255).astype(np.uint8)
    return image, (slice(40, 240), slice(left, left + width))


@pytest.mark.parametrize("background", ["transparent", "paper", "shadow"])
@pytest.mark.parametrize("width_share", [0.01, 0.05, 0.15, 0.25, 0.35])
def test_strokes_of_any_width_stay_ink(width_share, background):
    image, bar = _bar(width_share, background)
    grey, alpha = preprocessing.load_grey_and_alpha(image)
    assert (alpha is not None) == (background == "transparent")
    ink = preprocessing.ink_map(grey, alpha)
    assert np.mean(ink[bar] > 0.5) > 0.9, "the stroke's body was taken for paper"
    outside = np.ones(ink.shape, bool)
    outside[bar] = False
    assert np.mean(ink[outside] > 0.3) < 0.02


def test_steps_are_all_available():
    steps = preprocessing.to_mnist_steps(png(ring()))
    assert list(steps) == ["grey", "ink", "cropped", "stroke", "scaled", "mnist"]
    assert max(steps["scaled"].shape) == 20 and steps["mnist"].shape == (28, 28)


def _bomb_png(width=60_000, height=60_000) -> bytes:
    """A real tiny PNG whose header claims a huge size."""
    raw = bytearray(png(Image.new("L", (8, 8), 255)))
    ihdr = raw.index(b"IHDR")
    raw[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(raw[ihdr : ihdr + 17]))
    raw[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(raw)


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"just some text, not a picture", "not an image"),
    ("truncated", "damaged or truncated"),
    ("blank", "no ink found; the image looks blank"),
    ("bomb", "too large"),
])
def test_bad_files_get_clear_errors_naming_them(tmp_path, content, message):
    if content == "truncated":
        content = png(ring().convert("RGB"), "JPEG")[:800]
    elif content == "blank":
        content = png(Image.new("L", (200, 200), 250))
    elif content == "bomb":
        content = _bomb_png()
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        to_mnist(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_unreadable_path_a_folder_and_wrong_array_shape(tmp_path):
    with pytest.raises(ImageError, match="nowhere.png: no such file"):
        to_mnist("/nonexistent/nowhere.png")
    with pytest.raises(ImageError, match="is a folder, not an image file"):
        to_mnist(tmp_path)
    with pytest.raises(ImageError, match=r"expected a grey .* got shape \(2, 3, 4, 5\)"):
        to_mnist(np.zeros((2, 3, 4, 5)))


def test_naive_resize_is_what_the_notebook_compares_against():
    naive = preprocessing.naive_resize(png(ring()))
    assert naive.shape == (28, 28, 1) and naive[0, 0, 0] > 0.9  # white paper stays white


# --------------------------------------------------------------------------- cnn-course predict


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    (x, y), _ = mnist.load_mnist(source="sample")
    keras.utils.set_random_seed(0)
    run = training.train("fast", (mnist.to_model_input(x), y), epochs=3, verbose=False)
    return export.save_model(run.model, tmp_path_factory.mktemp("model") / "m.keras")


@pytest.fixture
def digit_files(tmp_path):
    good = tmp_path / "zero.png"
    good.write_bytes(png(ring()))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"nope")
    return good, bad


@pytest.mark.slow
def test_predict_prints_one_line_per_image_and_exits_0(small_model, digit_files, capsys):
    good, _ = digit_files
    assert cli.main(["predict", "--model", str(small_model), str(good), str(good)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{good}: 0 (") and "top 3: 0 " in lines[0]


def test_predict_json_lines_and_exit_1_when_any_fails(small_model, digit_files, capsys):
    good, bad = digit_files
    assert cli.main(["predict", "--json", "--model", str(small_model), str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    first, second = [json.loads(line) for line in out.strip().splitlines()]
    assert first["file"] == str(bad) and "not an image" in first["error"]
    assert set(second) == {"file", "digit", "probability", "top3"}
    assert second["digit"] == second["top3"][0]["digit"] and len(second["top3"]) == 3
    assert second["digit"] == 0 and second["probability"] > 0.5 and "Traceback" not in err


def test_predict_without_a_model_says_how_to_make_one(tmp_path, digit_files, capsys):
    assert cli.main(["predict", "--model", str(tmp_path / "none.keras"), str(digit_files[0])]) == 1
    assert "cnn-course train" in capsys.readouterr().err


def test_predict_with_an_invalid_model_file_exits_1(tmp_path, digit_files, capsys):
    fake = tmp_path / "fake.keras"
    fake.write_bytes(b"PK\x03\x04 not a model")
    assert cli.main(["predict", "--model", str(fake), str(digit_files[0])]) == 1
    err = capsys.readouterr().err
    assert "not a Keras model file" in err and "Traceback" not in err and err.count("\n") == 1


def test_predict_usage_error_exits_2(tmp_path, capsys):
    assert cli.main(["predict"]) == 2
    assert "--labels" in capsys.readouterr().err
    assert cli.main(["predict", "a.png", "--labels", str(tmp_path)]) == 2
    assert "not both" in capsys.readouterr().err
    assert cli.main(["predict", "--labels", str(tmp_path / "none.csv")]) == 1  # like a missing image
    assert "no such file or folder" in capsys.readouterr().err


@pytest.fixture
def labelled_folder(tmp_path):
    """A class's folder as notebook 08 saves it: two learners, zeros and ones."""
    folder = tmp_path / "my_digits"
    zero = np.asarray(ring().convert("RGBA"))
    one = np.full((280, 280, 4), 0, np.uint8)
    one[40:240, 125:150] = (0, 0, 0, 255)
    for learner in ("ana", "ben"):
        for image, digit in ((zero, 0), (zero, 0), (one, 1)):
            own_digits.save_example(image, digit, folder / "tmp")
    for digit_dir in (folder / "tmp").iterdir():  # move into <digit>/<learner>/
        for i, path in enumerate(sorted(digit_dir.iterdir())):
            target = folder / digit_dir.name / ("ana" if i % 2 else "ben") / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
    return folder


@pytest.mark.slow
def test_predict_labels_scores_a_folder_per_group(small_model, labelled_folder, capsys):
    assert cli.main(["predict", "--json", "--model", str(small_model),
                     "--labels", str(labelled_folder)]) == 0
    report = json.loads(capsys.readouterr().out)
    results, score = report["results"], report["score"]
    assert len(results) == 6 and {r["label"] for r in results} == {0, 1}
    right = [r["digit"] == r["label"] for r in results]
    assert score["count"] == 6 and score["accuracy"] == pytest.approx(np.mean(right))
    assert set(score["groups"]) == {"ana", "ben"}
    assert sum(g["count"] for g in score["groups"].values()) == 6
    wrong = sum(c["count"] for c in score["confusions"])
    assert wrong == 6 - sum(right)
    assert cli.main(["predict", "--model", str(small_model), "--labels", str(labelled_folder)]) == 0
    out = capsys.readouterr().out
    assert f"accuracy {np.mean(right):.1%} on 6 labelled images" in out and "  ana: " in out


def test_predict_labels_csv_reports_bad_rows_by_line(small_model, digit_files, tmp_path, capsys):
    good, _ = digit_files
    table = tmp_path / "labels.csv"
    table.write_text(f"file,label,group\n{good.name},0,pen\n{good.name},seven,pen\n,3,pen\n"
                     "gone.png,1,pen\n")
    assert cli.main(["predict", "--model", str(small_model), "--labels", str(table)]) == 1
    captured = capsys.readouterr()
    assert "line 3: label 'seven' is not a digit 0-9" in captured.err
    assert "line 4: no file named" in captured.err and "line 5: no such file gone.png" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""   # refused before reading
    table.write_text(f"file,label,group\n{good.name},0,pen\n")
    assert cli.main(["predict", "--json", "--model", str(small_model), "--labels", str(table)]) == 0
    score = json.loads(capsys.readouterr().out)["score"]
    assert score["count"] == 1 and list(score["groups"]) == ["pen"]


@pytest.mark.slow
def test_the_stroke_widths_preprocessing_aims_at_are_mnist_s():
    (x, _), _ = mnist.load_mnist(source="sample")
    widths = preprocessing.mnist_stroke_widths(x[:1000])
    low, middle, high = np.percentile(widths, [10, 50, 90])
    assert abs(middle - preprocessing.MNIST_STROKE) < 0.15
    assert abs(low - preprocessing.THIN_STROKE) < 0.15 and abs(high - preprocessing.BOLD_STROKE) < 0.2


@pytest.mark.parametrize("angle", [0, 30, 45, 90])
def test_stroke_width_is_the_same_in_every_direction(angle):
    image = Image.new("L", (400, 400), 0)
    ImageDraw.Draw(image).line((100, 200, 300, 200), fill=255, width=21)
    bar = np.asarray(image.rotate(angle, resample=Image.BILINEAR)) / 255
    assert preprocessing.stroke_width(bar) == pytest.approx(21, abs=1.5)


def test_a_bold_bar_touching_its_crop_is_thinned_on_every_side():
    """A plain bar (a '1'): the crop's edge is paper, so both sides of the stroke thin."""
    bar = np.zeros((200, 60), np.float32)
    bar[:, 10:50] = 1.0                                    # 40 of 200: 4 box pixels wide
    thinned = preprocessing.normalise_stroke(preprocessing.crop_to_ink(bar))
    width = preprocessing.stroke_width(thinned) / (max(thinned.shape) / preprocessing.DIGIT_BOX)
    assert abs(width - preprocessing.MNIST_STROKE) < 0.5


def test_a_digit_reaching_the_edges_keeps_its_polarity():
    """A frame-filling 7, light on dark and dark on light (a third of the border is ink):
    both read as the same light 7 on black."""
    def seven(ink, paper):
        image = Image.new("L", (200, 200), paper)
        ImageDraw.Draw(image).line([(0, 12), (199, 12), (70, 199)], fill=ink, width=24)
        return to_mnist(png(image))[..., 0]

    light_on_dark, dark_on_light = seven(255, 0), seven(0, 255)
    assert (light_on_dark > 0.5).mean() < 0.35              # ink is the minority, not the paper
    assert np.abs(light_on_dark - dark_on_light).max() < 0.05
