"""Ops that move values around without changing them: their gradients move back."""
import numpy as np

from ..autograd import Function


class Reshape(Function):
    formula = "reshape(x, shape)"
    derivative = "∂/∂x = reshape(G, x.shape)"

    @staticmethod
    def forward(ctx, x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(np.shape(ctx.inputs[0]))


class Transpose(Function):
    formula = "transpose(x, axes)"
    derivative = "∂/∂x = transpose(G, axes⁻¹)"

    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.inverse = None if axes is None else tuple(np.argsort(axes))
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse)


class BroadcastTo(Function):
    formula = "broadcast(x, shape)"
    derivative = "∂/∂x = Σ G over the copies"

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the base class sums the broadcast axes back


def _is_basic_index(index):
    """True for ints and slices only: no position can then be selected twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in items)


class GetItem(Function):
    formula = "x[index]"
    derivative = "∂/∂x = scatter G into x's shape (repeats add up)"

    @staticmethod
    def forward(ctx, x, index):
        ctx.index = index
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        x = ctx.inputs[0]
        return ctx.xp.scatter_add(grad, ctx.index, np.shape(x))


class ScatterAdd(Function):
    formula = "zeros(shape)[index] += g"
    derivative = "∂/∂g = G[index]"

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic_index(index):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]


def _axis_slices(ndim, axis, start, stop):
    return (slice(None),) * (axis % ndim) + (slice(start, stop),)


class Concatenate(Function):
    formula = "concat(x₁, x₂, …)"
    derivative = "∂/∂xᵢ = G's slice of xᵢ"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        grads, start = [], 0
        for x in ctx.inputs:
            stop = start + np.shape(x)[ctx.axis]
            grads.append(grad[_axis_slices(grad.ndim, ctx.axis, start, stop)])
            start = stop
        return tuple(grads)


class Stack(Function):
    formula = "stack(x₁, x₂, …)"
    derivative = "∂/∂xᵢ = G[i] along the new axis"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        return np.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        axis = ctx.axis % grad.ndim
        return tuple(grad[(slice(None),) * axis + (i,)] for i in range(len(ctx.inputs)))
