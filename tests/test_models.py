"""The assignment's MLP: its structure, and one training step against the hand-written NumPy."""
import numpy as np
import pytest

from models import ACTIVATIONS, AssignmentMLP, handwritten
from tinygrad_lab import init as tl_init
from tinygrad_lab import nn, optim
from tinygrad_lab.tensor import Tensor
from tinygrad_lab.train import fit


# ---------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------
def test_default_is_the_assignments_net():
    model = AssignmentMLP()
    assert model.sizes == (784, 256, 128, 10) and model.num_layers == 3
    assert [name for name, _ in model.named_parameters()] == ["fc1.weight", "fc2.weight",
                                                              "fc3.weight"]   # no bias
    shapes = [p.shape for p in model.parameters()]
    assert shapes == [(256, 784), (128, 256), (10, 128)]    # (out, in): W1 is 256×784
    assert model.num_parameters() == 256 * 784 + 128 * 256 + 10 * 128
    w1 = model.fc1.weight.data
    assert w1.dtype == np.float32 and -1 <= w1.min() < -0.99 and 0.99 < w1.max() <= 1  # U(−1, 1)
    for _, act in model.layers():
        assert isinstance(act, nn.Sigmoid) and act.k == 1.0   # L3 = σ(W3·L2) too
    out = model(Tensor(np.zeros((5, 784), np.float32)))
    assert out.shape == (5, 10)
    assert "sizes=(784, 256, 128, 10)" in repr(model) and "sigmoid" in repr(model)


def test_bias_output_activation_and_images():
    model = AssignmentMLP((12, 8, 3), activation="tanh", k=2.0, bias=True,
                          output_activation="none")
    assert [n for n, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight",
                                                        "fc2.bias"]
    assert isinstance(model.act1, nn.Tanh) and model.act1.k == 2.0
    assert isinstance(model.act2, nn.Identity)
    images = Tensor(np.ones((4, 3, 4), np.float32))          # flattened to 12 features
    assert model(images).shape == (4, 3)


def test_a_layer_swapped_in_is_the_one_called():
    # A teacher replaces one activation to show its effect; forward must use the new one.
    model = AssignmentMLP((6, 5, 4), seed=0)
    x = Tensor(np.random.default_rng(1).normal(size=(3, 6)).astype(np.float32))
    before = model(x).data
    model.act1 = nn.Tanh()
    model.fc2 = nn.Linear(5, 4, bias=False, rng=7)
    after = model(x)
    hidden = np.tanh(x.data @ model.fc1.weight.data.T)
    expected = 1 / (1 + np.exp(-(hidden @ model.fc2.weight.data.T)))
    np.testing.assert_allclose(after.data, expected, rtol=1e-5)
    assert not np.allclose(after.data, before)
    assert [type(act).__name__ for _, act in model.layers()] == ["Tanh", "Sigmoid"]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_is_accepted(activation):
    model = AssignmentMLP((6, 5, 4), activation=activation, k=1.5, seed=0)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    out = model(Tensor(x))
    out.sum().backward()
    assert out.shape == (3, 4)
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


@pytest.mark.parametrize("init", tl_init.available())
def test_every_init_is_accepted(init):
    a = AssignmentMLP((6, 5, 4), init=init, seed=3)
    b = AssignmentMLP((6, 5, 4), init=init, seed=3)
    np.testing.assert_array_equal(a.fc1.weight.data, b.fc1.weight.data)   # seeded
    assert a.fc1.weight.shape == (5, 6)


def test_seed_decides_the_weights():
    a, b = AssignmentMLP((6, 5, 4), seed=1), AssignmentMLP((6, 5, 4), seed=2)
    assert not np.array_equal(a.fc1.weight.data, b.fc1.weight.data)
    c = AssignmentMLP((6, 5, 4), seed=np.random.default_rng(1))
    assert c.fc1.weight.shape == (5, 6)


def test_bad_names_give_clear_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid, tanh"):
        AssignmentMLP(activation="swish")
    with pytest.raises(ValueError, match="unknown activation 'softmax'.*'none' for the output"):
        AssignmentMLP(output_activation="softmax")
    with pytest.raises(ValueError, match="unknown init 'glorious'; valid names:"):
        AssignmentMLP(init="glorious")
    with pytest.raises(ValueError, match="sizes must be at least two positive widths"):
        AssignmentMLP(sizes=(784,))
    with pytest.raises(ValueError, match="sizes must be at least two positive widths"):
        AssignmentMLP(sizes=(784, 0, 10))
    model = AssignmentMLP((6, 5, 4))
    with pytest.raises(ValueError, match="expects 6"):
        model(Tensor(np.zeros((2, 7), np.float32)))


