"""The assignment's sigmoid net with steepness k: a hand-written backward pass that is right.

Check it with:

    tinygrad-lab check docs/examples/backprop_correct.py

Column-major, as in the assignment: X is (inputs × N), W1 is (256 × 784), and each
layer is L = σ(k·W·L_prev). ``backward_pass`` returns the error signals δ of the
three layers (the assignment calls them dW); the weight update multiplies each by
the previous layer's output: ΔW3 ∝ δ3 · L2ᵀ. The loss is E = ½ Σ (L3 − T)².
"""
import numpy as np


def sigmoid(x, k):
    return 1.0 / (1.0 + np.e ** -(k * x))


def forward_pass(X, W1, W2, W3, k):
    L1 = sigmoid(W1.dot(X), k)
    L2 = sigmoid(W2.dot(L1), k)
    L3 = sigmoid(W3.dot(L2), k)
    return L1, L2, L3


# T, the one-hot targets (10 × N), is a global that the training loop sets.
def backward_pass(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * L3 * (1 - L3) * k          # σ'(kz) = k·σ(1 − σ)
    dW2 = W3.T.dot(dW3) * (L2 * (1 - L2)) * k
    dW1 = W2.T.dot(dW2) * (L1 * (1 - L1)) * k
    return dW1, dW2, dW3
