"""matmul: 1-D, 2-D and batched operands with NumPy's rules; gradients; shape errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lab as tl
from tinygrad_lab import Tensor
from tinygrad_lab.testing import check_gradients, shapes, tensors

# NumPy's own signature for matmul, '(n?,k),(k,m?)->(n?,m?)': it draws 1-D operands
# (the optional n?/m? dropped) and broadcast batch axes on either side.
matmul_shapes = hnp.mutually_broadcastable_shapes(
    signature=np.matmul.signature, max_dims=2, max_side=4).map(lambda b: b.input_shapes)


@given(data=st.data())
def test_matmul_matches_numpy_and_gradchecks(data):
    sa, sb = data.draw(matmul_shapes)
    a = data.draw(tensors(shape=sa, dtype=np.float64))
    b = data.draw(tensors(shape=sb, dtype=np.float64))
    out = a @ b
    expected = np.matmul(a.numpy(), b.numpy())
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    check_gradients(tl.matmul, a, b)


@given(data=st.data())
def test_matmul_second_derivatives(data):
    sa, sb = data.draw(matmul_shapes)
    a = data.draw(tensors(shape=sa, dtype=np.float64))
    b = data.draw(tensors(shape=sb, dtype=np.float64))
    check_gradients(lambda a, b: (a @ b) * (a @ b), a, b, second_order=True)


@pytest.mark.parametrize("sa, sb, out", [
    ((4,), (4,), ()), ((4,), (4, 3), (3,)), ((2, 4), (4,), (2,)), ((2, 4), (4, 3), (2, 3)),
    ((5, 2, 4), (4, 3), (5, 2, 3)), ((2, 4), (5, 4, 3), (5, 2, 3)),
    ((5, 1, 2, 4), (3, 4, 6), (5, 3, 2, 6)), ((4,), (5, 4, 3), (5, 3)), ((5, 2, 4), (4,), (5, 2)),
])
def test_matmul_shapes_and_gradient_shapes(sa, sb, out):
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal(sa), requires_grad=True)
    b = Tensor(rng.standard_normal(sb), requires_grad=True)
    y = a @ b
    assert y.shape == out
    np.testing.assert_allclose(y.numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    (y * y).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    check_gradients(tl.matmul, a, b)


def test_matmul_hand_derived_gradients():
    rng = np.random.default_rng(1)
    A, B, G = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    a, b = Tensor(A, requires_grad=True), Tensor(B, requires_grad=True)
    (a @ b).backward(G)
    np.testing.assert_allclose(a.grad.numpy(), G @ B.T)   # ∂/∂A = G Bᵀ
    np.testing.assert_allclose(b.grad.numpy(), A.T @ G)   # ∂/∂B = Aᵀ G


def test_matmul_with_arrays_on_either_side_and_float32():
    w = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = np.ones((4, 3), np.float32)
    y = x @ w
    assert isinstance(y, Tensor) and y.dtype == np.float32 and y.shape == (4, 2)
    z = w.T @ np.ones(3, np.float32)
    assert isinstance(z, Tensor) and z.shape == (2,)
    (y.sum() + z.sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full((3, 2), 5.0))


def test_matmul_inner_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) @ \(3, 2\) do not fit.*x\.T"):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) @ \(4,\)"):
        Tensor(np.ones(3)) @ Tensor(np.ones(4))


def test_matmul_batch_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"MatMul: shapes \(2, 3, 4\) and \(3, 4, 5\) cannot be "
                                         r"broadcast"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 5)))


def test_matmul_rejects_scalars():
    with pytest.raises(ValueError, match=r"matmul: operands must have at least one dimension.*\*"):
        tl.matmul(Tensor(2.0), Tensor(np.ones(3)))


# --- linear: x·Wᵀ + b, the fully connected layer as one op ---------------------------------------
@st.composite
def linear_case(draw):
    batch = draw(shapes(min_dims=0, max_dims=2, max_side=4))
    d_in, d_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(tensors(shape=batch + (d_in,), dtype=np.float64))
    w = draw(tensors(shape=(d_out, d_in), dtype=np.float64))
    b = draw(st.none() | tensors(shape=(d_out,), dtype=np.float64))
    return x, w, b


@given(case=linear_case())
def test_linear_matches_numpy_and_gradchecks(case):
    x, w, b = case
    y = tl.linear(x, w, b)
    expected = x.numpy() @ w.numpy().T + (0 if b is None else b.numpy())
    assert y.op is tl.ops.Linear and y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    if b is None:
        check_gradients(tl.linear, x, w, second_order=True)
    else:
        check_gradients(tl.linear, x, w, b, second_order=True)


def test_linear_hand_derived_gradients_and_errors():
    rng = np.random.default_rng(2)
    X, W, B, G = (rng.standard_normal(s) for s in [(5, 3), (2, 3), (2,), (5, 2)])
    x, w, b = (Tensor(a, requires_grad=True) for a in (X, W, B))
    tl.linear(x, w, b).backward(G)
    np.testing.assert_allclose(x.grad.numpy(), G @ W)       # ∂/∂x = G·W
    np.testing.assert_allclose(w.grad.numpy(), G.T @ X)     # ∂/∂W = Gᵀ·x, in W's layout
    np.testing.assert_allclose(b.grad.numpy(), G.sum(axis=0))
    with pytest.raises(ValueError, match=r"linear: input of shape \(5, 3\) does not fit a weight "
                                         r"of shape \(3, 2\)"):
        tl.linear(x, Tensor(np.ones((3, 2))))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\) does not fit 2 outputs"):
        tl.linear(x, w, np.ones(3))
