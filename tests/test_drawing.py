"""The drawing pad of notebook 08: reading an empty pad asks for a drawing, and hands
nothing to the model."""
from helpers.drawing import DrawingPad


def test_an_empty_pad_asks_for_a_drawing(capsys):
    seen = []
    pad = DrawingPad(on_read=seen.append)
    assert pad.image() is None              # no browser: no pixels
    pad.read()
    assert seen == [] and "Draw a digit first." in capsys.readouterr().out
    pad.pen_move(10, 10)                    # moving without the pen down draws nothing
    pad.pen_down(10, 10)
    pad.pen_up()
    assert pad._pen_at is None
    assert pad.widget.children[0] is pad.canvas


def test_saving_needs_a_drawing_and_its_digit(tmp_path, capsys):
    import numpy as np

    pad = DrawingPad(on_read=print, save_to=tmp_path / "mine")
    assert pad.save() is None                       # nothing drawn (no browser)
    drawing = np.zeros((280, 280, 4), np.uint8)
    drawing[60:220, 130:150] = (0, 0, 0, 255)
    assert pad.save(drawing) is None                # no digit chosen yet
    pad.label.value = 1
    path = pad.save(drawing)
    assert path.parent == tmp_path / "mine" / "1" and path.is_file()
    assert len(pad.widget.children[1].children) == 4        # read, clear, digit, save
    assert len(DrawingPad(on_read=print).widget.children[1].children) == 2  # no save_to


def test_the_image_is_the_pen_s_path_and_clear_forgets_it():
    pad = DrawingPad(on_read=print)
    pad.pen_down(140, 40)
    for y in range(60, 260, 20):
        pad.pen_move(140, y)
    pad.pen_up()
    pad.pen_move(20, 20)                    # pen up: not drawn
    image = pad.image()
    assert image.shape == (280, 280, 4)
    ink = image[..., 3] > 0
    assert ink[40:240, 132:148].all() and not ink[:, :100].any()   # an 18-pixel-wide line
    pad.clear()
    assert pad.image() is None
