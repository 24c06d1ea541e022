"""Reductions over ``axis`` (None, an int or a tuple) with ``keepdims``."""
import numpy as np

from ..autograd import Function


def _keepdims_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(ctx, grad):
    """Bring the reduced gradient back to the input's shape."""
    shape = np.shape(ctx.inputs[0])
    return ctx.xp.broadcast_to(grad.reshape(_keepdims_shape(shape, ctx.axis)), shape)


class Sum(Function):
    formula = "Σ x"
    derivative = "∂/∂xᵢ = 1"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axis = axis
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _expand(ctx, grad)


class Mean(Function):
    formula = "(1/n) Σ x"
    derivative = "∂/∂xᵢ = 1/n"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axis = axis
        out = np.mean(x, axis=axis, keepdims=keepdims)
        ctx.n = np.size(x) // max(np.size(out), 1) if np.size(x) else 1
        return out

    @staticmethod
    def backward(ctx, grad):
        return _expand(ctx, grad / ctx.n)


def _extreme_forward(ctx, reduce, x, axis, keepdims):
    """np.max or np.min over ``axis``, remembering which elements were the extreme."""
    ctx.axis = axis
    out = reduce(x, axis=axis, keepdims=keepdims)
    extreme = out if keepdims else np.reshape(out, _keepdims_shape(np.shape(x), axis))
    # Ties share the gradient equally, so the gradient of max over [2, 2] is [½, ½].
    mask = (x == extreme).astype(x.dtype)
    ctx.mask = mask / mask.sum(axis=axis, keepdims=True)
    return out


class Max(Function):
    formula = "max x"
    derivative = "∂/∂xᵢ = 1[xᵢ = max] / #ties"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return _extreme_forward(ctx, np.max, x, axis, keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _expand(ctx, grad) * ctx.mask


class Min(Function):
    formula = "min x"
    derivative = "∂/∂xᵢ = 1[xᵢ = min] / #ties"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return _extreme_forward(ctx, np.min, x, axis, keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _expand(ctx, grad) * ctx.mask
