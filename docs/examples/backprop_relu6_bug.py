"""The assignment's ReLU6 net, whose derivative mask is never true.

    tinygrad-lab check docs/examples/backprop_relu6_bug.py

ReLU6 is min(max(0, z), 6); its derivative is 1 where 0 < z < 6 and 0 elsewhere.
The assignment's mask (matrix <= 0) & (matrix >= 6) asks for numbers that are at
most 0 *and* at least 6: there are none, so nothing is zeroed and the derivative
is 1 everywhere. Worse, `matrix = x` does not copy: the derivative overwrites the
activations L1, L2, L3 with ones, and the weight update that uses them afterwards
sees ones instead of activations. The checker reports both.

The fix:

    def ReLU_6_Derivative(x):
        return ((x > 0) & (x < 6)).astype(x.dtype)
"""
import numpy as np


def ReLU_6(x, k=1):
    return np.minimum(np.maximum(0.01, x * k), 6)


def ReLU_6_Derivative(x):
    matrix = x                                              # BUG: not a copy
    matrix[np.where((matrix <= 0) & (matrix >= 6))] = 0     # BUG: never true (use |, or 0 < x < 6)
    matrix[np.where(matrix != 0)] = 1
    return matrix


def forward_pass(X, W1, W2, W3, k):
    L1 = ReLU_6(W1.dot(X), k)
    L2 = ReLU_6(W2.dot(L1), k)
    L3 = ReLU_6(W3.dot(L2), k)
    return L1, L2, L3


def backward_pass(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * ReLU_6_Derivative(L3) * k
    dW2 = W3.T.dot(dW3) * ReLU_6_Derivative(L2) * k
    dW1 = W2.T.dot(dW2) * ReLU_6_Derivative(L1) * k
    return dW1, dW2, dW3
