"""The assignment's tanh net, with the mistake it made in the output layer.

    tinygrad-lab check docs/examples/backprop_tanh_bug.py

The derivative of tanh(kz) is k·(1 − tanh²), so the output layer's error signal
is (L3 − T)·k·(1 − L3²). The assignment wrote (L3 − T)·L3·(1 − L3²): an extra
factor L3. The two hidden layers are derived correctly, but they are handed the
wrong δ3, so their gradients are wrong too. The checker says which layer is wrong
first, and that W2 and W1 only inherit the mistake.
"""
import numpy as np


def tanh(x, k=1):
    exponent = np.e ** (2 * k * x)
    return (exponent - 1) / (exponent + 1)


def forward_pass(X, W1, W2, W3, k):
    L1 = tanh(W1.dot(X), k)
    L2 = tanh(W2.dot(L1), k)
    L3 = tanh(W3.dot(L2), k)
    return L1, L2, L3


def backward_pass(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * L3 * (1 - L3 ** 2) * k     # BUG: the factor L3 does not belong here
    dW2 = W3.T.dot(dW3) * (1 - L2 ** 2) * k
    dW1 = W2.T.dot(dW2) * (1 - L1 ** 2) * k
    return dW1, dW2, dW3
