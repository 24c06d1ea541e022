"""The op library: one small :class:`~tinygrad_lab.autograd.Function` per operation.

Each op keeps its forward, its local derivative and the formulas people read
side by side. ``ALL_OPS`` lists them, for the docs and the property tests.
"""
from .arithmetic import (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Abs, Clip, Maximum,
                         Minimum, Where, Cast)
from .linalg import MatMul, Linear
from .reduce import Sum, Mean, Max, Min
from .shape import Reshape, Transpose, BroadcastTo, GetItem, ScatterAdd, Concatenate, Stack
from .activations import Sigmoid, Tanh, ReLU, ReLU6, LeakyReLU, Softplus, Softmax, LogSoftmax
from .losses import MSELoss, CrossEntropy, BinaryCrossEntropy

ALL_OPS = (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Abs, Clip, Maximum, Minimum, Where,
           Cast, MatMul, Linear, Sum, Mean, Max, Min, Reshape, Transpose, BroadcastTo, GetItem,
           ScatterAdd, Concatenate, Stack, Sigmoid, Tanh, ReLU, ReLU6, LeakyReLU, Softplus,
           Softmax, LogSoftmax, MSELoss, CrossEntropy, BinaryCrossEntropy)
