"""Matrix multiplication (2-D and batched; 1-D operands are reshaped by ``tl.matmul``) and the
fully connected layer x·Wᵀ + b."""
import numpy as np

from ..autograd import Function


class MatMul(Function):
    formula = "A @ B"
    derivative = "∂/∂A = G @ Bᵀ, ∂/∂B = Aᵀ @ G"

    @staticmethod
    def forward(ctx, a, b):
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        # Batch axes that broadcasting stretched are summed back by the base class.
        da = grad @ b.swapaxes(-1, -2) if ctx.needs_input_grad[0] else None
        db = a.swapaxes(-1, -2) @ grad if ctx.needs_input_grad[1] else None
        return da, db


class Linear(Function):
    """y = x·Wᵀ + b with W of shape (out, in), as ``nn.Linear`` computes it.

    One op rather than transpose, matmul and add: the graph reads as one layer, and
    ∂/∂W comes out as Gᵀ·x, already in W's (out, in) layout.
    """

    formula = "x·Wᵀ + b"
    derivative = "∂/∂x = G·W, ∂/∂W = Gᵀ·x, ∂/∂b = Σₙ G"

    @staticmethod
    def forward(ctx, x, w, b=None):
        y = x @ w.T
        if b is not None:
            y += b  # y is a fresh array: adding in place saves a copy
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.inputs[0], ctx.inputs[1]
        dx = grad @ w if ctx.needs_input_grad[0] else None
        dw = None
        if grad.ndim != 2:  # batch axes (x of shape (..., in)) are folded into one
            grad, x = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
        if ctx.needs_input_grad[1]:
            dw = grad.T @ x
        if len(ctx.inputs) == 2:
            return dx, dw
        db = grad.sum(axis=0) if ctx.needs_input_grad[2] else None
        return dx, dw, db
