"""Losses against their hand-derived gradients: d MSE/dy = 2(y−t)/size,
d CE/d logits = (softmax − onehot)/N (index and one-hot targets), BCE, NLL; errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import Tensor
from tinygrad_lab.testing import arrays, check_gradients, shapes, tensors


@st.composite
def classification(draw, max_n=5, max_c=5):
    """Logits (N, C) in float64 and integer class targets (N,)."""
    n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_c))
    logits = draw(tensors(shape=(n, c), dtype=np.float64))
    targets = np.asarray(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)),
                         dtype=np.int64)
    return logits, targets


def np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- mean squared error -------------------------------------------------------------------
@given(data=st.data())
def test_mse_value_and_gradient_formula(data):
    y = data.draw(tensors(shapes(max_dims=3, max_side=4), dtype=np.float64))
    t = data.draw(arrays(shape=y.shape, dtype=np.float64))
    loss = tl.mse_loss(y, t)
    np.testing.assert_allclose(loss.item(), np.mean((y.numpy() - t) ** 2), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * (y.numpy() - t) / y.size, rtol=1e-12)


@given(data=st.data())
def test_mse_gradcheck_both_arguments(data):
    y = data.draw(tensors(shapes(max_dims=2, max_side=4), dtype=np.float64))
    t = data.draw(tensors(shape=y.shape, dtype=np.float64))
    check_gradients(tl.mse_loss, y, t, second_order=True)


def test_mse_keeps_float32_and_checks_shapes():
    y = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    assert tl.mse_loss(y, np.zeros((2, 3))).dtype == np.float32
    with pytest.raises(ValueError, match=r"mse_loss: predictions have shape \(2, 3\) but "
                                         r"targets have shape \(3, 2\)"):
        tl.mse_loss(y, np.zeros((3, 2)))


# --- cross-entropy ----------------------------------------------------------------------------
@given(case=classification())
def test_cross_entropy_with_index_targets_matches_the_formula(case):
    z, t = case
    n, c = z.shape
    onehot = np.eye(c)[t]
    loss = tl.cross_entropy(z, t)
    p = np_softmax(z.numpy())
    np.testing.assert_allclose(loss.item(), -np.mean(np.log(p[np.arange(n), t])), rtol=1e-10)
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), (p - onehot) / n, rtol=1e-10, atol=1e-15)


@given(case=classification())
def test_cross_entropy_with_one_hot_targets_equals_index_targets(case):
    z, t = case
    onehot = np.eye(z.shape[1])[t]
    a, b = tl.cross_entropy(z, t), tl.cross_entropy(z, onehot)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
    ga, = tl.grad(a, z)
    gb, = tl.grad(b, z)
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-12)
    check_gradients(lambda z: tl.cross_entropy(z, t), z, second_order=True)


@given(case=classification(), data=st.data())
def test_cross_entropy_with_soft_targets_gradchecks_both_arguments(case, data):
    z, _ = case
    raw = data.draw(arrays(shape=z.shape, dtype=np.float64, min_value=0.1, max_value=1))
    t = Tensor(raw / raw.sum(axis=1, keepdims=True), requires_grad=True)
    check_gradients(tl.cross_entropy, z, t, second_order=True)


def test_cross_entropy_is_stable_for_huge_logits():
    z = Tensor(np.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, 1e4]]), requires_grad=True)
    loss = tl.cross_entropy(z, np.array([0, 0]))
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), (0 + 1e4) / 2)
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), [[0, 0, 0], [-0.5, 0, 0.5]], atol=1e-12)


def test_cross_entropy_keeps_float32():
    z = Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    loss = tl.cross_entropy(z, [0, 2])
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), np.log(3), rtol=1e-6)
    loss.backward()
    assert z.grad.dtype == np.float32


@pytest.mark.parametrize("targets, message", [
    (np.array([0, 1, 3]), r"cross_entropy: class indices must lie in \[0, 2\] for 3 classes, "
                          r"got values from 0 to 3"),
    (np.array([0, -1, 2]), r"class indices must lie in \[0, 2\].*from -1 to 2"),
    (np.array([0, 1]), r"class-index targets must have shape \(3,\) .*got \(2,\)"),
    (np.array([[0, 1, 2]]), r"class-index targets must have shape \(3,\)"),
    (np.array([0.0, 1.0, 2.0]), r"look like class indices but have dtype float64.*integer"),
    (Tensor([0, 1, 2]), r"look like class indices but have dtype float32"),
    (np.zeros((3, 4)), r"predictions have shape \(3, 3\) but targets have shape \(3, 4\)"),
])
def test_cross_entropy_bad_targets_are_clear_errors(targets, message):
    z = Tensor(np.zeros((3, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        tl.cross_entropy(z, targets)


def test_cross_entropy_needs_2d_scores():
    with pytest.raises(ValueError, match=r"cross_entropy: expects scores of shape \(N, C\), "
                                         r"got \(2, 3, 4\)"):
        tl.cross_entropy(Tensor(np.zeros((2, 3, 4))), np.array([0, 1]))


# --- negative log-likelihood --------------------------------------------------------------------
@given(case=classification())
def test_nll_loss_formula_and_composition_with_log_softmax(case):
    z, t = case
    n, c = z.shape
    logp = z.log_softmax(axis=1)
    logp.retain_grad()
    loss = tl.nll_loss(logp, t)
    np.testing.assert_allclose(loss.item(), -np.mean(logp.numpy()[np.arange(n), t]), rtol=1e-12)
    np.testing.assert_allclose(loss.item(), tl.cross_entropy(z, t).item(), rtol=1e-10)
    loss.backward()
    np.testing.assert_allclose(logp.grad.numpy(), -np.eye(c)[t] / n)     # d/d log p = −onehot/N
    np.testing.assert_allclose(z.grad.numpy(), (np_softmax(z.numpy()) - np.eye(c)[t]) / n,
                               rtol=1e-10, atol=1e-15)
    check_gradients(lambda lp: tl.nll_loss(lp, t), z)


def test_nll_loss_bad_targets():
    with pytest.raises(ValueError, match=r"nll_loss: class indices must lie in \[0, 1\]"):
        tl.nll_loss(Tensor(np.zeros((2, 2))), np.array([0, 2]))


# --- binary cross-entropy ------------------------------------------------------------------
@given(data=st.data())
def test_binary_cross_entropy_value_and_gradient_formula(data):
    p = data.draw(tensors(shapes(max_dims=2, max_side=4), dtype=np.float64, min_value=0.05,
                          max_value=0.95))
    t = data.draw(arrays(shape=p.shape, dtype=np.float64, min_value=0, max_value=1))
    loss = tl.binary_cross_entropy(p, t)
    q = p.numpy()
    np.testing.assert_allclose(loss.item(), -np.mean(t * np.log(q) + (1 - t) * np.log(1 - q)),
                               rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), (q - t) / (q * (1 - q) * q.size), rtol=1e-10)
    check_gradients(lambda p, t: tl.binary_cross_entropy(p, t), p,
                    Tensor(t, requires_grad=True), second_order=True)


def test_binary_cross_entropy_on_sigmoid_gives_p_minus_t():
    # d/dz BCE(σ(z), t) = (σ(z) − t)/n: the sigmoid's derivative cancels.
    z = Tensor(np.array([-2.0, 0.5, 3.0]), requires_grad=True)
    t = np.array([0.0, 1.0, 1.0])
    tl.binary_cross_entropy(z.sigmoid(), t).backward()
    s = 1 / (1 + np.exp(-z.numpy()))
    np.testing.assert_allclose(z.grad.numpy(), (s - t) / 3, rtol=1e-10)


def test_binary_cross_entropy_saturated_predictions_stay_finite():
    p = Tensor(np.array([0.0, 1.0, 1.0]), requires_grad=True)
    loss = tl.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]))
    np.testing.assert_allclose(loss.item(), 200 / 3)  # each log clamped at −100
    loss.backward()
    assert np.all(np.isfinite(p.grad.numpy()))


def test_binary_cross_entropy_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: predictions must be "
                                         r"probabilities in \[0, 1\].*sigmoid"):
        tl.binary_cross_entropy(Tensor([1.5, 0.2]), np.array([1.0, 0.0]))
