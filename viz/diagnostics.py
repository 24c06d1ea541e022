"""Plain-language findings about a training run, computed from what was recorded.

    findings = diagnose(records=load_records(run), history=History.load(run / "history.json"))
    for f in findings:
        print(f.level, f.message)        # "problem  layer 2 (relu, 256→128): 41% of units ..."

Every sentence comes from the numbers: each check measures something (dead units,
saturation, gradient ratios between layers, step sizes, the loss curve, the
predictions) and speaks only when the measurement crosses a threshold. The
thresholds are named constants below, with the reason for each.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinygrad_lab.train import History

__all__ = ["Finding", "diagnose", "check_loss", "check_accuracy", "check_dead_units",
           "check_saturation", "check_gradient_flow", "check_step_size", "check_predictions",
           "LEVELS"]

LEVELS = ("problem", "warning", "ok")   # most to least serious; reports sort by this

# A ReLU layer with this share of dead units is wasting capacity (warning), or most of it.
DEAD_WARNING, DEAD_PROBLEM = 0.10, 0.40
# Share of sigmoid/tanh outputs on a flat end, where the slope is < 4% of its maximum.
SATURATION_WARNING, SATURATION_PROBLEM = 0.20, 0.50
# First layer's RMS gradient relative to the last layer's. Within 10× is normal; a factor
# of 100 means the first layer learns 100× slower: the gradient vanishes on the way back.
VANISHING_WARNING, VANISHING_PROBLEM = 0.1, 0.01
EXPLODING_PROBLEM = 100.0
# RMS(ΔW)/RMS(W) per step. CS231n's rule of thumb is about 1e-3; a layer far above it
# has its weights rewritten every few steps (learning rate too high); when even the
# fastest-moving layer stays well below it, nothing moves much (learning rate too low).
STEP_TOO_LARGE, STEP_TOO_SMALL = 3e-2, 3e-4
# Between the start and the end of training the loss should fall by more than
# LOSS_SLOW_DROP; less than LOSS_MIN_DROP is no learning at all.
LOSS_MIN_DROP, LOSS_SLOW_DROP = 0.10, 0.30
# A loss that jumps to this many times its median (second half of training) is unstable.
LOSS_SPIKE = 3.0
# Train accuracy this far above validation accuracy: the net memorises the training set.
OVERFIT_GAP = 0.05
# Validation accuracy below this is low for the small image data sets used here (digits,
# MNIST, Fashion-MNIST), which a small MLP takes past 85 %.
LOW_ACCURACY = 0.6
# One class predicted for more than this share of examples: the net is stuck guessing.
COLLAPSE_SHARE = 0.5
# A class whose examples are recognised less often than this is worth a look.
WEAK_RECALL = 0.5


@dataclass
class Finding:
    """One observation: how serious, about what, what was measured, what to try."""

    level: str      # "problem" | "warning" | "ok"
    topic: str      # "loss", "dead units", "saturation", "gradient flow", ...
    message: str    # what the numbers say
    advice: str = ""  # what to try (empty when there is nothing to fix)


def _round2(x: float) -> str:
    """3146.2 → '3,100': two significant digits, as a plain number."""
    return f"{float(f'{x:.2g}'):,.0f}"


def _fmt_ratio(x: float) -> str:
    """0.00012 → '1.2e-04', 0.35 → '0.35': readable at any order of magnitude."""
    return f"{x:.2g}" if 1e-2 <= abs(x) < 1e3 else f"{x:.1e}"


# ---------------------------------------------------------------------------
# The loss and accuracy curves
# ---------------------------------------------------------------------------
def check_loss(history: History) -> list[Finding]:
    """Did the loss fall, stall, rise or jump around?"""
    loss = np.asarray(history.loss, dtype=np.float64)
    it = np.asarray(history.iteration)
    if loss.size < 4:
        return []
    if not np.isfinite(loss).all():
        first_bad = int(it[np.flatnonzero(~np.isfinite(loss))[0]])
        return [Finding("problem", "loss", f"the loss became NaN/infinite at iteration "
                        f"{first_bad}: training diverged",
                        "lower the learning rate (try 10× smaller) or use a gentler init")]
    n = len(loss)
    start, end = loss[:max(1, n // 20)].mean(), loss[-max(1, n // 10):].mean()
    change = (end - start) / abs(start) if start else 0.0
    findings = []
    if end > start * (1 + LOSS_MIN_DROP):
        findings.append(Finding(
            "problem", "loss", f"the loss rose from {start:.3g} to {end:.3g} ({change:+.0%}) "
            f"over {int(it[-1])} iterations: training is diverging",
            "the learning rate is very likely too high: try 10× smaller"))
    elif end > start * (1 - LOSS_MIN_DROP):
        findings.append(Finding(
            "problem", "loss", f"the loss barely moved: {start:.3g} at the start, {end:.3g} "
            f"at the end ({change:+.0%})",
            "the net is not learning: try a larger learning rate, and look at saturation and "
            "gradient flow below for units that pass no gradient"))
    elif end > start * (1 - LOSS_SLOW_DROP):
        findings.append(Finding(
            "warning", "loss", f"the loss fell only from {start:.3g} to {end:.3g} ({change:+.0%}) "
            f"in {int(it[-1])} iterations: slow",
            "a steady but slow fall is the sign of a learning rate that is too low (try 3-10× "
            "larger), or of too few iterations"))
    else:
        findings.append(Finding("ok", "loss", f"the loss fell from {start:.3g} to {end:.3g} "
                                f"({change:+.0%})"))
    second_half = loss[n // 2:]
    median = float(np.median(second_half))
    peak = int(np.argmax(second_half))
    if median > 0 and second_half[peak] > LOSS_SPIKE * median:
        findings.append(Finding(
            "warning", "loss", f"in the second half of training the loss jumps to "
            f"{second_half[peak] / median:.1f}× its median (iteration {int(it[n // 2 + peak])})",
            "spikes late in training mean steps that are too large for the valley the net is "
            "in: a lower or decaying learning rate (cosine schedule), or larger batches"))
    return findings


def check_accuracy(history: History, n_classes: int | None = None) -> list[Finding]:
    """Overfitting (train ≫ validation) and accuracy no better than guessing."""
    findings = []
    if not history.val_accuracy:
        return findings
    val = history.val_accuracy[-1]
    if n_classes and val < 1.5 / n_classes:
        findings.append(Finding(
            "problem", "accuracy", f"final validation accuracy is {val:.1%}; guessing among "
            f"{n_classes} classes gives {1 / n_classes:.0%}",
            "the net learned almost nothing: see the loss, saturation and gradient findings"))
    elif val < LOW_ACCURACY:
        findings.append(Finding(
            "warning", "accuracy", f"final validation accuracy is only {val:.1%}",
            "the findings on loss, learning rate and the layers say where it went wrong"))
    train = history.epoch_accuracy[-1] if history.epoch_accuracy else None
    if findings:  # accuracy this low: a gap between train and validation means little yet
        return findings
    if train is not None and train - val > OVERFIT_GAP:
        findings.append(Finding(
            "warning", "overfitting", f"train accuracy {train:.1%} vs validation {val:.1%} "
            f"at the end: the net fits the training set {train - val:.1%} better than new data",
            "more data, weight decay, fewer epochs (stop at the best validation accuracy) or "
            "a smaller net"))
    elif train is not None:
        findings.append(Finding("ok", "accuracy", f"final validation accuracy {val:.1%} "
                                f"(train {train:.1%})"))
    return findings


# ---------------------------------------------------------------------------
# What the recorder saw inside the layers
# ---------------------------------------------------------------------------
def _stays_above(values: np.ndarray, threshold: float) -> int | None:
    """First index from which ``values`` stay ≥ threshold to the end (None if the last is below)."""
    below = np.flatnonzero(~(values >= threshold))
    if len(below) and below[-1] == len(values) - 1:
        return None
    return int(below[-1] + 1) if len(below) else 0


def check_dead_units(records) -> list[Finding]:
    """ReLU layers whose units stopped firing, and since when."""
    findings, fine = [], []
    for layer, info in enumerate(records.layers):
        dead = records.get(layer, "dead")
        if not np.isfinite(dead).any():
            continue  # not a ReLU-family layer
        last = float(dead[-1])
        if last < DEAD_WARNING:
            fine.append(f"{info.name} {last:.0%}")
            continue
        since = _stays_above(dead, DEAD_WARNING)
        since_text = (f"; at least {DEAD_WARNING:.0%} since iteration "
                      f"{int(records.iteration[since])}" if since is not None else "")
        findings.append(Finding(
            "problem" if last >= DEAD_PROBLEM else "warning", "dead units",
            f"{info.label}: {last:.0%} of units are dead (never fired on the recorded batch) at "
            f"iteration {int(records.iteration[-1])}{since_text}",
            "a dead ReLU gets zero gradient and never recovers: a smaller learning rate, He "
            "initialization, or LeakyReLU (which always passes a little gradient)"))
    if fine:
        findings.append(Finding("ok", "dead units", f"few dead units at iteration "
                                f"{int(records.iteration[-1])}: {', '.join(fine)}"))
    return findings


_FLAT_ENDS = {"sigmoid": "σ < 0.01 or > 0.99", "tanh": "|tanh| > 0.99", "relu6": "ReLU6 at 6"}


def check_saturation(records) -> list[Finding]:
    """Sigmoid/tanh/ReLU6 layers whose outputs sit where the slope is nearly zero."""
    findings, fine = [], []
    last_third = slice(len(records) - max(1, len(records) // 3), None)
    for layer, info in enumerate(records.layers):
        saturation = records.get(layer, "saturation")
        if not np.isfinite(saturation).any():
            continue
        share = float(np.mean(saturation[last_third]))
        stuck = float(np.mean(records.get(layer, "saturated")[last_third]))
        where = f"in the last third of training ({_FLAT_ENDS[info.kind]})"
        if share < SATURATION_WARNING:
            fine.append(f"{info.name} {share:.0%}")
            continue
        k_hint = (f"a smaller k (now {info.k:g}), " if info.kind in ("sigmoid", "tanh")
                  and info.k > 1 else "")
        findings.append(Finding(
            "problem" if share >= SATURATION_PROBLEM else "warning", "saturation",
            f"{info.label}: {share:.0%} of outputs sit on a flat end {where}, and {stuck:.0%} "
            f"of units stay there for the whole batch; the slope there is nearly zero, so "
            f"little gradient gets through",
            f"{k_hint}smaller initial weights (normal 1/√n or Xavier instead of U(−1, 1)), or a "
            f"lower learning rate"))
    if fine:
        findings.append(Finding("ok", "saturation", f"share of outputs on a flat end in the last "
                                f"third of training: {', '.join(fine)}"))
    return findings


def _median_positive(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    good = values[np.isfinite(values) & (values > 0)]
    return float(np.median(good)) if good.size else math.nan


def check_gradient_flow(records) -> list[Finding]:
    """Compare the first layer's gradient with the last layer's: vanishing or exploding?"""
    if len(records.layers) < 2:
        return []
    first, last = records.layers[0], records.layers[-1]
    g_first = _median_positive(records.get(0, "grad_rms"))
    g_last = _median_positive(records.get(len(records.layers) - 1, "grad_rms"))
    if not (math.isfinite(g_first) and math.isfinite(g_last)):
        return [Finding("warning", "gradient flow", "no usable gradient was recorded "
                        "(all zero or missing)", "check that the loss depends on the weights")]
    ratio = g_first / g_last
    text = (f"the gradient at {first.name} is {_fmt_ratio(ratio)}× {last.name}'s "
            f"(median RMS {g_first:.2g} vs {g_last:.2g})")
    if ratio < VANISHING_WARNING:
        return [Finding(
            "problem" if ratio < VANISHING_PROBLEM else "warning", "gradient flow",
            f"{text}: vanishing — the first layer learns about {_round2(1 / ratio)}× slower",
            "each sigmoid/tanh multiplies the gradient by its slope (≤ 0.25 for σ): use ReLU or "
            "tanh, normal/He/Xavier initialization, or cross-entropy instead of squared error")]
    if ratio > EXPLODING_PROBLEM:
        return [Finding("problem", "gradient flow", f"{text}: exploding towards the input",
                        "smaller initial weights or a lower learning rate")]
    return [Finding("ok", "gradient flow", f"{text}: gradients reach every layer")]


def check_step_size(records) -> list[Finding]:
    """Relative step size RMS(ΔW)/RMS(W) while the learning rate was near its peak."""
    findings = []
    lr = np.asarray(records.lr, dtype=np.float64)
    working = lr >= 0.5 * lr.max() if lr.size and lr.max() > 0 else np.ones(len(lr), bool)
    sizes = []
    for layer, info in enumerate(records.layers):
        ratio = records.get(layer, "update_rms") / records.get(layer, "weight_rms")
        sizes.append((info, _median_positive(ratio[working])))
    known = [(info, s) for info, s in sizes if math.isfinite(s)]
    if not known:
        return findings
    big = [(info, s) for info, s in known if s > STEP_TOO_LARGE]
    listing = ", ".join(f"{info.name} {_fmt_ratio(s)}" for info, s in known)
    if big:
        findings.append(Finding(
            "warning", "learning rate", f"each step changes the weights by a large share of "
            f"their size ({listing}; rule of thumb ≈ 1e-3)",
            "the learning rate is probably too high: the weights are rewritten every few steps"))
    elif max(s for _, s in known) < STEP_TOO_SMALL:
        findings.append(Finding(
            "warning", "learning rate", f"steps are small compared with the weights in every "
            f"layer ({listing}; rule of thumb ≈ 1e-3)",
            "the learning rate is probably too low: training will crawl"))
    else:
        findings.append(Finding("ok", "learning rate", f"relative step sizes while the learning "
                                f"rate was high: {listing} (rule of thumb ≈ 1e-3)"))
    return findings


# ---------------------------------------------------------------------------
# Predictions on held-out data
# ---------------------------------------------------------------------------
def check_predictions(y_true, y_pred, classes=None) -> list[Finding]:
    """Is the net stuck predicting one class, or ignoring some classes?"""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if not len(y_true):
        return []
    n_classes = len(classes) if classes is not None else int(max(y_true.max(), y_pred.max())) + 1
    names = [str(c) for c in (classes if classes is not None else range(n_classes))]
    predicted = np.bincount(y_pred, minlength=n_classes) / len(y_pred)
    actual = np.bincount(y_true, minlength=n_classes) / len(y_true)
    top = int(np.argmax(predicted))
    findings = []
    if predicted[top] > COLLAPSE_SHARE and predicted[top] > 2 * actual[top]:
        findings.append(Finding(
            "problem", "predictions", f"the net predicts class {names[top]!r} for "
            f"{predicted[top]:.0%} of the test examples (it is {actual[top]:.0%} of them): it is "
            f"stuck guessing one class",
            "a stuck output usually comes from saturated or dead units, or a learning rate far "
            "too high: see the findings above"))
    if findings:  # stuck on one class: listing every other class as missed adds nothing
        return findings
    never = [names[c] for c in range(n_classes) if predicted[c] == 0 and actual[c] > 0]
    if never:
        findings.append(Finding(
            "warning", "predictions", f"never predicted on the test set: class "
            f"{', '.join(repr(n) for n in never)}",
            "the output units of those classes never win: look at the last column of the panel"))
    recall = np.array([np.mean(y_pred[y_true == c] == c) if actual[c] else np.nan
                       for c in range(n_classes)])
    weak = [c for c in range(n_classes) if np.isfinite(recall[c]) and recall[c] < WEAK_RECALL
            and names[c] not in never]
    if weak:
        findings.append(Finding(
            "warning", "predictions", "classes recognised less than half of the time: " +
            ", ".join(f"{names[c]!r} (recall {recall[c]:.0%})" for c in weak),
            "the confusion matrix shows what they are mistaken for"))
    if not findings and np.isfinite(recall).any():
        worst = int(np.nanargmin(recall))
        findings.append(Finding("ok", "predictions", f"every class is predicted; the hardest is "
                                f"{names[worst]!r} (recall {recall[worst]:.0%})"))
    return findings


# ---------------------------------------------------------------------------
# Everything at once
# ---------------------------------------------------------------------------
def diagnose(records=None, history=None, y_true=None, y_pred=None, classes=None) -> list[Finding]:
    """All findings that the given data supports, most serious first."""
    findings: list[Finding] = []
    if history is not None:
        history = history if isinstance(history, History) else History.from_dict(history)
        n_classes = (len(classes) if classes is not None
                     else records.layers[-1].n_out if records is not None else None)
        findings += check_loss(history) + check_accuracy(history, n_classes)
    if records is not None and len(records):
        findings += (check_dead_units(records) + check_saturation(records)
                     + check_gradient_flow(records) + check_step_size(records))
    if y_true is not None and y_pred is not None:
        findings += check_predictions(y_true, y_pred, classes)
    return sorted(findings, key=lambda f: LEVELS.index(f.level))
