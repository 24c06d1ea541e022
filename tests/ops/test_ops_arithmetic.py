"""Elementwise arithmetic and math ops: values equal NumPy's, gradients equal finite
differences on drawn shapes (broadcasting in both directions), reflected forms work."""
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import Tensor
from tinygrad_lab.testing import (arrays, broadcastable_shapes, check_gradients,
                                  positive_arrays, shapes, tensors)

SMALL = dict(max_dims=3, max_side=4)
SMALL_SHAPES = shapes(**SMALL)

# name: (tl function, NumPy reference, value options for a, value options for b)
BINARY = {
    "add": (operator.add, np.add, {}, {}),
    "sub": (operator.sub, np.subtract, {}, {}),
    "mul": (operator.mul, np.multiply, {}, {}),
    "div": (operator.truediv, np.divide, {}, dict(avoid=(0,), margin=0.5)),
    "pow": (operator.pow, np.power, dict(min_value=0.2), dict(min_value=-2, max_value=2)),
    "maximum": (tl.maximum, np.maximum, {}, {}),
    "minimum": (tl.minimum, np.minimum, {}, {}),
}


@st.composite
def broadcast_pair(draw, a_opts, b_opts, dtype=np.float64):
    """Two tensors whose shapes broadcast together, either one being stretched."""
    sa, sb = draw(broadcastable_shapes(**SMALL))
    return (draw(tensors(shape=sa, dtype=dtype, **a_opts)),
            draw(tensors(shape=sb, dtype=dtype, **b_opts)))


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_forward_matches_numpy_and_keeps_float32(name, data):
    fn, ref, a_opts, b_opts = BINARY[name]
    a, b = data.draw(broadcast_pair(a_opts, b_opts, dtype=np.float32))
    out = fn(a, b)
    assert out.dtype == np.float32
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(out.numpy(), ref(a.numpy(), b.numpy()), rtol=1e-6)


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_gradients_with_broadcasting(name, data):
    fn, _, a_opts, b_opts = BINARY[name]
    if name in ("maximum", "minimum"):  # keep a and b apart: ties are a kink
        a_opts, b_opts = dict(min_value=0.1, max_value=3), dict(min_value=-3, max_value=-0.1)
        if data.draw(st.booleans()):
            a_opts, b_opts = b_opts, a_opts
    a, b = data.draw(broadcast_pair(a_opts, b_opts))
    check_gradients(fn, a, b)
    fn(a, b).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape  # reduced to own shapes


def test_broadcast_gradient_sums_over_stretched_axes_in_both_directions():
    a = Tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    b = Tensor(np.arange(4.0), requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 6.0))  # Σ b
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0))       # Σ a


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("scalar", [2.5, 2, np.float32(2.5), np.float64(-1.5)])
@given(x=tensors(SMALL_SHAPES, min_value=0.5, max_value=3))
def test_forms_with_a_scalar_on_either_side(name, scalar, x):
    fn, ref, _, _ = BINARY[name]
    if name == "pow" and scalar < 0:
        scalar = -scalar  # a negative base to a real power is NaN
    for left, right in ((x, scalar), (scalar, x)):
        out = fn(left, right)
        assert isinstance(out, Tensor) and out.dtype == x.dtype  # Python scalars do not upcast
        np.testing.assert_allclose(
            out.numpy(), ref(np.asarray(left.numpy() if left is x else left, np.float64),
                             np.asarray(right.numpy() if right is x else right, np.float64)),
            rtol=1e-5)
    check_gradients(lambda t: fn(t, scalar), x)
    check_gradients(lambda t: fn(scalar, t), x)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@given(data=st.data())
def test_forms_with_an_array_on_either_side(name, data):
    fn, ref, _, _ = BINARY[name]
    sa, sx = data.draw(broadcastable_shapes(**SMALL))
    arr = data.draw(positive_arrays(shape=sa, dtype=np.float64, min_value=0.5))
    x = data.draw(tensors(shape=sx, dtype=np.float64, min_value=0.5, max_value=3))
    for left, right in ((arr, x), (x, arr)):
        out = fn(left, right)  # ndarray ⊕ Tensor must give a Tensor, not an object array
        assert isinstance(out, Tensor)
        np.testing.assert_allclose(
            out.numpy(), ref(*(v.numpy() if v is x else v for v in (left, right))), rtol=1e-12)
    check_gradients(lambda t: fn(arr, t), x)
    check_gradients(lambda t: fn(t, arr), x)


def test_scalar_tensor_with_array_gives_the_arrays_shape():
    s = Tensor(2.0, requires_grad=True)
    out = np.ones((2, 3)) * s
    assert out.shape == (2, 3)
    out.sum().backward()
    assert s.grad.shape == () and s.grad.item() == 6.0


