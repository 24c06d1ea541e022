"""Pictures of training over time: curves, gradient flow, dead/saturated units, histograms.

    plot_curves(history, "curves.png")             # loss + accuracy, lr on a twin axis
    plot_gradient_flow(records, "gradflow.png")    # each layer's gradient size (log scale)
    plot_unit_health(records, "units.png")         # dead and saturated units over time
    plot_histograms(records, "hist.png")           # outputs and weights, first vs last

``history`` is a :class:`tinygrad_lab.train.History` (or its dict, e.g. from
``history.json``); ``records`` come from :mod:`viz.record`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tinygrad_lab.train import History

from .plot_style import layer_color, new_figure, save_figure, style

__all__ = ["plot_curves", "curves_figure", "plot_gradient_flow", "gradient_flow_figure",
           "plot_unit_health", "unit_health_figure", "plot_histograms", "histograms_figure",
           "moving_average", "RULE_OF_THUMB_UPDATE_RATIO"]

# CS231n's rule of thumb: each step should change a weight by about 1/1000 of its size.
RULE_OF_THUMB_UPDATE_RATIO = 1e-3
_LR_COLOR = "#7f7f7f"
_TRAIN_COLOR = "#1f77b4"
_VAL_COLOR = "#d62728"


def _as_history(history) -> History:
    return history if isinstance(history, History) else History.from_dict(dict(history))


def moving_average(values, window: int) -> np.ndarray:
    """Mean of each ``window`` consecutive values (len(values) − window + 1 of them)."""
    values = np.asarray(values, dtype=np.float64)
    window = max(1, min(int(window), len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


# ---------------------------------------------------------------------------
# Loss and accuracy curves
# ---------------------------------------------------------------------------
def _lr_twin(ax, iterations, lr):
    """The learning rate on a second y axis (right), as a dashed grey line."""
    twin = ax.twinx()
    twin.plot(iterations, lr, color=_LR_COLOR, linestyle="--", linewidth=1.2,
              label="learning rate (right axis)")
    twin.set_ylabel("learning rate", color=_LR_COLOR)
    twin.tick_params(axis="y", colors=_LR_COLOR)
    twin.spines["right"].set_visible(True)
    twin.spines["right"].set_color(_LR_COLOR)
    twin.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3), useMathText=True)
    twin.set_ylim(0, 1.1 * max(lr) if len(lr) and max(lr) > 0 else 1)  # room above a flat lr
    return twin


def curves_figure(history, smooth: int | None = None):
    """Loss (left) and accuracy (right) against iterations, train and validation.

    Thin light lines are the per-batch values; thick lines their moving average over
    ``smooth`` batches (default: 1/25 of the run, at least 5); dots are validation evaluations.
    The schedule's learning rate is the dashed line on each plot's right axis.
    """
    h = _as_history(history)
    if not h.iteration:
        raise ValueError("curves_figure: the history is empty (no training steps)")
    it = np.asarray(h.iteration)
    window = smooth or min(len(it), max(5, len(it) // 25))
    fig = new_figure(13, 5.2)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, train, val, name in ((ax_loss, h.loss, h.val_loss, "loss"),
                                 (ax_acc, h.accuracy, h.val_accuracy, "accuracy")):
        ax.plot(it, train, color=_TRAIN_COLOR, alpha=0.25, linewidth=0.8,
                label="train (each batch)")
        if window > 1:
            ax.plot(it[window - 1:], moving_average(train, window), color=_TRAIN_COLOR,
                    linewidth=2, label=f"train (mean of {window} batches)")
        if val:
            ax.plot(h.eval_iteration, val, color=_VAL_COLOR, marker="o", markersize=4,
                    linewidth=1.5, label="validation")
        ax.set_xlabel("iteration (training steps)")
        ax.set_ylabel(name)
        twin = _lr_twin(ax, it, h.lr)
    # One legend for both plots, below them, so it never hides a curve.
    handles, labels = ax_loss.get_legend_handles_labels()
    lr_handles, lr_labels = twin.get_legend_handles_labels()
    fig.legend(handles + lr_handles, labels + lr_labels, loc="outside lower center",
               ncols=len(labels) + 1)
    finite = np.asarray(h.loss)[np.isfinite(h.loss)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 30:
        ax_loss.set_yscale("log")  # a loss that falls by orders of magnitude reads better on log
        ax_loss.set_ylabel("loss (log scale)")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.yaxis.set_major_formatter("{x:.0%}")
    ax_loss.set_title("Loss (lower is better)")
    final = f", final validation accuracy {h.val_accuracy[-1]:.1%}" if h.val_accuracy else ""
    ax_acc.set_title(f"Accuracy (higher is better{final})")
    fig.suptitle(f"Training curves over {int(it[-1])} iterations")
    return fig


def plot_curves(history, path, smooth: int | None = None) -> Path:
    """Save :func:`curves_figure` as PNG or SVG; return the path."""
    with style():
        return save_figure(curves_figure(history, smooth), path)


# ---------------------------------------------------------------------------
# Gradient flow and step size
# ---------------------------------------------------------------------------
def _legend_below(fig, handles_labels):
    """One legend under the plots, where it cannot hide a line."""
    handles, labels = handles_labels
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4))


def _log_safe(values) -> np.ndarray:
    """Values for a log axis: zeros and NaN become gaps instead of errors."""
    values = np.asarray(values, dtype=np.float64).copy()
    values[~(values > 0)] = np.nan
    return values


def gradient_flow_figure(records):
    """Left: RMS gradient of each layer's W over iterations (log scale).
    Right: each step's size relative to the weights, RMS(ΔW) / RMS(W) (log scale).

    Healthy: the layers' gradients stay within a factor of ~10 of each other. A first
    layer orders of magnitude below the last is a vanishing gradient.
    """
    fig = new_figure(13, 5.4)
    ax_grad, ax_ratio = fig.subplots(1, 2)
    it = records.iteration
    for layer, info in enumerate(records.layers):
        color = layer_color(layer)
        ax_grad.plot(it, _log_safe(records.get(layer, "grad_rms")), color=color, marker="o",
                     markersize=3, label=info.label)
        ratio = records.get(layer, "update_rms") / records.get(layer, "weight_rms")
        ax_ratio.plot(it, _log_safe(ratio), color=color, marker="o", markersize=3,
                      label=info.label)
    for ax in (ax_grad, ax_ratio):
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.grid(True, which="major", alpha=0.3)
    ax_grad.set_ylabel("RMS of ∂loss/∂W (log scale)")
    ax_grad.set_title("Gradient flow: gradient size per layer")
    ax_ratio.axhline(RULE_OF_THUMB_UPDATE_RATIO, color="black", linestyle=":", linewidth=1.2,
                     label="rule of thumb: RMS(ΔW)/RMS(W) ≈ 1e-3")
    ax_ratio.set_ylabel("RMS(ΔW) / RMS(W) (log scale)")
    ax_ratio.set_title("Step size: how much each update changes W")
    _legend_below(fig, ax_ratio.get_legend_handles_labels())
    fig.suptitle("Are gradients reaching every layer, and are the steps a sensible size?")
    return fig


def plot_gradient_flow(records, path) -> Path:
    """Save :func:`gradient_flow_figure` as PNG or SVG; return the path."""
    with style():
        return save_figure(gradient_flow_figure(records), path)


# ---------------------------------------------------------------------------
# Dead and saturated units
# ---------------------------------------------------------------------------
def _not_applicable(ax, text):
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555",
            fontsize=11)


def unit_health_figure(records):
    """Left: % of dead units per ReLU-family layer. Right: % of sigmoid/tanh/ReLU6
    outputs on a flat end (solid) and % of units saturated on the whole batch (dashed).

    Definitions are in :mod:`viz.record`. Only layers where the idea applies are drawn.
    """
    fig = new_figure(13, 5.4)
    ax_dead, ax_sat = fig.subplots(1, 2)
    it = records.iteration
    dead_layers, sat_layers = [], []
    for layer, info in enumerate(records.layers):
        color = layer_color(layer)
        dead = records.get(layer, "dead")
        if np.isfinite(dead).any():
            ax_dead.plot(it, 100 * dead, color=color, marker="o", markersize=3, label=info.label)
            dead_layers.append(layer)
        saturation = records.get(layer, "saturation")
        if np.isfinite(saturation).any():
            ax_sat.plot(it, 100 * saturation, color=color, marker="o", markersize=3,
                        label=info.label)
            ax_sat.plot(it, 100 * records.get(layer, "saturated"), color=color, linestyle="--")
            sat_layers.append(layer)
    for ax, drew, title, missing in (
            (ax_dead, dead_layers, "Dead units: never fire on the batch (ReLU family)",
             "no ReLU / ReLU6 / LeakyReLU layers:\nunits cannot die in this net"),
            (ax_sat, sat_layers, "Saturation: outputs where the slope is ~0",
             "no sigmoid / tanh / ReLU6 layers:\nnothing can saturate in this net")):
        ax.set_title(title)
        if not drew:
            _not_applicable(ax, missing)
            continue
        ax.set_xlabel("iteration")
        ax.set_ylabel("% of the layer")
        ax.set_ylim(-2, 102)
        ax.grid(True, alpha=0.3)
    # One legend: each layer once (a layer is either ReLU-like or sigmoid-like), then the
    # meaning of the two line styles of the saturation plot.
    handles = [Line2D([], [], color=layer_color(i), marker="o", markersize=3)
               for i in dead_layers + sat_layers]
    labels = [records.layers[i].label for i in dead_layers + sat_layers]
    if sat_layers:
        handles += [Line2D([], [], color="black", marker="o", markersize=3),
                    Line2D([], [], color="black", linestyle="--")]
        labels += ["solid: outputs on a flat end", "dashed: units flat on every example"]
    if handles:
        _legend_below(fig, (handles, labels))
    fig.suptitle("Units that stopped learning: dead (ReLU) and saturated (sigmoid, tanh)")
    return fig


def plot_unit_health(records, path) -> Path:
    """Save :func:`unit_health_figure` as PNG or SVG; return the path."""
    with style():
        return save_figure(unit_health_figure(records), path)


# ---------------------------------------------------------------------------
# Histograms
# ---------------------------------------------------------------------------
def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    return values[np.isfinite(values)]


def histograms_figure(records, bins: int = 50):
    """Distributions per layer: outputs (top row) and weights (bottom row), comparing
    the first snapshot (grey) with the last (colour). Counts are per cent of values.
    """
    n_layers = len(records.layers)
    fig = new_figure(1.0 + 3.8 * n_layers, 7.2)
    axes = fig.subplots(2, n_layers, squeeze=False)
    first, last = 0, len(records) - 1
    for layer, info in enumerate(records.layers):
        for row, (name, what) in enumerate((("act_sample", "output"), ("weight", "weight"))):
            ax = axes[row, layer]
            before = _finite(records.get(layer, name)[first])
            after = _finite(records.get(layer, name)[last])
            both = np.concatenate([before, after])
            edges = np.histogram_bin_edges(both, bins=bins) if both.size else bins
            for values, color, label, it in ((before, "#999999", "first", records.iteration[first]),
                                             (after, layer_color(layer), "last",
                                              records.iteration[last])):
                if values.size:
                    weights = np.full(values.size, 100.0 / values.size)
                    ax.hist(values, bins=edges, weights=weights, histtype="stepfilled",
                            alpha=0.45, color=color, edgecolor=color,
                            label=f"iteration {int(it)}")
            ax.set_xlabel(f"{what} value")
            if layer == 0:
                ax.set_ylabel(f"% of {what}s")
            if row == 0:
                ax.set_title(info.label)
            if np.ptp(both) > 0 and _has_spike(both, edges):
                ax.set_yscale("log")  # ReLU's spike at 0 would flatten everything else
                ax.set_ylabel(f"% of {what}s (log)" if layer == 0 else "")
    first_it, last_it = int(records.iteration[first]), int(records.iteration[last])
    fig.legend([Patch(color="#999999", alpha=0.45), Patch(color=layer_color(0), alpha=0.45)],
               [f"iteration {first_it} (first snapshot)",
                f"iteration {last_it} (last snapshot, in the layer's colour)"],
               loc="outside lower center", ncols=2)
    fig.suptitle(f"How outputs (top) and weights (bottom) are spread: iteration "
                 f"{int(records.iteration[first])} (grey) vs {int(records.iteration[last])}")
    return fig


def _has_spike(values, edges) -> bool:
    """True when one bin holds over half the values (e.g. ReLU outputs at exactly 0)."""
    counts, _ = np.histogram(values, bins=edges)
    return counts.max() > 0.5 * counts.sum()


def plot_histograms(records, path, bins: int = 50) -> Path:
    """Save :func:`histograms_figure` as PNG or SVG; return the path."""
    with style():
        return save_figure(histograms_figure(records, bins), path)
