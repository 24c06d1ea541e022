"""Losses fused into single ops: stable forwards and the textbook gradients."""
import numpy as np

from ..autograd import Function
from .activations import _np_log_softmax


class MSELoss(Function):
    formula = "mean((y − t)²)"
    derivative = "∂/∂y = 2(y − t)/n"

    @staticmethod
    def forward(ctx, y, t):
        diff = np.subtract(y, t)
        ctx.n = diff.size
        return np.mean(diff * diff)

    @staticmethod
    def backward(ctx, grad):
        y, t = ctx.inputs
        d = y - t
        d *= grad * (2.0 / ctx.n)  # in place: d is our own fresh array
        return d, (-d if ctx.needs_input_grad[1] else None)


class CrossEntropy(Function):
    """Softmax cross-entropy on logits (N, C) against target probabilities (N, C)."""

    formula = "−(1/N) Σ t·log softmax(z)"
    derivative = "∂/∂z = (softmax(z) − t)/N"

    @staticmethod
    def forward(ctx, logits, targets):
        ctx.n = logits.shape[0] if logits.ndim > 1 else 1
        return -np.sum(targets * _np_log_softmax(logits, axis=-1)) / ctx.n

    @staticmethod
    def backward(ctx, grad):
        z, t = ctx.inputs
        shifted = z - z.max(axis=-1, keepdims=True)
        e = ctx.xp.exp(shifted)
        sum_e = e.sum(axis=-1, keepdims=True)
        scale = grad / ctx.n
        # softmax·Σt − t, which is softmax − t when each row of t sums to one.
        dz = (e / sum_e * t.sum(axis=-1, keepdims=True) - t) * scale
        dt = -(shifted - ctx.xp.log(sum_e)) * scale if ctx.needs_input_grad[1] else None
        return dz, dt


class BinaryCrossEntropy(Function):
    formula = "−mean(t·ln p + (1−t)·ln(1−p))"
    derivative = "∂/∂p = (p − t) / (p(1−p)·n)"

    # Like PyTorch, each log is clamped at −100 so p = 0 or 1 gives a large finite loss.
    @staticmethod
    def forward(ctx, p, t):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        terms = t * log_p + (1 - t) * log_1mp
        ctx.n = terms.size
        return -np.mean(terms)

    @staticmethod
    def backward(ctx, grad):
        p, t = ctx.inputs
        eps = 1e-12  # keeps the gradient finite at p = 0 or 1, as the clamp keeps the loss
        scale = grad / ctx.n
        dp = (p - t) / (p * (1 - p)).clip(eps, None) * scale if ctx.needs_input_grad[0] else None
        dt = None
        if ctx.needs_input_grad[1]:
            dt = -(ctx.xp.log(p.clip(eps, None)) - ctx.xp.log((1 - p).clip(eps, None))) * scale
        return dp, dt
