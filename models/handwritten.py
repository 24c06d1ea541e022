"""The assignment's hand-written NumPy passes, with correctly derived gradients.

This is the reference the tests hold the autograd MLP against. It keeps the
assignment's column-major layout and names: X is (784, N), T is the one-hot
target (10, N), W1 is (256, 784), and each layer is L = f(W·L_prev) with no bias.

The assignment's loss is the summed squared error E = ½ Σ (L3 − T)², so the
output error signal is (L3 − T)·f'(·) with no factor 2 and no 1/N; the weight
gradient of layer l is δ_l · L_{l−1}ᵀ. The derivatives (written in terms of the
layer's output L where possible) are:

    sigmoid σ(kz):  k·L(1 − L)
    tanh(kz):       k·(1 − L²)          (the assignment multiplied by L3 too: a bug)
    relu:           1[z > 0]            (the assignment returned z itself: a bug)
    relu6:          1[0 < z < 6]        (the assignment's mask (z ≤ 0) & (z ≥ 6) is never true)

With cross-entropy on a softmax output the error signal is simply L3 − T.
"""
from __future__ import annotations

import numpy as np


def sigmoid(z, k=1.0):
    """σ(kz) = 1/(1 + e^(−kz)), stable for any z and k (no overflow)."""
    kz = k * z
    e = np.exp(-np.abs(kz))
    return np.where(kz >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def tanh(z, k=1.0):
    return np.tanh(k * z)


def relu(z, k=1.0):
    return np.maximum(z, 0)


def relu6(z, k=1.0):
    return np.clip(z, 0, 6)


def softmax(z):
    """Column-wise softmax (classes along axis 0, as in the assignment)."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu, "relu6": relu6}


def derivative(activation, z, L, k=1.0):
    """f'(z) for layer input z and output L = f(z)."""
    if activation == "sigmoid":
        return k * L * (1 - L)
    if activation == "tanh":
        return k * (1 - L ** 2)
    if activation == "relu":
        return (z > 0).astype(z.dtype)
    if activation == "relu6":
        return ((z > 0) & (z < 6)).astype(z.dtype)
    raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")


def forward_pass(X, W1, W2, W3, k=1.0, activation="sigmoid", output="same"):
    """L1 = f(W1·X), L2 = f(W2·L1), L3 = f(W3·L2) (or softmax(W3·L2) with output="softmax").

    Returns the pre-activations Z and the layer outputs L, each a list of three.
    """
    f = ACTIVATIONS[activation]
    Z1 = W1 @ X
    L1 = f(Z1, k)
    Z2 = W2 @ L1
    L2 = f(Z2, k)
    Z3 = W3 @ L2
    L3 = softmax(Z3) if output == "softmax" else f(Z3, k)
    return [Z1, Z2, Z3], [L1, L2, L3]


def backward_pass(X, T, Z, L, W1, W2, W3, k=1.0, activation="sigmoid", output="same"):
    """The error signals δ of each layer, output first, as the assignment computes them.

    E = ½ Σ (L3 − T)² for output="same"; cross-entropy −Σ T·log L3 for output="softmax".
    """
    (Z1, Z2, Z3), (L1, L2, L3) = Z, L
    if output == "softmax":
        d3 = L3 - T
    else:
        d3 = (L3 - T) * derivative(activation, Z3, L3, k)
    d2 = (W3.T @ d3) * derivative(activation, Z2, L2, k)
    d1 = (W2.T @ d2) * derivative(activation, Z1, L1, k)
    return d1, d2, d3


def weight_gradients(X, L, deltas):
    """∂E/∂W for each layer: δ_l · L_{l−1}ᵀ."""
    L1, L2, _ = L
    d1, d2, d3 = deltas
    return d1 @ X.T, d2 @ L1.T, d3 @ L2.T


def train_step(X, T, W1, W2, W3, lr, k=1.0, activation="sigmoid", output="same"):
    """One full step of the assignment's loop: forward, backward, W ← W − lr·∂E/∂W.

    Returns the new weights and the loss before the step.
    """
    Z, L = forward_pass(X, W1, W2, W3, k, activation, output)
    deltas = backward_pass(X, T, Z, L, W1, W2, W3, k, activation, output)
    g1, g2, g3 = weight_gradients(X, L, deltas)
    L3 = L[2]
    if output == "softmax":
        loss = -np.sum(T * np.log(np.maximum(L3, 1e-12)))
    else:
        loss = 0.5 * np.sum((L3 - T) ** 2)
    return W1 - lr * g1, W2 - lr * g2, W3 - lr * g3, float(loss)
