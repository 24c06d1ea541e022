"""The assignment's picture: activations, weights and updates of every layer at one iteration.

    rows     mean activation of each unit | weights W | update ΔW
    columns  layer 1 | layer 2 | layer 3 ...

W1 of a net on images is drawn as one small image per unit (a 28×28 tile for
MNIST, 8×8 for digits): the pattern each unit responds to. Other weight matrices
are drawn as they are, one row per unit and one column per input.

Each cell keeps the same colour scale in every snapshot (the scales come from all
records), so a cell that gets brighter in the animation really grew.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.ticker import ScalarFormatter
from PIL import Image

from .plot_style import (DIVERGING_CMAP, SEQUENTIAL_CMAP, figure_to_rgb, new_figure, save_figure,
                         style)

__all__ = ["ROWS", "panel_figure", "plot_panel", "animate_panels", "panel_image", "panel_scales",
           "grid_shape", "unit_grid", "tile_units"]

# The three rows of the panel: (field in the records, row label)
ROWS = (("act_mean", "mean activation\nof each unit"),
        ("weight", "weights W"),
        ("update", "update ΔW\n(this step)"))

# Clip the colour scale of W and ΔW at this percentile of |value| over all snapshots,
# so that a handful of extreme entries do not turn everything else white.
CLIP_PERCENTILE = 99.5
# Blank cells (gaps between tiles, padding of a grid) are grey: white already means 0.
BLANK_COLOR = "#c8c8c8"


# ---------------------------------------------------------------------------
# Arranging numbers as images
# ---------------------------------------------------------------------------
def grid_shape(n: int) -> tuple[int, int]:
    """Rows × columns for ``n`` cells: an exact, nearly square split if one exists.

    256 → 16×16, 128 → 8×16, 10 → 2×5; a prime like 7 → 3×3 with two blanks.
    """
    for rows in range(math.isqrt(n), 0, -1):
        if n % rows == 0 and n // rows <= 3 * rows:
            return rows, n // rows
    side = math.isqrt(n - 1) + 1
    return math.ceil(n / side), side


def unit_grid(values: np.ndarray) -> np.ndarray:
    """Lay out one value per unit as a 2-D grid (row-major), blanks (NaN) at the end."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    rows, cols = grid_shape(len(values))
    out = np.full(rows * cols, np.nan, dtype=np.float32)
    out[:len(values)] = values
    return out.reshape(rows, cols)


def tile_units(weight: np.ndarray, tile_shape: tuple, gap: int = 1) -> np.ndarray:
    """One tile per unit: row i of ``weight`` reshaped to ``tile_shape``, tiles in a grid.

    Tiles are separated by ``gap`` blank (NaN) pixels so each unit stands apart.
    Unit i sits at grid position ``divmod(i, columns)``.
    """
    units = weight.shape[0]
    h, w = tile_shape
    rows, cols = grid_shape(units)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, dtype=np.float32)
    for i in range(units):
        r, c = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = \
            weight[i].reshape(h, w)
    return out


def _uses_tiles(records, layer: int, image_shape) -> bool:
    """Only the first layer sees the image, so only its weights are drawn as tiles."""
    return (layer == 0 and image_shape is not None
            and math.prod(image_shape) == records.layers[0].n_in)


def panel_image(records, row: str, layer: int, index: int = -1, image_shape=None) -> np.ndarray:
    """The 2-D array the panel draws for ``row`` ("act_mean", "weight" or "update")."""
    image_shape = image_shape or records.image_shape
    value = records.get(layer, row)[index]
    if row == "act_mean":
        return unit_grid(value)
    if _uses_tiles(records, layer, image_shape):
        return tile_units(value, tuple(image_shape))
    return value


# ---------------------------------------------------------------------------
# Colour scales, fixed over all snapshots
# ---------------------------------------------------------------------------
# Known output ranges: a sigmoid unit at 1 looks "fully on" in every picture.
_ACTIVATION_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def _symmetric_limit(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, CLIP_PERCENTILE)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def panel_scales(records) -> dict:
    """``{(row, layer): (Normalize, cmap)}``: one colour scale per cell for all snapshots."""
    scales = {}
    for layer, info in enumerate(records.layers):
        means = records.get(layer, "act_mean")
        if info.kind in _ACTIVATION_RANGES:
            low, high = _ACTIVATION_RANGES[info.kind]
        elif np.nanmin(means) >= 0 or info.kind in ("relu", "relu6", "leaky_relu"):
            low, high = min(0.0, float(np.nanmin(means))), float(np.nanmax(means))
        else:  # raw scores (logits) and other signed outputs
            high = _symmetric_limit(means)
            low = -high
        cmap = _with_blank(DIVERGING_CMAP if low < 0 else SEQUENTIAL_CMAP)
        scales[("act_mean", layer)] = (Normalize(low, high if high > low else low + 1), cmap)
        for row in ("weight", "update"):
            limit = _symmetric_limit(records.get(layer, row))
            scales[(row, layer)] = (Normalize(-limit, limit), _with_blank(DIVERGING_CMAP))
    return scales


def _with_blank(name: str):
    return matplotlib.colormaps[name].with_extremes(bad=BLANK_COLOR)


