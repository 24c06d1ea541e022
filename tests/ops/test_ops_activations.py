"""Activations against their hand-derived derivatives, finite differences, and stability."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import Tensor
from tinygrad_lab.testing import arrays, axes, check_gradients, shapes, tensors

SHAPES = shapes(max_dims=3, max_side=4)
ks = st.sampled_from([0.1, 0.5, 1.0, 2.0, 10.0])


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


# name: (apply, forward by hand, derivative by hand, values to avoid, value range)
ACTIVATIONS = {
    "sigmoid": (lambda x, k: x.sigmoid(k=k), lambda x, k: np_sigmoid(k * x),
                lambda x, k: k * np_sigmoid(k * x) * (1 - np_sigmoid(k * x)), (), (-3, 3)),
    "tanh": (lambda x, k: x.tanh(k=k), lambda x, k: np.tanh(k * x),
             lambda x, k: k * (1 - np.tanh(k * x) ** 2), (), (-3, 3)),
    "relu": (lambda x, k: x.relu(), lambda x, k: np.maximum(x, 0),
             lambda x, k: (x > 0).astype(float), (0,), (-3, 3)),
    "relu6": (lambda x, k: x.relu6(), lambda x, k: np.clip(x, 0, 6),
              lambda x, k: ((0 < x) & (x < 6)).astype(float), (0, 6), (-3, 9)),
    "leaky_relu": (lambda x, k: x.leaky_relu(slope=0.1 * k),
                   lambda x, k: np.where(x > 0, x, 0.1 * k * x),
                   lambda x, k: np.where(x > 0, 1.0, 0.1 * k), (0,), (-3, 3)),
    "softplus": (lambda x, k: x.softplus(), lambda x, k: np.log1p(np.exp(x)),
                 lambda x, k: np_sigmoid(x), (), (-3, 3)),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(data=st.data(), k=ks)
def test_activation_matches_its_hand_derived_formula(name, data, k):
    apply, f, df, avoid, (lo, hi) = ACTIVATIONS[name]
    x = data.draw(tensors(SHAPES, dtype=np.float64, min_value=lo, max_value=hi, avoid=avoid))
    g = data.draw(arrays(shape=x.shape, dtype=np.float64))
    y = apply(x, k)
    np.testing.assert_allclose(y.numpy(), f(x.numpy(), k), rtol=1e-12, atol=1e-15)
    y.backward(g)
    # σ' = kσ(1−σ) from the output: 1−σ cancels near σ = 1, hence the absolute tolerance.
    np.testing.assert_allclose(x.grad.numpy(), g * df(x.numpy(), k), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(data=st.data(), k=ks)
def test_activation_gradcheck_and_float32(name, data, k):
    apply, f, _, avoid, (lo, hi) = ACTIVATIONS[name]
    x = data.draw(tensors(SHAPES, min_value=lo, max_value=hi, avoid=avoid))
    y = apply(x, k)
    assert y.dtype == x.dtype and y.shape == x.shape
    check_gradients(lambda t: apply(t, k), x)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "leaky_relu"])
@given(data=st.data(), k=ks)
def test_activation_second_derivatives(name, data, k):
    apply, _, _, avoid, (lo, hi) = ACTIVATIONS[name]
    x = data.draw(tensors(shapes(max_dims=2, max_side=3), min_value=lo, max_value=hi, avoid=avoid))
    check_gradients(lambda t: apply(t, k), x, second_order=True)


@pytest.mark.filterwarnings("error")  # an overflow warning fails the test
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype), requires_grad=True)
    y = x.sigmoid(k=10.0)
    assert y.dtype == dtype and np.all(np.isfinite(y.numpy()))
    exact = np.exp(-np.logaddexp(0, -10.0 * x.numpy().astype(np.float64)))
    np.testing.assert_allclose(y.numpy(), exact, rtol=1e-6, atol=1e-37)
    assert y.numpy()[0] == 0 and y.numpy()[-1] == 1
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), 10 * exact * (1 - exact), rtol=1e-6, atol=1e-37)
    g, = tl.grad(x.sigmoid(k=10.0).sum(), x, create_graph=True)  # second order too
    h, = tl.grad(g.sum(), x)
    assert np.all(np.isfinite(h.numpy()))


def test_sigmoid_silences_overflow_only_inside_itself():
    # The sigmoid ignores overflow (e^(−kz) = inf gives σ = 0, the right answer); the
    # caller's NumPy error settings must be back in force as soon as it returns.
    with np.errstate(over="raise"):
        Tensor(np.array([-1000.0], np.float32)).sigmoid(k=10.0)
        with pytest.raises(FloatingPointError):
            np.exp(np.array([1000.0], np.float32))


@pytest.mark.parametrize("dtype, z", [(np.float32, [-10.0, -20.0, -80.0]),
                                      (np.float64, [-20.0, -40.0, -700.0])])
def test_sigmoid_keeps_relative_precision_in_the_left_tail(dtype, z):
    # log σ(z) ≈ z there: a saturated wrong output must cost ~|z| in cross-entropy, not log(0).
    y = Tensor(np.array(z, dtype)).sigmoid().numpy()
    np.testing.assert_allclose(y, np.exp(-np.logaddexp(0, -np.array(z))), rtol=1e-5)
    p = Tensor(np.array(z[:1], dtype)).sigmoid()
    np.testing.assert_allclose(tl.binary_cross_entropy(p, np.ones(1)).item(), -z[0], rtol=1e-5)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_softplus_softmax_are_stable_for_large_inputs(dtype):
    x = Tensor(np.array([-1000.0, 0.0, 1000.0], dtype), requires_grad=True)
    np.testing.assert_array_equal(x.tanh(k=10).numpy(), [-1, 0, 1])
    sp = x.softplus()
    np.testing.assert_allclose(sp.numpy(), [0, np.log(2), 1000], rtol=1e-6)
    sm = x.softmax()
    np.testing.assert_array_equal(sm.numpy(), [0, 0, 1])
    ls = x.log_softmax()
    np.testing.assert_allclose(ls.numpy(), [-2000, -1000, 0])
    (x.tanh(k=10).sum() + sp.sum() + (sm * np.arange(3.0)).sum() + ls.sum()).backward()
    assert np.all(np.isfinite(x.grad.numpy()))


# --- softmax and log_softmax ------------------------------------------------------------------
@st.composite
def softmax_case(draw):
    x = draw(tensors(shapes(min_dims=1, max_dims=3, max_side=4), dtype=np.float64))
    return x, draw(axes(x.shape, allow_none=False, allow_tuple=False))


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@given(case=softmax_case(), data=st.data())
def test_softmax_matches_the_jacobian_formula(case, data):
    x, axis = case
    g = data.draw(arrays(shape=x.shape, dtype=np.float64))
    y = x.softmax(axis=axis)
    s = np_softmax(x.numpy(), axis)
    np.testing.assert_allclose(y.numpy(), s, rtol=1e-12)
    np.testing.assert_allclose(y.numpy().sum(axis=axis), 1.0)
    y.backward(g)  # Jᵀg = s ⊙ (g − Σ g⊙s)
    np.testing.assert_allclose(x.grad.numpy(), s * (g - (g * s).sum(axis=axis, keepdims=True)),
                               rtol=1e-10, atol=1e-14)
    check_gradients(lambda t: t.softmax(axis=axis), x)


@given(case=softmax_case(), data=st.data())
def test_log_softmax_matches_the_formula(case, data):
    x, axis = case
    g = data.draw(arrays(shape=x.shape, dtype=np.float64))
    y = x.log_softmax(axis=axis)
    s = np_softmax(x.numpy(), axis)
    np.testing.assert_allclose(y.numpy(), np.log(s), rtol=1e-10, atol=1e-12)
    y.backward(g)  # g − softmax · Σ g
    np.testing.assert_allclose(x.grad.numpy(), g - s * g.sum(axis=axis, keepdims=True),
                               rtol=1e-10, atol=1e-12)
    check_gradients(lambda t: t.log_softmax(axis=axis), x)


@given(case=softmax_case())
def test_softmax_second_derivatives(case):
    x, axis = case
    if x.size > 12:
        return
    check_gradients(lambda t: t.softmax(axis=axis), x, second_order=True)
    check_gradients(lambda t: t.log_softmax(axis=axis), x, second_order=True)


def test_softmax_invalid_axis():
    with pytest.raises(ValueError, match=r"softmax: axis 2 is out of range.*\(2, 3\)"):
        Tensor(np.ones((2, 3))).softmax(axis=2)


def test_every_activation_op_documents_its_formula_and_derivative():
    for op in (tl.ops.Sigmoid, tl.ops.Tanh, tl.ops.ReLU, tl.ops.ReLU6, tl.ops.LeakyReLU,
               tl.ops.Softplus, tl.ops.Softmax, tl.ops.LogSoftmax):
        assert op.formula and op.derivative.startswith("∂/∂x"), op.__name__
    assert tl.ops.Sigmoid.derivative == "∂/∂x = k·σ(1−σ)"
