"""The public functions: each checks its arguments, then applies one op (or a few).

They are exported at the top level (``tl.exp``, ``tl.sigmoid``, ``tl.cross_entropy``)
and back the Tensor methods (``x.exp()``, ``x.sigmoid(k=2)``).
"""
from __future__ import annotations

import builtins  # this module defines its own sum/max/min/abs/pow

import numpy as np

from . import ops
from .tensor import Tensor, as_tensor

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "clip", "maximum",
    "minimum", "where", "matmul", "linear", "sum", "mean", "max", "min", "reshape", "transpose", "flatten",
    "broadcast_to", "concatenate", "stack", "scatter_add", "sigmoid", "tanh", "relu", "relu6",
    "leaky_relu", "softplus", "softmax", "log_softmax", "mse_loss", "cross_entropy",
    "binary_cross_entropy", "nll_loss", "one_hot",
]


def add(a, b):
    """a + b, broadcasting as NumPy does."""
    return ops.Add.apply(a, b)


def sub(a, b):
    """a − b, broadcasting as NumPy does."""
    return ops.Sub.apply(a, b)


def mul(a, b):
    """a · b elementwise, broadcasting as NumPy does."""
    return ops.Mul.apply(a, b)


def div(a, b):
    """a / b elementwise, broadcasting as NumPy does."""
    return ops.Div.apply(a, b)


def neg(x):
    """−x."""
    return ops.Neg.apply(x)


def pow(a, b):  # noqa: A001 - mirrors the operator's name
    """a ** b elementwise."""
    return ops.Pow.apply(a, b)


def exp(x):
    """eˣ elementwise."""
    return ops.Exp.apply(x)


def log(x):
    """Natural logarithm elementwise."""
    return ops.Log.apply(x)


def sqrt(x):
    """√x elementwise."""
    return ops.Sqrt.apply(x)


def abs(x):  # noqa: A001
    """|x| elementwise (gradient sign(x), 0 at 0)."""
    return ops.Abs.apply(x)


def clip(x, lo=None, hi=None):
    """Limit x to [lo, hi]; the gradient passes where lo ≤ x ≤ hi."""
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both")
    return ops.Clip.apply(x, lo=lo, hi=hi)


def maximum(a, b):
    """Elementwise max(a, b); on ties each side gets half the gradient."""
    return ops.Maximum.apply(a, b)


def minimum(a, b):
    """Elementwise min(a, b); on ties each side gets half the gradient."""
    return ops.Minimum.apply(a, b)


def where(cond, a, b):
    """a where cond is true, else b (cond is not differentiated)."""
    cond = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    return ops.Where.apply(cond, a, b)


def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D, 2-D and batched (broadcast) operands."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}; use * to scale by a scalar.")
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        raise ValueError(
            f"matmul: shapes {a.shape} @ {b.shape} do not fit: the last axis of the left "
            f"operand ({a.shape[-1]}) must equal the {'only' if b.ndim == 1 else 'second-to-last'}"
            f" axis of the right one ({inner_b}). Did you mean to transpose one of them (x.T)?")
    # 1-D operands become a row / a column and the extra axis is dropped after, as in NumPy.
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    out = ops.MatMul.apply(a2, b2)
    if a.ndim == 1 and b.ndim == 1:
        return out.reshape(())
    if a.ndim == 1:
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        return out.reshape(out.shape[:-1])
    return out


def linear(x, weight, bias=None):
    """x·Wᵀ + b, the fully connected layer (W has shape (out, in), as in ``nn.Linear``)."""
    x, weight = as_tensor(x), as_tensor(weight)
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape}: the input's last axis must equal the weight's "
                         f"second axis (in_features).")
    if bias is None:
        return ops.Linear.apply(x, weight)
    if np.shape(bias.data if isinstance(bias, Tensor) else bias) != weight.shape[:1]:
        raise ValueError(f"linear: bias of shape {np.shape(bias)} does not fit {weight.shape[0]} "
                         f"outputs")
    return ops.Linear.apply(x, weight, bias)


