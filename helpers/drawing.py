"""A drawing pad for notebook 08: a canvas to draw a digit with the mouse, a button that
hands the drawing to a function, one that clears it, and one that saves it as a labelled
example for a test set of your own. Needs a browser (JupyterLab)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np


class DrawingPad:
    """A 280x280 canvas with "Read it" and "Clear" buttons; ``on_read(image)`` gets the
    drawing as an RGBA array (transparent background, black ink). With ``save_to``, a digit
    menu and a "Save" button store the drawing as ``save_to/<digit>/<time>.png``.
    Show ``pad.widget``."""

    def __init__(self, on_read: Callable[[np.ndarray], object], size: int = 280,
                 line_width: int = 18, save_to: str | Path | None = None):
        import ipywidgets as widgets
        from ipycanvas import Canvas

        self.on_read = on_read
        self.size, self.line_width = size, line_width
        self.strokes: list[list[tuple[float, float]]] = []  # the pen's path, as the kernel saw it
        self.canvas = Canvas(width=size, height=size,
                             layout=widgets.Layout(border="1px solid #999", width=f"{size}px",
                                                   height=f"{size}px"))
        self.canvas.line_width, self.canvas.line_cap, self.canvas.stroke_style = \
            line_width, "round", "black"
        self._pen_at = None  # where the pen is while it is down
        self.canvas.on_mouse_down(self.pen_down)
        self.canvas.on_mouse_move(self.pen_move)
        self.canvas.on_mouse_up(self.pen_up)
        self.canvas.on_mouse_out(self.pen_up)
        self.answer = widgets.Output()
        read_button = widgets.Button(description="Read it", button_style="primary")
        clear_button = widgets.Button(description="Clear")
        read_button.on_click(lambda _: self.read())
        clear_button.on_click(lambda _: self.clear())
        buttons = [read_button, clear_button]
        self.save_to = Path(save_to) if save_to is not None else None
        self.label = widgets.Dropdown(options=[("digit?", None)] + [(str(d), d) for d in range(10)],
                                      layout=widgets.Layout(width="90px"))
        if self.save_to is not None:
            save_button = widgets.Button(description="Save as example")
            save_button.on_click(lambda _: self.save())
            buttons += [self.label, save_button]
        self.widget = widgets.VBox([self.canvas, widgets.HBox(buttons), self.answer])

    def pen_down(self, x, y):
        self._pen_at = (x, y)
        self.strokes.append([(x, y)])

    def pen_move(self, x, y):
        if self._pen_at is not None:
            self.canvas.stroke_line(*self._pen_at, x, y)
            self._pen_at = (x, y)
            self.strokes[-1].append((x, y))

    def pen_up(self, x=None, y=None):
        self._pen_at = None

    def image(self) -> np.ndarray | None:
        """The drawing as RGBA (transparent background, black ink), or None when nothing is
        drawn. It is drawn again here from the pen's path, as the canvas drew it, so it never
        waits for the browser to send its pixels back."""
        if not self.strokes:
            return None
        from helpers.samples import draw_path

        paths = [np.array(stroke) / self.size for stroke in self.strokes]
        return np.asarray(draw_path(paths, self.size, (0, 0, self.size), self.line_width,
                                    (0, 0, 0, 255), (0, 0, 0, 0)))

    def read(self) -> None:
        """Hand the drawing to ``on_read``, showing its output under the buttons."""
        import matplotlib.pyplot as plt

        self.answer.clear_output(wait=True)
        with self.answer:
            drawing = self.image()
            if drawing is None:
                print("Draw a digit first.")
                return
            self.on_read(drawing)
            plt.show()

    def save(self, image: np.ndarray | None = None) -> Path | None:
        """Save the drawing (or ``image``) under the digit chosen in the menu."""
        from helpers.own_digits import save_example

        self.answer.clear_output(wait=True)
        with self.answer:
            image = self.image() if image is None else image
            if image is None:
                print("Draw a digit first.")
            elif self.label.value is None:
                print("Choose the digit you drew in the menu, then save.")
            else:
                path = save_example(image, self.label.value, self.save_to)
                count = len(list(path.parent.glob("*.png")))
                print(f"Saved {path} ({count} example(s) of {self.label.value} so far).")
                return path
        return None

    def clear(self) -> None:
        self.canvas.clear()
        self.strokes = []
        self.answer.clear_output()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

