"""Elementwise arithmetic and math ops. Broadcasting is undone by the base class."""
import numpy as np

from ..autograd import Function


class Add(Function):
    formula = "a + b"
    derivative = "∂/∂a = 1, ∂/∂b = 1"

    @staticmethod
    def forward(ctx, a, b):
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    formula = "a − b"
    derivative = "∂/∂a = 1, ∂/∂b = −1"

    @staticmethod
    def forward(ctx, a, b):
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    formula = "a · b"
    derivative = "∂/∂a = b, ∂/∂b = a"

    @staticmethod
    def forward(ctx, a, b):
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        da = grad * b if ctx.needs_input_grad[0] else None
        db = grad * a if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    formula = "a / b"
    derivative = "∂/∂a = 1/b, ∂/∂b = −a/b²"

    @staticmethod
    def forward(ctx, a, b):
        return np.divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        da = grad / b if ctx.needs_input_grad[0] else None
        db = -grad * ctx.output / b if ctx.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    formula = "−x"
    derivative = "∂/∂x = −1"

    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    formula = "aᵇ"
    derivative = "∂/∂a = b·aᵇ⁻¹, ∂/∂b = aᵇ·ln a"

    @staticmethod
    def forward(ctx, a, b):
        return np.power(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        da = grad * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        db = grad * ctx.output * ctx.xp.log(a) if ctx.needs_input_grad[1] else None
        return da, db


class Exp(Function):
    formula = "eˣ"
    derivative = "∂/∂x = eˣ"

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.output


class Log(Function):
    formula = "ln x"
    derivative = "∂/∂x = 1/x"

    @staticmethod
    def forward(ctx, x):
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.inputs
        return grad / x


class Sqrt(Function):
    formula = "√x"
    derivative = "∂/∂x = 1/(2√x)"

    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0.5 / ctx.output


class Abs(Function):
    formula = "|x|"
    derivative = "∂/∂x = sign(x)"

    @staticmethod
    def forward(ctx, x):
        ctx.sign = np.sign(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.sign


class Clip(Function):
    formula = "clip(x, lo, hi)"
    derivative = "∂/∂x = 1[lo ≤ x ≤ hi]"

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        inside = np.ones(np.shape(x), dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.inside = inside
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.inside


def _winner_masks(a, b):
    # Where a and b tie, each gets half the gradient (the subgradient PyTorch uses).
    dtype = np.result_type(a, b)
    wins_a = np.greater(a, b).astype(dtype) + 0.5 * np.equal(a, b)
    return wins_a.astype(dtype, copy=False), (1 - wins_a).astype(dtype, copy=False)


class Maximum(Function):
    formula = "max(a, b)"
    derivative = "∂/∂a = 1[a > b], ∂/∂b = 1[b > a] (ties: ½ each)"

    @staticmethod
    def forward(ctx, a, b):
        ctx.mask_a, ctx.mask_b = _winner_masks(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask_a, grad * ctx.mask_b


class Minimum(Function):
    formula = "min(a, b)"
    derivative = "∂/∂a = 1[a < b], ∂/∂b = 1[b < a] (ties: ½ each)"

    @staticmethod
    def forward(ctx, a, b):
        ctx.mask_b, ctx.mask_a = _winner_masks(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask_a, grad * ctx.mask_b


class Where(Function):
    formula = "cond ? a : b"
    derivative = "∂/∂a = 1[cond], ∂/∂b = 1[¬cond]"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = np.asarray(cond, dtype=bool)
        return np.where(ctx.cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        return None, grad * ctx.cond, grad * ~ctx.cond


class Cast(Function):
    formula = "x as dtype"
    derivative = "∂/∂x = 1 (cast back)"

    @staticmethod
    def forward(ctx, x, dtype):
        return np.asarray(x).astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the base class casts it back to the input's dtype
