"""The assignment's ReLU net, whose derivative returns the activation instead of 1[z > 0].

    tinygrad-lab check docs/examples/backprop_relu_bug.py

The derivative of max(0, z) is 1 where z > 0 and 0 elsewhere. The assignment's
reluDerivative zeroes the negative entries and returns the rest unchanged, so it
multiplies every error signal by the activation itself. The mistake sits in the
derivative function all three layers share, so the checker finds each layer's own
line wrong, not only the output layer's.

The fix (see backprop_correct.py for the pattern):

    def reluDerivative(x):
        return (x > 0).astype(x.dtype)

and a forward that really is max(0, kx): the assignment's np.maximum(0.01, x*k)
has slope 0, not 1, below 0.01/k.
"""
import numpy as np


def ReLU(x, k=1):
    return np.maximum(0.01, x * k)


def reluDerivative(x):
    matrix = x
    matrix[matrix <= 0] = 0
    # matrix[matrix > 0] = 1          # BUG: the line that made it a derivative is commented out
    return matrix


def forward_pass(X, W1, W2, W3, k):
    L1 = ReLU(W1.dot(X), k)
    L2 = ReLU(W2.dot(L1), k)
    L3 = ReLU(W3.dot(L2), k)
    return L1, L2, L3


def backward_pass(L1, L2, L3, W1, W2, W3, k):
    dW3 = (L3 - T) * reluDerivative(L3) * k
    dW2 = W3.T.dot(dW3) * reluDerivative(L2) * k
    dW1 = W2.T.dot(dW2) * reluDerivative(L1) * k
    return dW1, dW2, dW3
