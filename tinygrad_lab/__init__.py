"""tinygrad-lab: a small, readable autograd framework for learning how neural networks learn.

    import tinygrad_lab as tl
    x = tl.Tensor([[1.0, 2.0]], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    x.grad            # Tensor([[2., 4.]])
"""
from .tensor import Tensor, Parameter, as_tensor
from .autograd import (Function, Context, no_grad, enable_grad, is_grad_enabled, detect_anomaly,
                       AnomalyError, grad)
from .functional import *  # noqa: F401,F403  (the public ops: tl.exp, tl.sigmoid, tl.mse_loss, ...)
from .functional import __all__ as _functional_all
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import nn, init, optim, schedules, data, train  # noqa: E402
from .check import check_backward  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Tensor", "Parameter", "as_tensor", "Function", "Context", "no_grad", "enable_grad",
           "is_grad_enabled", "detect_anomaly", "AnomalyError", "grad", "gradcheck",
           "gradgradcheck", "GradcheckError", "check_backward", "nn", "init", "optim", "schedules", "data", "train", *_functional_all]
