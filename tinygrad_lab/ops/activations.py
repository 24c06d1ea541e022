"""Activation functions, each with its local derivative written in terms of its output
where that is cheapest (σ' = kσ(1−σ), tanh' = k(1−tanh²))."""
import numpy as np

from ..autograd import Function, _np_sigmoid


class Sigmoid(Function):
    formula = "σ(kx) = 1/(1+e^(−kx))"
    derivative = "∂/∂x = k·σ(1−σ)"

    @staticmethod
    def forward(ctx, x, k=1.0):
        ctx.k = k
        return _np_sigmoid(x, k)

    @staticmethod
    def backward(ctx, grad):
        s = ctx.output
        # 1 − s is a fresh array, so the products below reuse it in place: one temporary
        # instead of three (it matters at N=10000, where each is 10 MB).
        local = 1 - s
        local *= s
        if ctx.k != 1.0:
            local *= ctx.k
        local *= grad
        return local


class Tanh(Function):
    formula = "tanh(kx)"
    derivative = "∂/∂x = k·(1−tanh²)"

    @staticmethod
    def forward(ctx, x, k=1.0):
        ctx.k = k
        return np.tanh(k * x) if k != 1.0 else np.tanh(x)

    @staticmethod
    def backward(ctx, grad):
        t = ctx.output
        local = 1 - t * t  # a fresh array: the products below reuse it in place
        if ctx.k != 1.0:
            local *= ctx.k
        local *= grad
        return local


class ReLU(Function):
    formula = "max(0, x)"
    derivative = "∂/∂x = 1[x > 0]"

    @staticmethod
    def forward(ctx, x):
        ctx.mask = x > 0
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask


class ReLU6(Function):
    formula = "min(max(0, x), 6)"
    derivative = "∂/∂x = 1[0 < x < 6]"

    @staticmethod
    def forward(ctx, x):
        ctx.mask = (x > 0) & (x < 6)
        return np.clip(x, 0, 6)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask


class LeakyReLU(Function):
    formula = "x if x > 0 else slope·x"
    derivative = "∂/∂x = 1 if x > 0 else slope"

    @staticmethod
    def forward(ctx, x, slope=0.01):
        ctx.scale = np.where(x > 0, 1, slope).astype(np.result_type(x, np.float32), copy=False)
        return x * ctx.scale

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale


class Softplus(Function):
    formula = "ln(1 + eˣ)"
    derivative = "∂/∂x = σ(x)"

    @staticmethod
    def forward(ctx, x):
        return np.logaddexp(0, x).astype(np.result_type(x, np.float32), copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.inputs
        return grad * ctx.xp.sigmoid(x)


def _np_log_softmax(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)  # largest exponent is e⁰: no overflow
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class Softmax(Function):
    formula = "eˣⁱ / Σⱼ eˣʲ"
    derivative = "∂/∂x = s ⊙ (G − Σ G⊙s)"

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        return np.exp(_np_log_softmax(x, axis))

    @staticmethod
    def backward(ctx, grad):
        s = ctx.output
        return s * (grad - (grad * s).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    formula = "xᵢ − ln Σⱼ eˣʲ"
    derivative = "∂/∂x = G − softmax(x)·Σ G"

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        return _np_log_softmax(x, axis)

    @staticmethod
    def backward(ctx, grad):
        return grad - ctx.xp.exp(ctx.output) * grad.sum(axis=ctx.axis, keepdims=True)