def _colorbar_formatter():
    """Plain numbers between 0.01 and 100, else a shared ×10ⁿ factor on top of the bar."""
    formatter = ScalarFormatter(useMathText=True)
    formatter.set_powerlimits((-2, 2))
    return formatter


# ---------------------------------------------------------------------------
# The figure
# ---------------------------------------------------------------------------
def _cell_caption(records, row, layer, image_shape) -> str:
    info = records.layers[layer]
    if row == "act_mean":
        rows, cols = grid_shape(info.n_out)
        return f"{info.n_out} units as a {rows}×{cols} grid"
    name = "W" if row == "weight" else "ΔW"
    kept = "" if info.rows_kept == info.n_out else f" (first {info.rows_kept})"
    if _uses_tiles(records, layer, image_shape):
        h, w = image_shape
        return f"{name}{layer + 1}: one {h}×{w} tile per unit{kept}"
    return f"{name}{layer + 1}: {info.rows_kept} units (rows) × {info.n_in} inputs{kept}"


def panel_title(records, index: int) -> str:
    it, epoch = int(records.iteration[index]), int(records.epoch[index])
    return (f"Activations, weights and updates at iteration {it} (epoch {epoch + 1}):  "
            f"batch accuracy {records.accuracy[index]:.1%},  learning rate {records.lr[index]:.2g}")


def panel_figure(records, index: int = -1, image_shape=None, scales=None):
    """The assignment's panel for snapshot ``index`` as a Figure (see the module docstring).

    Each image axes is labelled ``"<row>:<layer>"`` (``ax.get_label()``), so code
    and tests can find the array it shows: ``ax.images[0].get_array()``.
    """
    image_shape = tuple(image_shape) if image_shape else records.image_shape
    scales = scales or panel_scales(records)
    n_layers = len(records.layers)
    # Large tiles (28×28 for MNIST) get a wider first column, or each unit is a few pixels.
    first = 1.7 if _uses_tiles(records, 0, image_shape) and min(image_shape) >= 16 else 1.0
    fig = new_figure(1.2 + 3.6 * (n_layers - 1 + first), 10.2 + 2.8 * (first - 1) / 0.7)
    axes = fig.subplots(len(ROWS), n_layers, squeeze=False,
                        width_ratios=[first] + [1] * (n_layers - 1))
    for r, (row, row_label) in enumerate(ROWS):
        for layer in range(n_layers):
            ax = axes[r, layer]
            ax.set_label(f"{row}:{layer}")
            data = panel_image(records, row, layer, index, image_shape)
            norm, cmap = scales[(row, layer)]
            # Sharp pixels for small arrays; smoothing only when an array has more pixels
            # than the screen (MNIST's tiles) so that it shrinks without moiré.
            smooth = max(data.shape) > 250
            im = ax.imshow(data, cmap=cmap, norm=norm,
                           interpolation="antialiased" if smooth else "nearest",
                           aspect="equal" if data.shape[1] <= 3 * data.shape[0] else "auto")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(_cell_caption(records, row, layer, image_shape), fontsize=9)
            fig.colorbar(im, ax=ax, shrink=0.85, pad=0.02, format=_colorbar_formatter())
            if r == 0:
                ax.set_title(records.layers[layer].label)
            if layer == 0:
                ax.set_ylabel(row_label, fontsize=11, fontweight="bold")
    fig.suptitle(panel_title(records, index))
    return fig


def _show_snapshot(fig, records, index: int, image_shape=None):
    """Put snapshot ``index`` into a figure made by :func:`panel_figure`."""
    image_shape = tuple(image_shape) if image_shape else records.image_shape
    for ax in fig.axes:
        row, sep, layer = ax.get_label().partition(":")
        if sep and ax.images:
            ax.images[0].set_data(panel_image(records, row, int(layer), index, image_shape))
    fig.suptitle(panel_title(records, index))


def plot_panel(records, path, index: int = -1, image_shape=None) -> Path:
    """Save the panel of snapshot ``index`` (default: the last) as PNG or SVG."""
    with style():
        return save_figure(panel_figure(records, index, image_shape), path)


def animate_panels(records, path, max_frames: int = 30, frame_ms: int = 400,
                   dpi: int = 55, image_shape=None) -> Path:
    """The panel over the snapshots as an animated GIF (at most ``max_frames`` frames).

    All frames share one colour scale, so brightening and fading are real changes.
    The last frame is held longer so the final state can be read.
    """
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"animate_panels writes a .gif, not {path.name!r}")
    indices = np.unique(np.linspace(0, len(records) - 1, min(max_frames, len(records)))
                        .round().astype(int))
    frames = []
    with style():
        # One figure, new data per frame: the layout and colour bars stay put (and it is fast).
        fig = panel_figure(records, int(indices[0]), image_shape)
        fig.set_dpi(dpi)
        figure_to_rgb(fig)
        fig.set_layout_engine("none")  # the layout is computed once: frames stay aligned
        for index in indices:
            _show_snapshot(fig, records, int(index), image_shape)
            frames.append(Image.fromarray(figure_to_rgb(fig))
                          .convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    durations = [frame_ms] * (len(frames) - 1) + [max(frame_ms, 2000)]
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path