def _check_axis(name, x, axis):
    ndim = np.ndim(x.data)
    axes = () if axis is None else (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{name}: axis {a} is out of range for a tensor of shape "
                             f"{x.shape} ({ndim} dimensions)")
    if len(set(a % builtins.max(ndim, 1) for a in axes)) != len(axes):
        raise ValueError(f"{name}: axis {axis} repeats an axis")
    return axis if axis is None or isinstance(axis, (int, np.integer)) else tuple(axis)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (None: all, an int, or a tuple)."""
    x = as_tensor(x)
    return ops.Sum.apply(x, axis=_check_axis("sum", x, axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (None: all, an int, or a tuple)."""
    x = as_tensor(x)
    return ops.Mean.apply(x, axis=_check_axis("mean", x, axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Largest value over ``axis``; tied maxima share the gradient."""
    x = as_tensor(x)
    if x.size == 0:
        raise ValueError(f"max: the tensor of shape {x.shape} is empty")
    return ops.Max.apply(x, axis=_check_axis("max", x, axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Smallest value over ``axis``; tied minima share the gradient."""
    x = as_tensor(x)
    if x.size == 0:
        raise ValueError(f"min: the tensor of shape {x.shape} is empty")
    return ops.Min.apply(x, axis=_check_axis("min", x, axis), keepdims=keepdims)


def reshape(x, *shape):
    """Same values, new shape (one axis may be −1)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return ops.Reshape.apply(x, shape=shape)


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    return ops.Transpose.apply(x, axes=None if axes is None else tuple(axes))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge the axes from ``start_dim`` to ``end_dim`` into one (PyTorch's semantics)."""
    shape = x.shape
    if len(shape) == 0:
        return x.reshape(1)
    start, end = start_dim % len(shape), end_dim % len(shape)
    merged = int(np.prod(shape[start:end + 1]))
    return x.reshape(shape[:start] + (merged,) + shape[end + 1:])


def broadcast_to(x, shape):
    """A view of x repeated to ``shape``; the gradient sums the copies."""
    return ops.BroadcastTo.apply(as_tensor(x), shape=tuple(shape))


def scatter_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (the gradient of indexing)."""
    return ops.ScatterAdd.apply(g, index=index, shape=tuple(shape))


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    return ops.Concatenate.apply(*[as_tensor(t) for t in tensors], axis=axis)


def stack(tensors, axis=0):
    """Join tensors along a new axis."""
    return ops.Stack.apply(*[as_tensor(t) for t in tensors], axis=axis)


# --- activations --------------------------------------------------------------------
def sigmoid(x, k=1.0):
    """σ(kx) = 1/(1+e^(−kx)), stable for any x and k (no overflow)."""
    return ops.Sigmoid.apply(x, k=float(k))


def tanh(x, k=1.0):
    """tanh(kx)."""
    return ops.Tanh.apply(x, k=float(k))


def relu(x):
    """max(0, x); gradient 1[x > 0]."""
    return ops.ReLU.apply(x)


def relu6(x):
    """min(max(0, x), 6); gradient 1[0 < x < 6]."""
    return ops.ReLU6.apply(x)


def leaky_relu(x, slope=0.01):
    """x for x > 0, slope·x otherwise."""
    return ops.LeakyReLU.apply(x, slope=float(slope))


def softplus(x):
    """ln(1 + eˣ), computed without overflow."""
    return ops.Softplus.apply(x)


def softmax(x, axis=-1):
    """eˣⁱ / Σⱼ eˣʲ along ``axis`` (max-shifted: no overflow)."""
    x = as_tensor(x)
    return ops.Softmax.apply(x, axis=_check_axis("softmax", x, axis))


def log_softmax(x, axis=-1):
    """xᵢ − log Σⱼ eˣʲ along ``axis``, stable."""
    x = as_tensor(x)
    return ops.LogSoftmax.apply(x, axis=_check_axis("log_softmax", x, axis))


# --- losses ---------------------------------------------------------------------------
def one_hot(indices, num_classes, dtype=np.float32):
    """Rows of the identity: class indices (N,) → (N, num_classes)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes <= 0:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: class indices must be integers, got dtype {idx.dtype}")
    _check_class_range("one_hot", idx, num_classes)
    return _one_hot_rows(idx, num_classes, dtype)


def _one_hot_rows(idx, num_classes, dtype):
    return np.eye(num_classes, dtype=dtype)[idx]


def _check_class_range(name, idx, num_classes):
    """Integer class indices must each name one of the classes 0 … num_classes − 1."""
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"{name}: class indices must lie in [0, {num_classes - 1}] for "
                         f"{num_classes} classes, got values from {idx.min()} to {idx.max()}")


def _targets_like(name, pred, targets):
    """Targets as a Tensor (kept if it requires grad) or an array of the prediction's dtype."""
    if isinstance(targets, Tensor) and targets.requires_grad:
        t = targets
    else:
        t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
        if t.dtype != pred.data.dtype:
            t = t.astype(pred.data.dtype)
    if t.shape != pred.data.shape:  # an array or a Tensor: both have .shape
        raise ValueError(f"{name}: predictions have shape {pred.shape} but targets have shape "
                         f"{t.shape}; they must match.")
    return t


def mse_loss(pred, target):
    """Mean squared error, mean over every element: mean((pred − target)²)."""
    pred = as_tensor(pred)
    return ops.MSELoss.apply(pred, _targets_like("mse_loss", pred, target))


def _class_targets(name, logits, targets):
    """Targets for a (N, C) prediction: class indices (N,), checked, or rows (N, C)."""
    raw = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if logits.ndim != 2:
        raise ValueError(f"{name}: expects scores of shape (N, C), got {logits.shape}")
    n, c = logits.shape
    if raw.dtype.kind in "iu":
        if raw.shape != (n,):
            raise ValueError(f"{name}: class-index targets must have shape ({n},) for "
                             f"scores of shape {logits.shape}, got {raw.shape}")
        _check_class_range(name, raw, c)
        return raw
    if raw.shape == (n,):
        raise ValueError(f"{name}: targets of shape {raw.shape} look like class indices but have "
                         f"dtype {raw.dtype}; pass integer indices (e.g. np.array(t, dtype=int)) "
                         f"or one-hot rows of shape {logits.shape}.")
    return _targets_like(name, logits, targets)


def cross_entropy(logits, targets):
    """Softmax cross-entropy, averaged over the batch; fused and stable.

    ``logits`` are raw scores (N, C). ``targets`` are class indices (N,) of an
    integer dtype, or one-hot / probability rows (N, C). Gradient: (softmax − onehot)/N.
    """
    logits = as_tensor(logits)
    return ops.CrossEntropy.apply(logits, _class_targets("cross_entropy", logits, targets))


def nll_loss(log_probs, targets):
    """Negative log-likelihood of the target classes, averaged: −mean(log_probs[i, tᵢ])."""
    log_probs = as_tensor(log_probs)
    t = _class_targets("nll_loss", log_probs, targets)
    if isinstance(t, np.ndarray) and t.dtype.kind in "iu":
        t = _one_hot_rows(t, log_probs.shape[1], log_probs.dtype)
    weights = t.data if isinstance(t, Tensor) else t
    return -(log_probs * weights).sum() / log_probs.shape[0]


def binary_cross_entropy(probs, targets):
    """−mean(t·log p + (1−t)·log(1−p)) for probabilities p in [0, 1] (logs clamped at −100)."""
    probs = as_tensor(probs)
    data = probs.data
    if data.size and (np.nanmin(data) < 0 or np.nanmax(data) > 1):
        raise ValueError(f"binary_cross_entropy: predictions must be probabilities in [0, 1], "
                         f"got values from {data.min():.4g} to {data.max():.4g}; apply sigmoid "
                         f"first.")
    return ops.BinaryCrossEntropy.apply(probs, _targets_like("binary_cross_entropy", probs,
                                                              targets))
