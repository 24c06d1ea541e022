"""Losses fused into single ops: stable forwards and the textbook gradients."""
import numpy as np

from ..autograd import Function


class MSELoss(Function):
    formula = "mean((y − t)²)"
    derivative = "∂/∂y = 2(y − t)/n"

    @staticmethod
    def forward(ctx, y, t):
        diff = np.subtract(y, t)
        ctx.n = diff.size
        diff *= diff  # our own array: square it in place
        # sum / n rather than np.mean: the same float32 pairwise sum, without np.mean's
        # Python-level bookkeeping (~3 µs a call, ~20 µs inside a training step).
        return diff.sum() / ctx.n

    @staticmethod
    def backward(ctx, grad):
        y, t = ctx.inputs
        d = y - t
        d *= grad * (2.0 / ctx.n)  # in place: d is our own fresh array
        return d, (-d if ctx.needs_input_grad[1] else None)


def _softmax_and_log(z, xp):
    """softmax(z) and log softmax(z) along the last axis, from one exponential.

    ``z`` is an array (``xp`` NumPy's functions) or a Tensor (``xp`` tinygrad_lab's).
    """
    shifted = z - z.max(axis=-1, keepdims=True)  # largest exponent is e⁰: no overflow
    e = xp.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    return e / total, shifted - xp.log(total)


class CrossEntropy(Function):
    """Softmax cross-entropy on logits (N, C) against class indices (N,) or target rows (N, C).

    Class indices are used as they are (no one-hot matrix is built): the loss picks
    each row's log-probability, and the gradient subtracts 1 at each row's class.
    """

    formula = "−(1/N) Σ t·log softmax(z)"
    derivative = "∂/∂z = (softmax(z) − t)/N"

    @staticmethod
    def forward(ctx, logits, targets):
        n = logits.shape[0]
        probs, log_probs = _softmax_and_log(logits, ctx.xp)
        ctx.n, ctx.probs, ctx.log_probs = n, probs, log_probs  # the backward reuses both
        if targets.ndim == 1:  # class indices
            return -log_probs[np.arange(n), targets].sum() / n
        return -np.sum(targets * log_probs) / n

    @staticmethod
    def backward(ctx, grad):
        z, t = ctx.inputs
        scale = grad / ctx.n
        if ctx.xp.is_tensor:  # recording this backward: softmax must stay a function of z
            probs, log_probs = _softmax_and_log(z, ctx.xp)
        else:
            probs, log_probs = ctx.probs, ctx.log_probs
        if t.ndim == 1:  # class indices: softmax − onehot(t)
            if ctx.xp.is_tensor:
                return (probs - np.eye(z.shape[-1], dtype=z.dtype)[t]) * scale, None
            dz = probs * scale  # a fresh array, so the −1s can go in place
            dz[np.arange(len(t)), t] -= scale
            return dz, None
        # softmax·Σt − t, which is softmax − t when each row of t sums to one.
        dz = (probs * t.sum(axis=-1, keepdims=True) - t) * scale
        dt = -log_probs * scale if ctx.needs_input_grad[1] else None
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
        return -terms.sum() / ctx.n

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
