"""The Tensor: a NumPy array that remembers the op that made it, so gradients can flow back."""
from __future__ import annotations

import numpy as np

from . import autograd

__all__ = ["Tensor", "Parameter", "as_tensor"]


def _to_array(data, dtype):
    """Arrays keep their dtype (float32 by default for everything else)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if dtype is None:
        arr = np.asarray(data)
        if arr.dtype.kind in "biuf" and arr.dtype != np.bool_:
            return arr.astype(np.float32)
        if arr.dtype == np.bool_:
            return arr
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} "
                        f"(got dtype {arr.dtype}); pass numbers, nested lists or a NumPy array.")
    return np.asarray(data, dtype=dtype)


class Tensor:
    """An n-dimensional array that records the graph of ops that produced it.

    ``Tensor(data, requires_grad=False, dtype=None)``: NumPy arrays keep their
    dtype; Python numbers and lists become float32 (the assignment's dtype).
    After ``loss.backward()`` every leaf with ``requires_grad=True`` holds
    d loss / d leaf in ``.grad``.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "name", "_hooks", "_retains_grad",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray ⊕ Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self.name = name
        self._hooks = None
        self._retains_grad = False
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, data, requires_grad, ctx):
        """Fast constructor used by ops (no dtype conversion, no checks).

        ``Function.apply`` writes the same lines out: a slot added here goes there too.
        """
        t = cls.__new__(cls)
        t.data, t.grad, t._ctx, t.name = data, None, ctx, None
        t._hooks, t._retains_grad, t._requires_grad = None, False, requires_grad
        return t

    # --- attributes ----------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.data.dtype.kind != "f":
            raise TypeError(f"Only floating-point tensors can require grad; this one has dtype "
                            f"{self.data.dtype}. Convert it first, e.g. Tensor(x, dtype=np.float32, "
                            f"requires_grad=True).")
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on a leaf; use .detach() "
                               "for a copy outside the graph.")
        self._requires_grad = bool(value)

    shape = property(lambda self: self.data.shape, doc="The shape, a tuple.")
    ndim = property(lambda self: self.data.ndim, doc="The number of axes.")
    dtype = property(lambda self: self.data.dtype, doc="The NumPy dtype.")
    size = property(lambda self: self.data.size, doc="The number of elements.")
    is_leaf = property(lambda self: self._ctx is None,
                       doc="True unless an op recorded in the graph made this tensor.")
    op = property(lambda self: None if self._ctx is None else self._ctx.op,
                  doc="The op (Function class) that made this tensor, or None for a leaf.")

    def numpy(self) -> np.ndarray:
        """The underlying array (not a copy: do not modify it while a graph needs it)."""
        return self.data

    def item(self):
        """The single value of a one-element tensor, as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor has one value; this one has "
                             f"shape {self.shape}")
        return self.data.item()

    def detach(self) -> "Tensor":
        """A tensor sharing the data but cut from the graph (no grad flows through it)."""
        return Tensor(self.data, name=self.name)

    def astype(self, dtype) -> "Tensor":
        """A copy in another dtype; gradients are cast back."""
        from .ops import Cast
        return Cast.apply(self, dtype=np.dtype(dtype))

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"The truth value of a tensor of shape {self.shape} is ambiguous; "
                             f"use (t > 0).numpy().any() or .all().")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20,
                               edgeitems=2, prefix="Tensor(")
        extra = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self._ctx is not None:
            extra.append(f"op={self._ctx.op.__name__}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if self.name:
            extra.insert(0, f"name={self.name!r}")
        return f"Tensor({body}, {', '.join(extra)})"

    # --- autograd ------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Compute d self / d leaf and add it into each leaf's ``.grad``.

        A non-scalar tensor needs ``grad`` (d loss / d self). The graph is freed
        afterwards unless ``retain_graph=True``; ``create_graph=True`` records the
        backward pass too, so the gradients can be differentiated again.
        """
        autograd.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): this tensor does not require grad")
        self._retains_grad = True
        return self

    def register_hook(self, fn):
        """Call ``fn(grad)`` with this tensor's gradient during backward.

        If ``fn`` returns a tensor or array, it replaces the gradient. Returns a
        handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook(): this tensor does not require grad, so no "
                               "gradient will ever reach it")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _HookHandle(self._hooks, fn)

    def zero_grad(self):
        """Forget the accumulated gradient."""
        self.grad = None

    # --- operators -------------------------------------------------------------------
    def __add__(self, other): return ops.Add.apply(self, other)
    def __radd__(self, other): return ops.Add.apply(other, self)
    def __sub__(self, other): return ops.Sub.apply(self, other)
    def __rsub__(self, other): return ops.Sub.apply(other, self)
    def __mul__(self, other): return ops.Mul.apply(self, other)
    def __rmul__(self, other): return ops.Mul.apply(other, self)
    def __truediv__(self, other): return ops.Div.apply(self, other)
    def __rtruediv__(self, other): return ops.Div.apply(other, self)
    def __pow__(self, other): return ops.Pow.apply(self, other)
    def __rpow__(self, other): return ops.Pow.apply(other, self)
    def __matmul__(self, other): return F.matmul(self, other)
    def __rmatmul__(self, other): return F.matmul(other, self)
    def __neg__(self): return ops.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return F.abs(self)
    def __getitem__(self, index):
        from .ops import GetItem
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, list):
            index = np.asarray(index)
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else
                          np.asarray(i) if isinstance(i, list) else i for i in index)
        return GetItem.apply(self, index=index)

    # Comparisons give boolean tensors outside the graph (they have no gradient).
    def _compare(self, other, fn):
        return Tensor(fn(self.data, other.data if isinstance(other, Tensor) else other))
    def __lt__(self, other): return self._compare(other, np.less)
    def __le__(self, other): return self._compare(other, np.less_equal)
    def __gt__(self, other): return self._compare(other, np.greater)
    def __ge__(self, other): return self._compare(other, np.greater_equal)
    def __eq__(self, other): return self._compare(other, np.equal)
    def __ne__(self, other): return self._compare(other, np.not_equal)

    # --- methods (PyTorch/NumPy names) ------------------------------------------------
    def exp(self): return F.exp(self)
    def log(self): return F.log(self)
    def sqrt(self): return F.sqrt(self)
    def abs(self): return F.abs(self)
    def clip(self, lo=None, hi=None): return F.clip(self, lo, hi)
    def sum(self, axis=None, keepdims=False): return F.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return F.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return F.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return F.min(self, axis, keepdims)
    def reshape(self, *shape): return F.reshape(self, *shape)
    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return F.transpose(self, axes or None)
    def swapaxes(self, a, b):
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return F.transpose(self, axes)
    T = property(lambda self: F.transpose(self), doc="The tensor with its axes reversed.")
    def flatten(self, start_dim=0, end_dim=-1): return F.flatten(self, start_dim, end_dim)
    def matmul(self, other): return F.matmul(self, other)
    def dot(self, other): return F.matmul(self, other)  # NumPy's name, so W1.dot(X) works
    def sigmoid(self, k=1.0): return F.sigmoid(self, k)
    def tanh(self, k=1.0): return F.tanh(self, k)
    def relu(self): return F.relu(self)
    def relu6(self): return F.relu6(self)
    def leaky_relu(self, slope=0.01): return F.leaky_relu(self, slope)
    def softplus(self): return F.softplus(self)
    def softmax(self, axis=-1): return F.softmax(self, axis)
    def log_softmax(self, axis=-1): return F.log_softmax(self, axis)

    def graph(self, **kwargs):
        """The graph that produced this tensor, as a graphviz Digraph (see ``viz.draw_graph``)."""
        from viz import draw_graph
        return draw_graph(self, **kwargs)

    def _repr_svg_(self):
        """Jupyter shows a tensor that came from ops as its computation graph."""
        if self._ctx is None:
            return None
        try:
            # grads="stored": showing a tensor must not run a backward pass (or the user's hooks)
            return self.graph(grads="stored")._repr_image_svg_xml()
        except Exception:  # no viz package or no Graphviz: fall back to the text repr
            return None


class Parameter(Tensor):
    """A leaf tensor that a model learns: requires_grad=True, float32 unless given."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, name=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)


class _HookHandle:
    """What ``register_hook`` (and ``Module.register_forward_hook``) return: ``remove()``
    takes ``fn`` out of the list of hooks it was added to."""

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def as_tensor(x) -> Tensor:
    """x itself if it is a Tensor, else a constant Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)


autograd._set_tensor_class(Tensor)
from . import functional as F, ops  # noqa: E402  (functional imports Tensor from here)
