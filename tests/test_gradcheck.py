"""tl.gradcheck and tl.gradgradcheck: they pass correct gradients, catch wrong ones, and
say where (input, element, analytic and numeric values)."""
import re

import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Function, Tensor


class Sin(Function):
    formula = "sin x"
    derivative = "∂/∂x = cos x"

    @staticmethod
    def forward(ctx, x):
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.inputs
        return grad * np.cos(x)


class SinWrongAtOneElement(Sin):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.inputs
        g = grad * np.cos(x)
        g.reshape(-1)[4] += 0.5
        return g


class SinConstantSecondOrder(Function):
    """Right first derivative, but cos x is computed in forward and saved as a constant,
    so the second derivative comes out 0: what gradgradcheck is for."""

    @staticmethod
    def forward(ctx, x):
        ctx.cos = np.cos(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.cos


def make(shape, seed=0, **kw):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True, **kw)


def test_gradcheck_passes_correct_gradients_for_several_inputs():
    x, w = make((3, 4)), make((4, 2), seed=1)
    assert tl.gradcheck(lambda x, w: (x @ w).sigmoid(k=2).sum(), (x, w)) is True
    assert tl.gradcheck(Sin.apply, [x])
    assert tl.gradcheck(lambda x: x * 2, x)  # a single tensor is accepted too


def test_gradcheck_reports_input_element_and_both_values():
    a, x = make((2, 2)), make((2, 3), seed=3, name="x")
    with pytest.raises(tl.GradcheckError) as info:
        tl.gradcheck(lambda a, x: a.sum() + SinWrongAtOneElement.apply(x), (a, x))
    msg = str(info.value)
    assert "input 1 ('x') of shape (2, 3)" in msg and "1 of 6 elements disagree" in msg
    assert "worst element (1, 1)" in msg  # flat index 4
    analytic, numeric = map(float, re.search(r"analytic (\S+), numeric (\S+) ", msg).groups())
    assert abs(analytic - numeric) > 0.1


def test_gradcheck_runs_in_float64_even_for_float32_inputs():
    x = Tensor(np.random.default_rng(0).standard_normal(5).astype(np.float32), requires_grad=True)
    assert tl.gradcheck(lambda t: t.exp() * t, [x])
    assert x.dtype == np.float32 and x.grad is None  # the caller's tensor is untouched


def test_gradcheck_passes_non_tensor_arguments_and_constants_through():
    x = make(3)
    c = Tensor(np.array([1.0, 2.0, 3.0]))  # no requires_grad: not checked
    assert tl.gradcheck(lambda x, c, k: (x * c).tanh(k=k), (x, c, 0.5))


def test_gradcheck_handles_tuple_outputs_and_unused_inputs():
    x, unused = make(3), make(2, seed=1)
    assert tl.gradcheck(lambda x, u: (x.exp(), x * 3), (x, unused))


def test_gradcheck_catches_a_gradient_that_is_missing():
    class Forgets(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.inputs
            return grad * y, None  # forgets ∂/∂y

    with pytest.raises(tl.GradcheckError, match="input 1 of shape"):
        tl.gradcheck(Forgets.apply, (make(3), make(3, seed=1)))


def test_gradcheck_argument_errors():
    with pytest.raises(ValueError, match="no input requires grad"):
        tl.gradcheck(lambda x: x, [Tensor(np.ones(2))])
    with pytest.raises(TypeError, match="must return a Tensor.*output 0 is a ndarray"):
        tl.gradcheck(lambda x: x.numpy(), [make(2)])
    with pytest.raises(TypeError, match="output 0 has dtype float32.*float64"):
        tl.gradcheck(lambda x: x.astype(np.float32), [make(2)])


def test_gradcheck_tolerances_are_used():
    x = make(6)
    with pytest.raises(tl.GradcheckError):
        tl.gradcheck(SinWrongAtOneElement.apply, [x])
    assert tl.gradcheck(SinWrongAtOneElement.apply, [x], atol=1.0)


def test_gradgradcheck_passes_correct_second_derivatives():
    x, w = make((2, 3)), make((3, 2), seed=1)
    assert tl.gradgradcheck(lambda x, w: (x @ w).tanh(k=1.5), (x, w))
    assert tl.gradgradcheck(lambda x: x.log_softmax(axis=1), [x])


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = make(4)
    assert tl.gradcheck(SinConstantSecondOrder.apply, [x])  # first order is right...
    with pytest.raises(tl.GradcheckError, match="input 0"):
        tl.gradgradcheck(SinConstantSecondOrder.apply, [x])  # ...second order is not


def test_gradcheck_ignores_the_graphs_it_builds():
    x = make(3)
    tl.gradcheck(lambda t: (t * t).sum(), [x])
    tl.gradgradcheck(lambda t: (t * t * t).sum(), [x])
    assert x.grad is None and x.is_leaf