# ---------------------------------------------------------------------------
# One step of AssignmentMLP == one step of the assignment's hand-written NumPy
# ---------------------------------------------------------------------------
N = 32


def batch(scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((N, 784)) * scale).astype(np.float32)    # batch-first, as the library wants
    y = rng.integers(0, 10, N)
    return X, y


def one_hot_columns(y):
    return np.eye(10)[y].T                                   # T is (10, N) in the assignment


def library_step(model, X, y, loss, lr):
    """One fit step with plain SGD, full batch; returns (loss, ΔW1, ΔW2, ΔW3)."""
    before = [fc.weight.data.copy() for fc, _ in model.layers()]
    h = fit(model, optim.SGD(model.parameters(), lr=lr), (X, y), loss=loss, iterations=1,
            batch_size="full", progress=False)
    return h.loss[0], [fc.weight.data - w for (fc, _), w in zip(model.layers(), before)]


def handwritten_step(model, X, y, lr, activation, k=1.0, output="same"):
    """The reference in float64, on the same weights, column-major: X.T is 784×N."""
    W = [fc.weight.data.astype(np.float64) for fc, _ in model.layers()]
    new = handwritten.train_step(X.T.astype(np.float64), one_hot_columns(y), *W, lr=lr, k=k,
                                 activation=activation, output=output)
    Z, _ = handwritten.forward_pass(X.T.astype(np.float64), *W, k=k, activation=activation,
                                    output=output)
    return new[3], [w_new - w for w_new, w in zip(new[:3], W)], Z


def assert_updates_match(got, want):
    # ΔW = W_new − W in float32 carries the rounding of W itself (~1e-5 of ΔW here)
    for i, (g, w) in enumerate(zip(got, want), start=1):
        assert np.abs(w).max() > 0, f"ΔW{i} is zero: the comparison would prove nothing"
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4 * np.abs(w).max(),
                                   err_msg=f"ΔW{i}")


# activation, k, init, input scale: chosen so each derivative's branches are all exercised
# (the sigmoid and tanh not saturated, relu6 with inputs both inside and above (0, 6)).
CASES = [("sigmoid", 0.7, "normal", 1.0), ("sigmoid", 1.0, "xavier", 1.0),
         ("tanh", 1.3, "normal", 1.0), ("relu", 1.0, "he", 1.0), ("relu6", 1.0, "uniform", 1.0)]


@pytest.mark.parametrize("activation,k,init,scale", CASES)
def test_one_sse_sgd_step_equals_the_handwritten_step(activation, k, init, scale):
    model = AssignmentMLP(activation=activation, k=k, init=init, seed=0)
    X, y = batch(scale)
    lr = 0.01
    want_loss, want, Z = handwritten_step(model, X, y, lr, activation, k)
    if activation == "relu6":
        z = np.concatenate([z.ravel() for z in Z])
        assert (z > 6).any() and ((z > 0) & (z < 6)).any() and (z < 0).any()
    # fit shuffles the full batch; the summed loss and gradients do not depend on the order
    got_loss, got = library_step(model, X, y, "sse", lr)
    assert got_loss == pytest.approx(want_loss, rel=1e-5)
    assert_updates_match(got, want)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_one_softmax_cross_entropy_step_equals_the_handwritten_step(activation):
    model = AssignmentMLP(activation=activation, k=1.0, init="normal",
                          output_activation="none", seed=1)
    X, y = batch(seed=1)
    lr = 0.05
    want_loss, want, _ = handwritten_step(model, X, y, lr, activation, output="softmax")
    # The hand-written CE is summed over the N samples, tl.cross_entropy is their mean:
    # the library's gradient is 1/N of the reference's, so it takes N times the lr for the
    # same step, and reports a loss N times smaller.
    got_loss, got = library_step(model, X, y, "ce", lr * N)
    assert got_loss == pytest.approx(want_loss / N, rel=1e-5)
    assert_updates_match(got, want)


def test_the_assignments_buggy_derivatives_would_be_caught():
    """The comparison is sharp enough to see the assignment's relu-derivative bug."""
    model = AssignmentMLP(activation="relu", init="he", seed=0)
    X, y = batch()
    _, want, _ = handwritten_step(model, X, y, 0.01, "relu")
    original = handwritten.derivative

    def buggy(activation, z, L, k=1.0):
        return z if activation == "relu" else original(activation, z, L, k)  # returned z

    handwritten.derivative = buggy
    try:
        _, buggy_want, _ = handwritten_step(model, X, y, 0.01, "relu")
    finally:
        handwritten.derivative = original
    _, got = library_step(model, X, y, "sse", 0.01)
    assert_updates_match(got, want)
    with pytest.raises(AssertionError):
        assert_updates_match(got, buggy_want)
