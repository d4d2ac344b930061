"""The course's figures, with one consistent look: labelled axes, laptop-sized."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

DIGIT_CMAP = "gray_r"  # dark ink on white paper, as people see handwriting
COURSE_STYLE = {
    "figure.dpi": 100,
    "axes.grid": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
}


def use_course_style() -> None:
    """Set matplotlib to the course's look (``session.setup`` calls this)."""
    plt.rcParams.update(COURSE_STYLE)


def show_images(images, titles=None, cols: int = 10, cmap: str = DIGIT_CMAP, size: float = 1.2,
                suptitle: str | None = None, vmin=None, vmax=None, title_colors=None):
    """A grid of images with optional titles; returns the figure."""
    images = [np.squeeze(np.asarray(im)) for im in images]
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + 0.3 * bool(titles)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            color = title_colors[i] if title_colors is not None else "black"
            ax.set_title(str(titles[i]), fontsize=9, color=color)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def digit_grid(images, labels, predictions=None, cols: int = 10, suptitle: str | None = None):
    """Digits titled with their label, or 'label→prediction' in red where they disagree."""
    if predictions is None:
        return show_images(images, [str(int(y)) for y in labels], cols=cols, suptitle=suptitle)
    titles = [f"{int(y)}→{int(p)}" if y != p else str(int(y)) for y, p in zip(labels, predictions)]
    colors = ["black" if y == p else "crimson" for y, p in zip(labels, predictions)]
    return show_images(images, titles, cols=cols, suptitle=suptitle, title_colors=colors)


def class_balance(labels, title: str = "Images per class"):
    """Bar chart of how many examples each class has."""
    counts = np.bincount(np.asarray(labels), minlength=10)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(counts)), counts, color="tab:blue")
    ax.set(xlabel="digit", ylabel="images", title=title, xticks=range(len(counts)))
    fig.tight_layout()
    return fig


def plot_history(history: dict, title: str = "Training curves"):
    """Loss and accuracy per epoch, training against validation."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
        ax.set(xlabel="epoch", ylabel=metric, xticks=epochs)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_heatmap(matrix, title: str = "Confusion matrix (test set)"):
    """Counts of true (rows) against predicted (columns) classes; the diagonal is right."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    off_diagonal = matrix - np.diag(np.diag(matrix))
    image = ax.imshow(off_diagonal, cmap="Reds")
    fig.colorbar(image, ax=ax, label="mistakes")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                    color="tab:green" if i == j else "black")
    n = len(matrix)
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


def probability_bars(probabilities, title: str = "Predicted probabilities", ax=None):
    """A bar per class with the winner highlighted."""
    probabilities = np.asarray(probabilities)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 2.5))
    colors = ["tab:gray"] * len(probabilities)
    colors[int(np.argmax(probabilities))] = "tab:orange"
    ax.bar(range(len(probabilities)), probabilities, color=colors)
    ax.set(xticks=range(len(probabilities)), ylim=(0, 1), xlabel="digit", ylabel="probability",
           title=title)
    return ax.figure


def overlay_heatmaps(images, heatmaps, titles=None, cols: int = 6):
    """Each image in grey with a heat map (saliency, Grad-CAM) laid over it."""
    n = len(images)
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 1.9 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(np.squeeze(images[i]), cmap="gray")
            ax.imshow(np.squeeze(heatmaps[i]), cmap="jet", alpha=0.45)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=9)
    fig.tight_layout()
    return fig


def receptive_fields(image, seen, fields):
    """The image with the pixels one unit depends on (``seen``, a boolean mask) shaded, and
    a square per ``(layer name, field size)`` centred on that unit's field."""
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(np.squeeze(image), cmap=DIGIT_CMAP)
    ax.imshow(np.where(seen, 1.0, np.nan), cmap="autumn", alpha=0.25, vmin=0, vmax=1)
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    centre_row, centre_col = (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(fields)))
    for (name, size), colour in zip(fields, colours):
        ax.add_patch(plt.Rectangle((centre_col - size / 2, centre_row - size / 2), size, size,
                                   fill=False, lw=2, color=colour, label=f"{name}: {size}x{size}"))
    ax.set_title("What one unit sees, layer by layer")
    ax.set_axis_off()
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
