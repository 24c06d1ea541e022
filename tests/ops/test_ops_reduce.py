"""Reductions sum/mean/max/min over axis None, an int, a tuple (negative axes too), with
and without keepdims: values equal NumPy's, gradients equal finite differences."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import Tensor
from tinygrad_lab.testing import axes, check_gradients, shapes, tensors

REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}


@st.composite
def reduction_case(draw, name):
    # max/min: tie-free values, since ties are where their derivative is not defined.
    x = draw(tensors(shapes(max_dims=4, max_side=4), distinct=name in ("max", "min")))
    return x, draw(axes(x.shape)), draw(st.booleans())


@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data())
def test_reduction_values_shapes_and_gradients(name, data):
    x, axis, keepdims = data.draw(reduction_case(name))
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    expected = REDUCTIONS[name](x.numpy(), axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape and out.dtype == x.dtype
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    check_gradients(lambda t: getattr(tl, name)(t, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data())
def test_reduction_second_derivatives(name, data):
    x, axis, keepdims = data.draw(reduction_case(name))
    if x.size > 16:
        x = Tensor(x.numpy().reshape(-1)[:16], requires_grad=True)
        axis = None

    def curved(t):  # a reduction is linear (or piecewise so): square to get a 2nd derivative
        if name in ("sum", "mean"):
            return getattr(t * t, name)(axis=axis, keepdims=keepdims)
        return getattr(t, name)(axis=axis, keepdims=keepdims) ** 2  # t*t could create ties
    check_gradients(curved, x, second_order=True)


def test_hand_derived_reduction_gradients():
    x = np.arange(12.0).reshape(3, 4)
    g = np.array([1.0, 2.0, 3.0])
    for name, expected in [("sum", np.repeat(g[:, None], 4, 1)),
                           ("mean", np.repeat(g[:, None], 4, 1) / 4),
                           ("max", np.eye(4)[[3, 3, 3]] * g[:, None]),
                           ("min", np.eye(4)[[0, 0, 0]] * g[:, None])]:
        t = Tensor(x, requires_grad=True)
        getattr(t, name)(axis=-1).backward(g)
        np.testing.assert_array_equal(t.grad.numpy(), expected, err_msg=name)


def test_keepdims_gradient_through_broadcasting():
    # x − x.mean(axis=1, keepdims=True) sums to zero per row: its gradient is 0.
    x = Tensor(np.random.default_rng(0).standard_normal((3, 5)), requires_grad=True)
    (x - x.mean(axis=1, keepdims=True)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0, atol=1e-12)


@pytest.mark.parametrize("name", ["max", "min"])
def test_ties_share_the_gradient_equally(name):
    sign = 1 if name == "max" else -1
    x = Tensor(np.array([[2.0, 2.0, 2.0, -5.0], [1.0, 7.0, 7.0, 3.0]]) * sign, requires_grad=True)
    getattr(x, name)(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, 1 / 3, 1 / 3, 0], [0, 0.5, 0.5, 0]])


def test_scalar_tensor_reductions():
    x = Tensor(np.float64(3.0), requires_grad=True)
    for name in REDUCTIONS:
        assert getattr(x, name)().item() == 3.0
    (x.sum() + x.mean() + x.max() + x.min()).backward()
    assert x.grad.item() == 4.0


def test_numpy_integer_axes_work_in_backward():
    # Regression: backward raised "'numpy.int64' object is not iterable".
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    for name in REDUCTIONS:
        check_gradients(lambda t: getattr(t, name)(axis=np.int64(-1)), x)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_invalid_axis_names_the_op_axis_and_shape(name):
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{name}: axis 2 is out of range.*\(2, 3\)"):
        getattr(x, name)(axis=2)
    with pytest.raises(ValueError, match=rf"{name}: axis -3 is out of range"):
        getattr(x, name)(axis=(0, -3))
    with pytest.raises(ValueError, match=rf"{name}: axis \(1, -1\) repeats an axis"):
        getattr(x, name)(axis=(1, -1))


def test_max_of_empty_tensor_is_a_clear_error():
    with pytest.raises(ValueError, match=r"max: the tensor of shape \(0, 3\) is empty"):
        Tensor(np.ones((0, 3))).max()
