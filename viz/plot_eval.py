"""Pictures of a trained net on held-out data: t-SNE of a hidden layer, confusion matrix.

    plot_tsne(model, test, "tsne.png")                   # last hidden layer, ≤ 1000 points
    _, _, predicted = tinygrad_lab.train.evaluate(model, test)
    plot_confusion(test.y, predicted, "confusion.png", classes=test.classes)
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import patheffects

from tinygrad_lab.autograd import no_grad
from tinygrad_lab.data import Dataset
from tinygrad_lab.tensor import Tensor

from .plot_style import CLASS_CMAP, new_figure, save_figure, style
from .record import find_layers

__all__ = ["layer_outputs", "sample_indices", "tsne_embedding", "tsne_figure", "plot_tsne",
           "confusion_figure", "plot_confusion", "default_tsne_layer"]


# ---------------------------------------------------------------------------
# t-SNE of a hidden layer
# ---------------------------------------------------------------------------
def default_tsne_layer(model) -> int:
    """The last hidden layer (0-based): the net's final picture of the input before the output."""
    return max(0, len(find_layers(model)) - 2)


def layer_outputs(model, X, layer: int, batch_size: int = 1000) -> np.ndarray:
    """Outputs of layer ``layer`` (0-based; its activation's output) for inputs ``X``."""
    info = find_layers(model)[layer]
    module = dict(model.named_modules())[info.output]
    chunks = []
    handle = module.register_forward_hook(lambda mod, inputs, output: chunks.append(output.data))
    model.eval()  # e.g. no dropout while looking
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                model(Tensor(np.asarray(X[start:start + batch_size], dtype=np.float32)))
    finally:
        handle.remove()
        model.train()
    return np.concatenate(chunks).reshape(len(X), -1)


def sample_indices(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """At most ``max_points`` of ``range(n)``, drawn without replacement with ``seed``, sorted."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE coordinates (scikit-learn) of ``features`` (n × d); same seed, same picture."""
    from sklearn.manifold import TSNE  # imported late: scikit-learn is slow to import
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    n = len(features)
    if n < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {n}")
    tsne = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), init="pca",
                random_state=seed)
    # One thread: on ≤ 1000 points one core takes about a second, while OpenMP threads
    # competing with other work on a busy machine were measured 50× slower.
    with threadpool_limits(limits=1):
        return tsne.fit_transform(np.asarray(features, dtype=np.float64))


def tsne_figure(model, data: Dataset, layer: int | None = None, max_points: int = 1000,
                seed: int = 0):
    """Scatter of t-SNE on layer ``layer``'s outputs for ≤ ``max_points`` examples of ``data``.

    Each dot is one example, coloured by its true class; the class's name sits at the
    middle of its dots. Well-separated clusters mean the layer already tells the
    classes apart. Only neighbourhoods matter: t-SNE's axes and the distances between
    far-apart clusters carry no meaning.
    """
    layer = default_tsne_layer(model) if layer is None else layer
    info = find_layers(model)[layer]
    idx = sample_indices(len(data), max_points, seed)
    points = tsne_embedding(layer_outputs(model, data.X[idx], layer), seed)
    labels = data.y[idx]
    classes = list(data.classes)
    cmap = matplotlib.colormaps[CLASS_CMAP]
    fig = new_figure(8.5, 7.5)
    ax = fig.subplots()
    for c, name in enumerate(classes):
        mask = labels == c
        if not mask.any():
            continue
        color = cmap(c % cmap.N)
        ax.scatter(points[mask, 0], points[mask, 1], s=12, color=color, alpha=0.75,
                   label=str(name), linewidths=0)
        cx, cy = np.median(points[mask], axis=0)
        ax.text(cx, cy, str(name), fontsize=13, fontweight="bold", color=color, ha="center",
                va="center", path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("t-SNE 1 (only neighbours matter: axes have no units)")
    ax.set_ylabel("t-SNE 2")
    ax.legend(title="true class", loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2)
    ax.set_title(f"t-SNE of {info.label}'s outputs: {len(idx)} examples, "
                 f"{info.n_out} numbers each → 2", fontsize=11)
    return fig


def plot_tsne(model, data: Dataset, path, layer: int | None = None, max_points: int = 1000,
              seed: int = 0) -> Path:
    """Save :func:`tsne_figure` as PNG or SVG; return the path."""
    with style():
        return save_figure(tsne_figure(model, data, layer, max_points, seed), path)


# ---------------------------------------------------------------------------
# Confusion matrix
# ---------------------------------------------------------------------------
def confusion_figure(y_true, y_pred, classes=None):
    """Counts of (true class, predicted class) pairs, with each class's recall.

    Row i, column j: how many examples of class i were predicted as j; the diagonal
    holds the correct ones. Recall (right): the share of class i predicted as i. A
    column that is dark all the way down is a class the net predicts for everything.
    """
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n_classes = len(classes) if classes is not None else int(max(y_true.max(), y_pred.max())) + 1
    names = [str(c) for c in (classes if classes is not None else range(n_classes))]
    counts = confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))
    per_class = counts.sum(axis=1)
    recall = np.divide(np.diag(counts), per_class, out=np.full(n_classes, np.nan),
                       where=per_class > 0)
    fig = new_figure(8.5, 7.5)
    ax = fig.subplots()
    im = ax.imshow(counts, cmap="Blues", interpolation="nearest")
    if n_classes <= 30:  # beyond that the numbers would not fit in their cells
        threshold = counts.max() / 2
        for i in range(n_classes):
            for j in range(n_classes):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if counts[i, j] > threshold else "black")
    ax.set_xticks(range(n_classes), names)
    ax.set_yticks(range(n_classes), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.spines[:].set_visible(False)
    right = ax.secondary_yaxis("right")
    right.set_yticks(range(n_classes),
                     ["–" if np.isnan(r) else f"{r:.0%}" for r in recall])
    right.set_ylabel("recall: correct share of this true class")
    right.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, shrink=0.8, pad=0.12, label="number of examples")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix on {counts.sum()} examples: accuracy {accuracy:.1%}")
    return fig


def plot_confusion(y_true, y_pred, path, classes=None) -> Path:
    """Save :func:`confusion_figure` as PNG or SVG; return the path."""
    with style():
        return save_figure(confusion_figure(y_true, y_pred, classes), path)