# --- unary math ----------------------------------------------------------------------------
UNARY = {
    "neg": (lambda t: -t, np.negative, {}),
    "exp": (tl.exp, np.exp, {}),
    "log": (tl.log, np.log, dict(min_value=0.1)),
    "sqrt": (tl.sqrt, np.sqrt, dict(min_value=0.1)),
    "abs": (tl.abs, np.abs, dict(avoid=(0,))),
    "clip": (lambda t: t.clip(-1, 1.5), lambda a: np.clip(a, -1, 1.5), dict(avoid=(-1, 1.5))),
    "clip_lo": (lambda t: tl.clip(t, lo=0.5), lambda a: np.clip(a, 0.5, None), dict(avoid=(0.5,))),
    "square": (lambda t: t ** 2, np.square, {}),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_values_and_gradients(name, data):
    fn, ref, opts = UNARY[name]
    x = data.draw(tensors(SMALL_SHAPES, **opts))
    out = fn(x)
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_allclose(out.numpy(), ref(x.numpy()), rtol=1e-6)
    check_gradients(fn, x)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "square", "neg"])
@given(data=st.data())
def test_unary_second_derivatives(name, data):
    fn, _, opts = UNARY[name]
    x = data.draw(tensors(shapes(max_dims=2, max_side=3), **opts))
    check_gradients(fn, x, second_order=True)


def test_hand_derived_unary_gradients():
    x = np.array([0.5, 1.5, 2.0])
    for fn, derivative in [(tl.exp, np.exp(x)), (tl.log, 1 / x), (tl.sqrt, 0.5 / np.sqrt(x)),
                           (tl.abs, np.sign(x)), (lambda t: t ** 3, 3 * x ** 2),
                           (lambda t: 2.0 ** t, 2.0 ** x * np.log(2.0))]:
        t = Tensor(x, requires_grad=True)
        fn(t).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), derivative, rtol=1e-12)


def test_abs_gradient_at_zero_is_zero():
    x = Tensor(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 1.0])


def test_clip_passes_the_gradient_inside_and_at_the_bounds():
    x = Tensor(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), requires_grad=True)
    x.clip(-1, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])
    with pytest.raises(ValueError, match="lo, hi or both"):
        tl.clip(x)


def test_maximum_minimum_ties_share_the_gradient():
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 2.0, 1.0]), requires_grad=True)
    (tl.maximum(a, b) + 10 * tl.minimum(a, b)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [10, 5.5, 1])
    np.testing.assert_allclose(b.grad.numpy(), [1, 5.5, 10])


@given(data=st.data())
def test_where_routes_gradients_by_condition(data):
    (sc, sa, sb) = data.draw(broadcastable_shapes(num_shapes=3, **SMALL))
    cond = data.draw(arrays(shape=sc, dtype=np.float64)) > 0
    a = data.draw(tensors(shape=sa, dtype=np.float64))
    b = data.draw(tensors(shape=sb, dtype=np.float64))
    np.testing.assert_array_equal(tl.where(cond, a, b).numpy(),
                                  np.where(cond, a.numpy(), b.numpy()))
    check_gradients(lambda a, b: tl.where(cond, a, b), a, b)
    check_gradients(lambda a: tl.where(Tensor(cond), a, 0.0), a)  # Tensor condition, scalar branch


@given(x=tensors(SMALL_SHAPES, dtype=np.float32))
def test_cast_computes_in_the_new_dtype_and_casts_the_gradient_back(x):
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.numpy(), x.numpy().astype(np.float64))
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, 3, np.float32))
    check_gradients(lambda t: t.astype(np.float64) * 3, x)  # gradcheck runs in float64


def test_pow_with_tensor_exponent_and_zero_base():
    # d/da a² at a = 0 is 0 (not NaN), and d/db a^b = a^b ln a.
    a = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (a ** 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 4.0])
    a = Tensor(np.array([1.5, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 0.5]), requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), a.numpy() ** b.numpy() * np.log(a.numpy()))
    np.testing.assert_allclose(a.grad.numpy(), b.numpy() * a.numpy() ** (b.numpy() - 1))


# --- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, op", [(operator.add, "Add"), (operator.sub, "Sub"),
                                    (operator.mul, "Mul"), (operator.truediv, "Div"),
                                    (tl.maximum, "Maximum")])
def test_broadcast_mismatch_names_the_op_and_both_shapes(fn, op):
    a, b = Tensor(np.ones((3, 4)), requires_grad=True), Tensor(np.ones((2, 4)))
    with pytest.raises(ValueError,
                       match=rf"{op}: shapes \(3, 4\) and \(2, 4\) cannot be broadcast"):
        fn(a, b)
    with pytest.raises(ValueError, match=rf"{op}: shapes \(3, 4\) and \(3,\)"):
        fn(a, np.ones(3))
