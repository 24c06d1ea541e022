"""check_backward and `tinygrad-lab check`: the assignment's three gradient mistakes are caught,
each at the right layer, and the correct derivations pass.

The forward and backward passes below are the assignment's code, as written (column-major,
T a global), so that the checker is tested on exactly what a learner writes.
"""
from pathlib import Path

import numpy as np
import pytest

from models import handwritten
from tinygrad_lab.check import (TENSOR_NUMPY, CheckError, LearnerCodeError, check_backward,
                                make_problem)
from tinygrad_lab.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def check(forward, backward, k=1.0, scale=1.0, seed=0, **options):
    params, X, T = make_problem((20, 16, 12, 10), examples=8, seed=seed)
    return check_backward(forward, backward, params, {"X": X * scale, "k": k}, T, **options)


# --- the assignment's passes, as it wrote them -------------------------------------------
def sigmoid(x, k):
    return 1.0 / (1.0 + np.e ** -(k * x))


def sigmoid_forward(X, W1, W2, W3, k):
    L1 = sigmoid(W1.dot(X), k)
    L2 = sigmoid(W2.dot(L1), k)
    L3 = sigmoid(W3.dot(L2), k)
    return L1, L2, L3


def sigmoid_backward(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * L3 * (1 - L3) * k  # noqa: F821 - T is the assignment's global
    dW2 = W3.T.dot(dW3) * (L2 * (1 - L2)) * k
    dW1 = W2.T.dot(dW2) * (L1 * (1 - L1)) * k
    return dW1, dW2, dW3


def tanh(x, k=1):
    exponent = np.e ** (2 * k * x)
    return (exponent - 1) / (exponent + 1)


def tanh_forward(X, W1, W2, W3, k):
    L1 = tanh(W1.dot(X), k)
    L2 = tanh(W2.dot(L1), k)
    L3 = tanh(W3.dot(L2), k)
    return L1, L2, L3


def tanh_backward_bug(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * L3 * (1 - L3 ** 2) * k  # noqa: F821
    dW2 = W3.T.dot(dW3) * (1 - L2 ** 2) * k
    dW1 = W2.T.dot(dW2) * (1 - L1 ** 2) * k
    return dW1, dW2, dW3


def ReLU(x, k=1):
    return np.maximum(0.01, x * k)


def reluDerivative(x):
    matrix = x
    matrix[matrix <= 0] = 0
    return matrix


def relu_forward(X, W1, W2, W3, k):
    L1 = ReLU(W1.dot(X), k)
    L2 = ReLU(W2.dot(L1), k)
    L3 = ReLU(W3.dot(L2), k)
    return L1, L2, L3


def relu_backward_bug(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * reluDerivative(L3) * k  # noqa: F821
    dW2 = W3.T.dot(dW3) * reluDerivative(L2) * k
    dW1 = W2.T.dot(dW2) * reluDerivative(L1) * k
    return dW1, dW2, dW3


def ReLU_6(x, k=1):
    return np.minimum(np.maximum(0.01, x * k), 6)


def ReLU_6_Derivative(x):
    matrix = x
    matrix[np.where((matrix <= 0) & (matrix >= 6))] = 0
    matrix[np.where(matrix != 0)] = 1
    return matrix


def relu6_forward(X, W1, W2, W3, k):
    L1 = ReLU_6(W1.dot(X), k)
    L2 = ReLU_6(W2.dot(L1), k)
    L3 = ReLU_6(W3.dot(L2), k)
    return L1, L2, L3


def relu6_backward_bug(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * ReLU_6_Derivative(L3) * k  # noqa: F821
    dW2 = W3.T.dot(dW3) * ReLU_6_Derivative(L2) * k
    dW1 = W2.T.dot(dW2) * ReLU_6_Derivative(L1) * k
    return dW1, dW2, dW3


# --- the correct versions: models/handwritten's derivatives in the assignment's layout --------
def layered_backward(activation):
    """backward_pass(L1, L2, L3, W1, W2, W3, k) with handwritten.derivative (z → L: same mask)."""
    def backward_pass(L1, L2, L3, W1, W2, W3, k):
        d = lambda L: handwritten.derivative(activation, L, L, k)  # noqa: E731
        dW3 = (L3 - T) * d(L3)  # noqa: F821
        dW2 = W3.T.dot(dW3) * d(L2)
        dW1 = W2.T.dot(dW2) * d(L1)
        return dW1, dW2, dW3
    return backward_pass


def make_forward(f):
    def forward_pass(X, W1, W2, W3, k):
        L1 = f(W1.dot(X), k)
        L2 = f(W2.dot(L1), k)
        L3 = f(W3.dot(L2), k)
        return L1, L2, L3
    return forward_pass


def relu_right(x, k):
    return np.maximum(x, 0)


def relu6_right(x, k):
    return np.clip(x, 0, 6)


# --- the three mistakes --------------------------------------------------------------------
def test_tanh_extra_factor_is_flagged_at_the_output_layer_and_only_inherited_below():
    report = check(tanh_forward, tanh_backward_bug)
    assert not report.ok
    assert report.first_wrong == "W3"
    assert [c.ok for c in report.checks] == [False, False, False]
    # dW2 and dW1 are derived right; they are wrong only because δ3 is.
    assert [c.own_ok for c in report.checks] == [True, True, False]
    assert report["W3"].rel_error > 0.1
    text = str(report)
    assert "First wrong: W3" in text and "Wrong only by inheritance: W2, W1" in text


def test_relu_derivative_returning_the_activation_is_wrong_in_every_line():
    report = check(relu_forward, relu_backward_bug, k=1.0)
    assert report.first_wrong == "W3"
    assert [c.own_ok for c in report.checks] == [False, False, False]
    assert "Wrong in the own line too: W2, W1" in report.verdict()


def test_relu6_mask_that_is_never_true_is_flagged_and_the_overwritten_activations_noted():
    report = check(relu6_forward, relu6_backward_bug, scale=20.0)
    assert report.first_wrong == "W3"
    assert not any(c.ok for c in report.checks)
    assert any("changed L1, L2, L3 in place" in n for n in report.notes)


def test_a_mistake_in_a_hidden_layer_is_located_there():
    def backward_pass(L1, L2, L3, W1, W2, W3, k):
        dW3 = (L3 - T) * L3 * (1 - L3) * k  # noqa: F821
        dW2 = W3.T.dot(dW3) * (L2 * (1 - L2))  # forgot k here only
        dW1 = W2.T.dot(dW2) * (L1 * (1 - L1)) * k
        return dW1, dW2, dW3

    report = check(sigmoid_forward, backward_pass, k=2.0)
    assert report.first_wrong == "W2"
    assert report["W3"].ok and not report["W2"].ok and not report["W1"].ok
    assert report["W1"].own_ok is True and report["W2"].own_ok is False
    assert "Right: W3." in report.verdict()


# --- the correct derivations pass ----------------------------------------------------------
@pytest.mark.parametrize("k", [1.0, 2.0])
def test_the_assignments_sigmoid_with_k_is_right(k):
    report = check(sigmoid_forward, sigmoid_backward, k=k)
    assert report.ok, str(report)
    assert report.first_wrong is None
    assert all(c.rel_error < 1e-10 and c.own_ok for c in report.checks)
    assert "All 3 gradients agree" in report.verdict()


@pytest.mark.parametrize("activation,forward,scale", [
    ("tanh", tanh_forward, 1.0),
    ("relu", make_forward(relu_right), 1.0),
    ("relu6", make_forward(relu6_right), 20.0),  # scaled so that some inputs exceed 6
])
def test_the_handwritten_derivatives_pass(activation, forward, scale):
    report = check(forward, layered_backward(activation), scale=scale)
    assert report.ok, str(report)


def test_gradients_mode_with_the_handwritten_reference():
    def backward_pass(X, T, L1, L2, L3, W1, W2, W3, k):
        Z = [None, None, None]  # derivative() needs z only for relu/relu6
        deltas = handwritten.backward_pass(X, T, Z, [L1, L2, L3], W1, W2, W3, k, "sigmoid")
        return handwritten.weight_gradients(X, [L1, L2, L3], deltas)

    report = check(sigmoid_forward, backward_pass, k=1.5, returns="gradients")
    assert report.ok, str(report)
    assert all(c.own_ok is None for c in report.checks)


def test_softmax_cross_entropy_error_signal_is_right_only_for_ce():
    def forward_pass(X, W1, W2, W3, k):
        L1 = sigmoid(W1.dot(X), k)
        L2 = sigmoid(W2.dot(L1), k)
        Z3 = W3.dot(L2)
        E = np.exp(Z3 - np.max(Z3, axis=0, keepdims=True))
        return L1, L2, E / np.sum(E, axis=0, keepdims=True)

    def backward_pass(L1, L2, L3, W1, W2, W3, k):
        dW3 = L3 - T  # noqa: F821
        dW2 = W3.T.dot(dW3) * (L2 * (1 - L2)) * k
        dW1 = W2.T.dot(dW2) * (L1 * (1 - L1)) * k
        return dW1, dW2, dW3

    assert check(forward_pass, backward_pass, loss="ce").ok
    assert check(forward_pass, backward_pass, loss="sse").first_wrong == "W3"


def test_sigmoid_output_with_l3_minus_t_is_right_for_binary_cross_entropy():
    def backward_pass(L1, L2, L3, W1, W2, W3, k):
        dW3 = (L3 - T) * k  # noqa: F821
        dW2 = W3.T.dot(dW3) * (L2 * (1 - L2)) * k
        dW1 = W2.T.dot(dW2) * (L1 * (1 - L1)) * k
        return dW1, dW2, dW3

    assert check(sigmoid_forward, backward_pass, loss="bce").ok


# --- calling conventions and honest failures ----------------------------------------------
def test_targets_are_passed_as_an_argument_or_a_global_that_is_restored():
    def with_t(T, L1, L2, L3, W1, W2, W3, k):
        dW3 = (L3 - T) * L3 * (1 - L3) * k
        dW2 = W3.T.dot(dW3) * (L2 * (1 - L2)) * k
        dW1 = W2.T.dot(dW2) * (L1 * (1 - L1)) * k
        return dW1, dW2, dW3

    assert check(sigmoid_forward, with_t).ok
    assert "T" not in globals()  # the global set for sigmoid_backward is gone again
    check(sigmoid_forward, sigmoid_backward)
    assert "T" not in globals()
    assert np is __import__("numpy")  # the module sees real NumPy again


def test_numpy_is_restored_even_when_the_forward_fails_under_autodiff():
    def forward_pass(X, W1, W2, W3, k):
        L1 = np.log1p(np.exp(W1.dot(X)))  # softplus via a function the checker does not follow
        return L1, sigmoid(W2.dot(L1), k), sigmoid(W3.dot(sigmoid(W2.dot(L1), k)), k)

    with pytest.raises(CheckError, match="np.log1p"):
        check(forward_pass, sigmoid_backward)
    assert np is __import__("numpy")


def test_in_place_writes_in_the_forward_are_explained():
    def forward_pass(X, W1, W2, W3, k):
        Z1 = W1.dot(X)
        Z1[Z1 < 0] = 0
        return Z1, sigmoid(W2.dot(Z1), k), sigmoid(W3.dot(sigmoid(W2.dot(Z1), k)), k)

    with pytest.raises(CheckError, match="in-place write"):
        check(forward_pass, sigmoid_backward)


def test_a_backward_that_raises_is_reported_with_its_line():
    def backward_pass(L1, L2, L3, W1, W2, W3, k):
        return W1.dot(L1), None, None  # shapes do not fit

    with pytest.raises(LearnerCodeError, match="backward_pass raised ValueError"):
        check(sigmoid_forward, backward_pass)


def test_weight_gradients_under_returns_deltas_get_a_hint():
    def backward_pass(X, L1, L2, L3, W1, W2, W3, k):
        dW1, dW2, dW3 = sigmoid_backward(L1, L2, L3, W1, W2, W3, k)
        return dW1.dot(X.T), dW2.dot(L1.T), dW3.dot(L2.T)

    with pytest.raises(CheckError, match="returns='gradients'"):
        check(sigmoid_forward, backward_pass)
    assert check(sigmoid_forward, backward_pass, returns="gradients").ok


def test_unused_inputs_and_unfillable_arguments_are_errors():
    params, X, T = make_problem()
    with pytest.raises(CheckError, match="neither forward_pass nor backward_pass takes"):
        check_backward(sigmoid_forward, sigmoid_backward, params,
                       {"X": X, "k": 1.0, "lr": 0.1}, T)
    with pytest.raises(CheckError, match="argument 'k'"):
        check_backward(sigmoid_forward, sigmoid_backward, params, X, T)


def test_the_stand_in_passes_plain_numbers_to_numpy():
    assert TENSOR_NUMPY.sqrt(4.0) == 2.0
    assert TENSOR_NUMPY.float32 is np.float32 and TENSOR_NUMPY.e == np.e
    assert TENSOR_NUMPY.zeros(3).shape == (3,)


def test_make_problem_is_reproducible():
    a, b = make_problem(seed=3), make_problem(seed=3)
    assert all(np.array_equal(a[0][n], b[0][n]) for n in a[0])
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    assert a[2].sum(axis=0).tolist() == [1.0] * 8


# --- the command -----------------------------------------------------------------------------
@pytest.mark.parametrize("name,code", [
    ("backprop_correct.py", 0),
    ("backprop_tanh_bug.py", 1),
    ("backprop_relu_bug.py", 1),
    ("backprop_relu6_bug.py", 1),
])
def test_cli_exit_codes_on_the_examples(name, code, capsys):
    assert main(["check", str(EXAMPLES / name)]) == code
    out = capsys.readouterr().out
    assert ("All 3 gradients agree" in out) == (code == 0)
    if code:
        assert "First wrong: W3" in out


def test_cli_options_reach_the_learners_functions(capsys):
    assert main(["check", str(EXAMPLES / "backprop_correct.py"), "--k", "2", "--sizes",
                 "6,5,4,3", "--seed", "1", "--examples", "4"]) == 0
    out = capsys.readouterr().out
    assert "layers 6-5-4-3" in out and "k=2.0" in out


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    no_passes = tmp_path / "empty.py"
    no_passes.write_text("def train():\n    pass\n")
    assert main(["check", str(no_passes)]) == 2
    assert "defines no function forward_pass() (it defines: train)" in capsys.readouterr().err
    assert main(["check", str(EXAMPLES / "backprop_correct.py"), "--sizes", "20,10"]) == 2
    assert "takes 3 weight matrices" in capsys.readouterr().err
    assert main(["check", str(EXAMPLES / "backprop_correct.py"), "--activation", "tanh"]) == 2
    assert "--activation was given" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.py")]) == 2


def test_cli_reports_a_crash_in_the_learners_code_with_exit_1(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text((EXAMPLES / "backprop_correct.py").read_text().replace(
        "dW1 = W2.T.dot(dW2)", "dW1 = W2.dot(dW2)"))
    assert main(["check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "your backward_pass raised ValueError" in err and "broken.py" in err
