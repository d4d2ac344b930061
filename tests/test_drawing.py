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
