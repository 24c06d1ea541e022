"""Matrix multiplication (2-D and batched; 1-D operands are reshaped by ``tl.matmul``)."""
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
