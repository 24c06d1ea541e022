"""Check analytic gradients against central finite differences, in float64.

    tl.gradcheck(lambda x, w: (x @ w).sigmoid(k=2).sum(), (x, w))

The output is reduced to a scalar with fixed random weights v (seeded), so one
backward pass gives vᵀJ for every input at once; each element of each input that
requires grad is then nudged by ±eps and the change of vᵀ·output compared.
"""
from __future__ import annotations

import numpy as np

from .autograd import grad as autograd_grad
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic gradient of an input disagrees with finite differences."""


def _as_float64_inputs(inputs):
    if isinstance(inputs, (Tensor, np.ndarray)):
        inputs = (inputs,)
    prepared = []
    for x in inputs:
        if isinstance(x, Tensor):
            if x.dtype.kind == "f":
                t = Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad, name=x.name)
            else:
                t = Tensor(x.data)
            prepared.append(t)
        elif isinstance(x, np.ndarray) and x.dtype.kind == "f":
            prepared.append(x.astype(np.float64))
        else:
            prepared.append(x)
    return prepared


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: the function must return a Tensor (or a tuple of them); "
                            f"output {i} is a {type(o).__name__}")
    return outs


def _objective(outs, weights):
    """vᵀ·output summed over the outputs, in float64."""
    return sum(float(np.sum(o.data.astype(np.float64) * v)) for o, v in zip(outs, weights))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare ``fn``'s autograd gradients with central finite differences.

    ``inputs``: Tensors (those with requires_grad=True are checked) and other
    arguments, passed to ``fn`` as positional arguments after conversion to
    float64. Returns True, or raises :class:`GradcheckError` naming the input,
    the worst element's index, and the analytic and numeric values there.
    """
    xs = _as_float64_inputs(inputs)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; create the inputs with "
                         "requires_grad=True")
    outs = _outputs(fn, xs)
    for i, o in enumerate(outs):
        if o.dtype != np.float64:
            raise TypeError(f"gradcheck: output {i} has dtype {o.dtype}, but finite differences "
                            f"need float64 all the way through; does the function cast to "
                            f"float32 somewhere?")
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(o.shape) for o in outs]

    live = [(o, v) for o, v in zip(outs, weights) if o.requires_grad]
    if live:
        analytic = autograd_grad([o for o, _ in live], [xs[i] for i in checked],
                                 grad_outputs=[v for _, v in live], allow_unused=True)
    else:
        analytic = [None] * len(checked)

    for pos, i in enumerate(checked):
        x = xs[i]
        a = np.zeros(x.shape) if analytic[pos] is None else analytic[pos].data
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1)  # a view: nudging it nudges x
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = _objective(_outputs(fn, xs), weights)
            flat[j] = original - eps
            minus = _objective(_outputs(fn, xs), weights)
            flat[j] = original
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        excess = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~(excess <= 0)  # NaN counts as a mismatch
        if bad.any():
            worst = np.unravel_index(int(np.nanargmax(np.where(bad, np.nan_to_num(
                excess, nan=np.inf), -np.inf))), x.shape)
            label = f"input {i}" + (f" ({x.name!r})" if x.name else "") + f" of shape {x.shape}"
            raise GradcheckError(
                f"gradcheck failed for {label}: {int(bad.sum())} of {x.size} elements disagree.\n"
                f"  worst element {tuple(int(w) for w in worst)}: analytic {a[worst]:.8g}, "
                f"numeric {numeric[worst]:.8g} (|difference| {abs(a[worst] - numeric[worst]):.3g}"
                f", allowed {atol + rtol * abs(numeric[worst]):.3g})")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: the gradient that ``tl.grad(create_graph=True)`` builds
    is itself checked with :func:`gradcheck`."""
    xs = _as_float64_inputs(inputs)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    rng = np.random.default_rng(seed + 1)
    weights = [rng.standard_normal(o.shape) for o in _outputs(fn, xs)]

    def first_derivatives(*args):
        outs = _outputs(fn, args)
        live = [(o, v) for o, v in zip(outs, weights) if o.requires_grad]
        if not live:
            return tuple(Tensor(np.zeros(args[i].shape)) for i in checked)
        grads = autograd_grad([o for o, _ in live], [args[i] for i in checked],
                              grad_outputs=[v for _, v in live], create_graph=True,
                              allow_unused=True)
        return tuple(Tensor(np.zeros(args[i].shape)) if g is None else g
                     for i, g in zip(checked, grads))

    return gradcheck(first_derivatives, xs, eps=eps, atol=atol, rtol=rtol, seed=seed)
