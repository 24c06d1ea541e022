"""What every training picture shares: figure size, colours, and saving as PNG or SVG.

Figures are made with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: nothing pops up, nothing stays alive in pyplot's global list, and it
works the same on a server without a display (rendering goes through Agg).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["DPI", "style", "new_figure", "save_figure", "figure_to_rgb", "layer_color",
           "SEQUENTIAL_CMAP", "DIVERGING_CMAP", "CLASS_CMAP", "STYLE"]

DPI = 100                    # pixels per inch: a figsize of (8, 5) is 800 × 500 pixels
SEQUENTIAL_CMAP = "viridis"  # values with a natural zero (mean sigmoid/ReLU output)
DIVERGING_CMAP = "RdBu_r"    # signed values (weights, updates): white is 0, red +, blue −
CLASS_CMAP = "tab10"         # one distinct colour per class (10 classes)

# rcParams applied while a figure is built, so every picture looks like the others.
STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.grid": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "legend.fontsize": 9,
    "legend.frameon": False,
    "svg.hashsalt": "tinygrad-lab",  # stable SVG ids: the same data gives the same file
}

_LAYER_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f")


def style():
    """``with style(): ...``: build and save a figure with the shared look (STYLE)."""
    return matplotlib.rc_context(STYLE)


def layer_color(index: int) -> str:
    """The colour of layer ``index`` (0-based) in every line plot."""
    return _LAYER_COLORS[index % len(_LAYER_COLORS)]


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` × ``height`` inches with an Agg canvas attached."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Save ``fig`` as PNG or SVG (from the file name's suffix); return the path.

    No ``bbox_inches="tight"``: the file is exactly figsize × DPI pixels, so a
    picture's size is known in advance (and the tests can check it).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"save a picture as .png or .svg, not {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fixed date and no software tag keep files byte-identical from run to run.
    metadata = {"Software": None} if suffix == ".png" else {"Date": None}
    fig.savefig(path, dpi=DPI, metadata=metadata)
    return path


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Render ``fig`` and return its pixels as an (height, width, 3) uint8 array."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
