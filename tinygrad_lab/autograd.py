"""Reverse-mode automatic differentiation: the op contract and the backward pass.

Every op is a subclass of :class:`Function` with two static methods side by side:

* ``forward(ctx, *arrays, **params)`` computes the result on NumPy arrays;
* ``backward(ctx, grad)`` returns, for each input, its gradient (the
  vector-Jacobian product), or ``None`` for an input that needs none;

and two strings for people, ``formula`` and ``derivative``, that the docs and the
graph renderer show. The base class does the shared work once: it skips
constants, reduces a broadcast gradient back to its input's shape, casts it to
the input's dtype and checks its shape. Built-in ops and a user's own op use the
same mechanism::

    class Cube(Function):
        formula = "x³"
        derivative = "∂/∂x = 3x²"

        @staticmethod
        def forward(ctx, x):
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.inputs
            return grad * 3 * x ** 2

    y = Cube.apply(t)

Inside ``backward`` only ``ctx.inputs``, ``ctx.output`` and the functions of
``ctx.xp`` carry gradient: ``xp`` is NumPy when gradients are plain arrays and
tinygrad_lab's own functions when the backward pass is itself recorded
(``create_graph=True``, for higher-order gradients). Anything else stored on
``ctx`` during ``forward`` (a mask, a shape) is a constant.
"""
from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import traceback
from types import SimpleNamespace

import numpy as np

__all__ = [
    "Function", "Context", "no_grad", "enable_grad", "is_grad_enabled",
    "detect_anomaly", "module_scope", "backward", "grad", "AnomalyError",
]

# ---------------------------------------------------------------------------
# Global switches: recording on/off, anomaly detection, the module being called.
# ---------------------------------------------------------------------------
_grad_enabled = True
_anomaly = False
_module_stack: list = []

# tensor.py imports this module, so it hands over its Tensor class once it is defined.
Tensor = None


def _set_tensor_class(cls):
    global Tensor
    Tensor = cls


class _GradMode:
    """Recording on (``enabled = True``) or off inside a ``with`` block or a decorated function.

    A class rather than a generator-based context manager: about twice as cheap to enter
    and leave. The backward pass, which runs every training step, does not enter one: it
    switches the mode by hand in ``_run_backward``.
    """

    enabled = True

    def __call__(self, fn):
        """Use as a decorator, ``@tl.no_grad()``: each call gets its own block."""
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous
        return False


class no_grad(_GradMode):
    """Run the block without recording a graph (evaluation, weight updates)."""

    enabled = False


class enable_grad(_GradMode):
    """Record a graph inside the block, even within ``no_grad``."""

    enabled = True


def is_grad_enabled() -> bool:
    """True when ops record the graph they build."""
    return _grad_enabled


class AnomalyError(FloatingPointError):
    """A NaN or inf appeared in a forward or backward pass under ``detect_anomaly``."""


@contextlib.contextmanager
def detect_anomaly():
    """Check every forward result and every backward gradient for NaN/inf.

    When one appears, raise :class:`AnomalyError` naming the op that produced it
    and the line of your code that created that op. Slower: use it to debug.
    """
    global _anomaly
    previous, _anomaly = _anomaly, True
    try:
        yield
    finally:
        _anomaly = previous


class module_scope:
    """Tag the ops created inside the block with ``module`` (used by graph rendering).

    A class rather than a generator-based context manager, as the grad modes are.
    ``Module.__call__`` does the same push and pop written out, on every layer call.
    """

    __slots__ = ("module",)

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        _module_stack.append(self.module)

    def __exit__(self, *exc):
        _module_stack.pop()
        return False


# ---------------------------------------------------------------------------
# The op contract
# ---------------------------------------------------------------------------
class Context:
    """What one application of an op remembers for its backward pass.

    It is also the graph node: ``parents`` are the input Tensors (``None`` for a
    constant input), ``op`` the Function class, ``params`` its keyword
    arguments (``k``, ``axis``...; one shared empty dict for an op called without
    any, so read it and never write into it) and ``sequence`` the node's place in the order
    nodes were recorded (the backward pass goes through them newest first).
    """

    # Slots for what every node has; __dict__ for what an op's forward saves (masks, k...).
    # The parents of an op with one or two inputs (nearly all of them) live in two slots of
    # the node, not in a tuple of their own: one object fewer per node for Python's garbage
    # collector, which walks every object a graph holds, again and again while it grows.
    # A 100,000-op chain then builds and backpropagates 10% faster (0.553 -> 0.497 s,
    # medians of 12 runs taking turns in one process; three full collections instead of
    # four). ``parents`` puts them back in a tuple for whoever reads them.
    __slots__ = ("op", "_parent0", "_parent1", "inputs", "params", "needs_input_grad",
                 "sequence", "__dict__")
    # Defaults live on the class, so creating a node sets only what differs (it is hot code).
    _more_parents = None  # all the parents, for an op with three inputs or more
    output = None
    xp = None  # set to the NumPy namespace below
    scope = None
    trace = None

    # Made by Function.apply, which sets the first six slots, ``sequence`` when it records
    # the node, and ``scope`` inside a module call.

    @property
    def parents(self) -> tuple:
        """The input Tensors in order, ``None`` for a constant input."""
        if self._more_parents is not None:
            return self._more_parents
        if len(self.needs_input_grad) == 1:
            return (self._parent0,)
        return (self._parent0, self._parent1)

    @property
    def freed(self):
        """True once a backward pass without retain_graph has dropped this node's inputs."""
        return self.inputs is None

    def __setstate__(self, state):
        """Restore a copy (``copy.deepcopy``, ``pickle``) as a new node with its own number.

        Numbers are only comparable within one process's run, so an unpickled graph's
        old ones could be larger than the new ops that use it. Its inputs are restored
        first, so their new numbers are smaller: the graph stays newest-first.
        """
        instance_dict, slots = state if isinstance(state, tuple) else (state, None)
        for name, value in (slots or {}).items():
            setattr(self, name, value)
        if instance_dict:
            self.__dict__.update(instance_dict)
        if "sequence" in (slots or {}):
            self.sequence = _next_sequence()

    def __repr__(self):
        return f"<{self.op.__name__}>"


# Shared by the nodes that can share them: every object a node keeps is one more that Python's
# garbage collector walks, again and again while a graph grows (and each new one brings its
# next collection closer). An op called without keyword arguments keeps this one empty dict
# (read ctx.params, never write into it), and the usual needs_input_grad tuples are these.
# That took a node from six new objects to four, and a 100,000-op chain from 0.61 to 0.565 s
# (four full collections instead of five). With the parents in the node's slots (Context,
# above) it is three: the Tensor, the node, and the inputs tuple, which the collector stops
# tracking at its first look.
_NO_PARAMS: dict = {}
_SHARED_NEEDS = {needs: needs for n in (1, 2, 3)
                 for needs in itertools.product((False, True), repeat=n)}
_new_context = _new_tensor = object.__new__
# 0, 1, 2...: each recorded node's ``sequence``.
_next_sequence = itertools.count().__next__


# Constants that reach forward as they are: the usual ones (x * 0.5, the targets of a loss).
_CONSTANTS_AS_IS = frozenset({float, int, np.ndarray})


def _constant(x):
    """An input that is not a Tensor, as ``forward`` sees it (Python numbers and arrays skip this).

    A NumPy scalar becomes a Python number: NumPy types those weakly, so float32 data times
    ``np.float64(2.0)`` stays float32 (a NumPy scalar would make it float64). A list becomes an
    array. Anything else (a tuple, None for an optional input left out) is passed as it is.
    """
    if isinstance(x, np.generic):
        return x.item()
    return np.asarray(x) if isinstance(x, list) else x


class Function:
    """Base class of every op. Subclass it, then call ``YourOp.apply(*inputs, **params)``."""

    formula = ""
    derivative = ""

    @staticmethod
    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run ``forward`` on the inputs' arrays and, if any input requires grad, record the node.

        An input that is not a Tensor is a constant (it gets no gradient): Python numbers and
        arrays reach ``forward`` as they are, a NumPy scalar as a Python number, a list as an
        array (see ``_constant``).
        """
        arrays, parents, needs = [], [], []
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
                parents.append(x)
                needs.append(x._requires_grad)
            else:  # a constant
                if type(x) not in _CONSTANTS_AS_IS:
                    x = _constant(x)
                arrays.append(x)
                parents.append(None)
                needs.append(False)
        # Tuples, not lists: once the garbage collector sees that a tuple holds no containers
        # (arrays, numbers, bools) it stops tracking it, so big graphs cost it less.
        ctx = _new_context(Context)  # Context.__new__: filled here, without an __init__ call
        ctx.op, ctx.inputs = cls, tuple(arrays)
        if len(parents) == 2:
            ctx._parent0, ctx._parent1 = parents
        elif len(parents) == 1:
            ctx._parent0, ctx._parent1 = parents[0], None
        else:
            ctx._parent0 = ctx._parent1 = None
            ctx._more_parents = tuple(parents)
        ctx.params = params if params else _NO_PARAMS
        needs = tuple(needs)
        ctx.needs_input_grad = _SHARED_NEEDS.get(needs, needs)
        if _module_stack:
            ctx.scope = tuple(_module_stack)
        if _anomaly:  # the checked path, kept out of the way of the usual one
            return _apply_checked(cls, ctx, arrays, params)
        try:
            out = cls.forward(ctx, *arrays, **params)
        except ValueError as err:
            raise _shape_error(cls, arrays, err) from err
        if type(out) is not np.ndarray:  # NumPy returns scalars for 0-d results
            out = np.asarray(out)
        # Tensor._from_op written out, a call fewer on the hottest path of the library.
        t = _new_tensor(Tensor)
        t.data, t.grad, t.name, t._hooks, t._retains_grad = out, None, None, None, False
        if _grad_enabled and True in ctx.needs_input_grad:
            ctx.sequence = _next_sequence()
            t._ctx, t._requires_grad = ctx, True
        else:
            t._ctx, t._requires_grad = None, False
        return t


def _apply_checked(cls, ctx, arrays, params):
    """``Function.apply`` under ``detect_anomaly``: NaN/inf in forward is an AnomalyError."""
    try:
        with np.errstate(all="ignore"):  # raised below as an AnomalyError, not warned
            out = cls.forward(ctx, *arrays, **params)
    except ValueError as err:
        raise _shape_error(cls, arrays, err) from err
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    _check_forward(cls, arrays, out)
    if _grad_enabled and True in ctx.needs_input_grad:
        ctx.trace = _where_created()
        ctx.sequence = _next_sequence()
        return Tensor._from_op(out, True, ctx)
    return Tensor._from_op(out, False, None)


def _shape_error(op, arrays, err):
    shapes = " and ".join(str(np.shape(a)) for a in arrays)
    if "broadcast" in str(err):
        return ValueError(
            f"{op.__name__}: shapes {shapes} cannot be broadcast together (NumPy's rule: "
            f"aligned from the right, each pair of axes must be equal or one of them 1). "
            f"Reshape or transpose one operand.")
    return ValueError(f"{op.__name__}: {err} (input shapes: {shapes})")


def _check_forward(op, arrays, out):
    finite_inputs = all(np.all(np.isfinite(a)) for a in arrays
                        if np.asarray(a).dtype.kind == "f")
    if finite_inputs and not np.all(np.isfinite(out)):
        raise AnomalyError(f"{op.__name__} produced NaN/inf in forward from finite inputs "
                           f"(output shape {out.shape}).\n{_where_created()}")


def _where_created() -> str:
    frames = [f for f in traceback.extract_stack()[:-2] if "tinygrad_lab" not in f.filename]
    return "".join(traceback.format_list(frames[-3:])) if frames else ""


# ---------------------------------------------------------------------------
# The two function namespaces a backward may use as ``ctx.xp``
# ---------------------------------------------------------------------------
@np.errstate(over="ignore")
def _np_sigmoid(z, k=1.0):
    """σ(kz) = 1/(1 + e^(−kz)) in four ufuncs, three of them in place.

    Full relative precision in both tails (σ(−20) = 2.06e-9 in float32; the form
    ½ + ½·tanh(x/2) loses it: 1 − tanh cancels, giving 0 for x < −17). Where
    e^(−kz) (or −kz itself) overflows, 1/(1 + inf) = 0 is the right answer, so overflow
    warnings are silenced: no warning and finite results at k=10, x=±1000.

    Measured and kept as is (float32): ``errstate`` as a decorator costs ~0.4 µs a call
    (as a ``with`` block, twice that), a tenth of a 4×4 sigmoid and nothing at batch
    sizes; the overflow-free forms cost more where it matters (e^(−|kz|) picked per
    sign: 7× slower at 10000×256; e^(−logaddexp(0, −kz)): 13× slower; SciPy's expit:
    2.3× slower, +0.18 s import).
    Outputs for kz in (−88.7, −87.3) are subnormal, and subnormal inputs make matmuls
    4–70× slower. They are not flushed to zero: that costs every call another pass
    (+10%), and on the assignment net at k=10 it saved only 31 → 27 ms a step, because
    the backward's k·σ(1−σ)·G makes subnormal gradients of its own.
    """
    out = np.multiply(z, -k)
    if not isinstance(out, np.ndarray) or out.dtype.kind != "f":  # 0-d gives a NumPy scalar
        out = np.asarray(out, dtype=np.result_type(out, np.float32))
    np.exp(out, out=out)
    out += 1
    np.divide(1, out, out=out)  # the same correctly rounded 1/x as np.reciprocal, ~5% faster
    return out


def _np_scatter_add(grad, index, shape):
    """Zeros of ``shape`` with ``grad`` added at ``index`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=grad.dtype)
    np.add.at(out, index, grad)
    return out


_numpy_xp = Context.xp = SimpleNamespace(
    exp=np.exp, log=np.log, sqrt=np.sqrt, tanh=np.tanh, where=np.where, sigmoid=_np_sigmoid,
    broadcast_to=np.broadcast_to, scatter_add=_np_scatter_add, is_tensor=False,
)


_tensor_xp_cache = None


def _tensor_xp():
    """tinygrad_lab's own functions as ``ctx.xp``; made once (functional imports this module)."""
    global _tensor_xp_cache
    if _tensor_xp_cache is None:
        from . import functional as F
        _tensor_xp_cache = SimpleNamespace(
            exp=F.exp, log=F.log, sqrt=F.sqrt, tanh=F.tanh, where=F.where, sigmoid=F.sigmoid,
            broadcast_to=F.broadcast_to, scatter_add=F.scatter_add, is_tensor=True,
        )
    return _tensor_xp_cache


# ---------------------------------------------------------------------------
# Gradient plumbing shared by every op
# ---------------------------------------------------------------------------
def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != m for n, m in zip(shape, grad.shape[extra:])):
        return grad  # not a broadcast of shape: the caller reports the op's mistake
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra:
        grad = grad.reshape(shape)
    return grad


def _input_grads(ctx, out, grad, create_graph):
    """Call the op's backward when recording it or checking for anomalies.

    The usual case (plain arrays, no checks) is inlined in the backward loop.
    """
    op = ctx.op
    if create_graph:
        ctx.xp = _tensor_xp()
        saved_inputs = ctx.inputs
        ctx.inputs = tuple(p if p is not None else c for p, c in zip(ctx.parents, saved_inputs))
        ctx.output = out
        try:
            return op.backward(ctx, grad)
        except TypeError as err:
            if "__array_ufunc__" not in str(err):
                raise
            raise TypeError(
                f"{op.__name__}.backward called a NumPy function on a Tensor while recording the "
                f"backward pass (create_graph=True, for higher-order gradients). Use the "
                f"functions of ctx.xp (exp, log, sqrt, tanh, where, sigmoid, ...) and operators "
                f"on ctx.inputs/ctx.output, or compute the value in forward and save it on ctx "
                f"(it is then a constant).") from err
        finally:
            ctx.inputs, ctx.output, ctx.xp = saved_inputs, None, _numpy_xp
    ctx.output = out.data
    try:
        with np.errstate(all="ignore"):  # NaN/inf becomes an AnomalyError in _conform
            return op.backward(ctx, grad)
    finally:
        ctx.output = None


def _wrong_count(ctx, grads):
    return RuntimeError(f"{ctx.op.__name__}.backward returned {len(grads)} gradients "
                        f"for {len(ctx.parents)} inputs")


def _conform(ctx, i, g, target, create_graph):
    """Give input ``i``'s gradient ``g`` the shape and dtype of its input's array ``target``.

    The backward loop calls this only when something differs (a NumPy scalar, a
    broadcast shape, another dtype) or under ``detect_anomaly``.
    """
    op = ctx.op
    if not create_graph and type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.shape != target.shape:
        g = _unbroadcast(g, target.shape)
        if g.shape != target.shape:
            raise RuntimeError(f"{op.__name__}.backward gave input {i} a gradient of shape "
                               f"{g.shape}, but the input has shape {target.shape}")
    if g.dtype != target.dtype:
        g = g.astype(target.dtype)
    if _anomaly:
        data = g.data if create_graph else g
        if not np.all(np.isfinite(data)):
            raise AnomalyError(
                f"{op.__name__}.backward produced NaN/inf in the gradient of input {i} "
                f"(shape {target.shape}). The op was created at:\n{ctx.trace or '(unknown)'}")
    return g


# ---------------------------------------------------------------------------
# The backward pass: iterative (no recursion), newest node first
# ---------------------------------------------------------------------------
_FREED_MESSAGE = (
    "Trying to backward through a graph a second time: its saved values were freed by the "
    "first backward(). Pass retain_graph=True to the first backward() (or tl.grad) if you "
    "need to go through the same graph twice, or rebuild the graph by running the forward "
    "pass again."
)


def _run_backward(roots, seeds, retain_graph, create_graph, wanted=None):
    """Propagate ``seeds`` from ``roots`` back through the graph.

    Nodes are visited newest first (largest ``ctx.sequence``): the reverse of the order
    the forward pass ran the ops. An op's inputs exist before it runs, so every op that
    used a tensor is newer than the tensor; by the time the tensor comes up, all of them
    have sent their share and its gradient is complete. Leaves, which no op made, come
    last. So the graph is walked once, with no first pass to count each tensor's users.

    With ``wanted`` (a list of tensors) the gradients of those tensors are
    returned and no ``.grad`` is touched (``tl.grad``); otherwise leaves (and
    tensors that called ``retain_grad``) accumulate into ``.grad``.
    """
    grads = {}    # id(tensor) -> its gradient so far
    # The tensors whose gradient is on its way, as a heap of (order, arrival, tensor): an
    # op's output has order -sequence, a leaf 1, so leaves come after every op, in the
    # order gradients reached them. ``arrival`` also means two tensors are never compared.
    waiting = []
    arrival = itertools.count().__next__
    for r, s in zip(roots, seeds):
        if id(r) in grads:
            grads[id(r)] = grads[id(r)] + s
        else:
            grads[id(r)] = s
            heapq.heappush(waiting, (1 if r._ctx is None else -r._ctx.sequence, arrival(), r))
    wanted_ids = {id(t): i for i, t in enumerate(wanted)} if wanted is not None else None
    found = [None] * len(wanted) if wanted is not None else None
    leaf_grad_ids = set()
    summed = set()  # ids whose gradient is a sum this pass made: safe to add into in place
    # Plain arrays and no checks: the usual case, run inline below. Recording the backward
    # (create_graph) or detect_anomaly go through _input_grads and _conform.
    special = create_graph or _anomaly

    # The pass records a graph only for create_graph (higher-order gradients); the mode
    # is put back as it was afterwards. Written out, not a ``with no_grad()`` block: every
    # training step passes here.
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, create_graph
    try:
        while waiting:
            t = heapq.heappop(waiting)[2]
            ctx = t._ctx
            if ctx is not None and ctx.inputs is None:  # ctx.freed, without a property call
                raise RuntimeError(_FREED_MESSAGE)
            g = grads.pop(id(t))
            if t._hooks:
                g = _run_hooks(t._hooks, g, create_graph)
            if wanted_ids is not None:
                if id(t) in wanted_ids:
                    found[wanted_ids[id(t)]] = g
            elif ctx is None or t._retains_grad:
                _accumulate_grad(t, g, create_graph, leaf_grad_ids)
            if ctx is None:
                continue
            parents = ctx._more_parents  # ctx.parents, without a property call
            if parents is None:
                parents = ((ctx._parent0,) if len(ctx.needs_input_grad) == 1
                           else (ctx._parent0, ctx._parent1))
            if special:
                parent_grads = _input_grads(ctx, t, g, create_graph)
            else:
                ctx.output = t.data
                parent_grads = ctx.op.backward(ctx, g)
                ctx.output = None
            if type(parent_grads) is not tuple:
                parent_grads = (parent_grads,)
            if len(parent_grads) != len(parents):
                raise _wrong_count(ctx, parent_grads)
            for i, parent in enumerate(parents):
                if parent is None or not parent._requires_grad:
                    continue
                pg = parent_grads[i]
                if pg is None:
                    continue
                # The usual case is an array of the input's exact shape and dtype; anything
                # else (a scalar, a broadcast shape, a Tensor when recording) is conformed.
                target = parent.data
                if type(pg) is not np.ndarray and not special:
                    pg = np.asarray(pg)  # NumPy returns scalars, not arrays, for 0-d results
                if special or pg.shape != target.shape or pg.dtype != target.dtype:
                    pg = _conform(ctx, i, pg, target, create_graph)
                key = id(parent)
                if key not in grads:  # the first share to reach this parent
                    grads[key] = pg
                    made_by = parent._ctx
                    heapq.heappush(waiting, (1 if made_by is None else -made_by.sequence,
                                             arrival(), parent))
                elif key in summed:
                    grads[key] += pg  # our own array from an earlier sum: add in place
                else:
                    # pg or the stored gradient may be another node's array too (Add hands
                    # the same one to both inputs): the first sum makes a new array.
                    total = grads[key] + pg
                    if not create_graph and type(total) is not np.ndarray:
                        total = np.asarray(total)  # NumPy sums 0-d arrays into scalars
                    grads[key] = total
                    summed.add(key)
            if not retain_graph:
                # Dropping the references frees the intermediate tensors as soon as nobody
                # else holds them: memory stays flat from one training step to the next.
                ctx._parent0 = ctx._parent1 = None
                if ctx._more_parents is not None:
                    ctx._more_parents = (None,) * len(parents)
                ctx.inputs = None  # which also marks the node as freed
    finally:
        _grad_enabled = previous
    return found


def _run_hooks(hooks, g, create_graph):
    """Show each hook the tensor's complete gradient; a hook may return a replacement."""
    for hook in hooks:
        new = hook(g if create_graph else Tensor(g))
        if new is not None:
            g = new if create_graph else np.asarray(new.data if isinstance(new, Tensor) else new)
    return g


def _accumulate_grad(t, g, create_graph, leaf_grad_ids):
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if t.grad is None:
        # Two leaves can receive the very same array (x + y), or two views of one array
        # (x.reshape(…) + y.reshape(…)); give each its own copy, keyed by the memory's owner.
        owner = g if g.base is None else g.base
        if id(owner) in leaf_grad_ids or not g.flags.writeable:
            g = owner = g.copy()
        leaf_grad_ids.add(id(owner))
        # g already has the leaf's shape and dtype: the fast constructor skips the checks.
        t.grad = Tensor._from_op(g, False, None)
    else:
        t.grad = Tensor._from_op(np.asarray(t.grad.data + g), False, None)  # 0-d stays an array


def _seed_for(t, grad, create_graph):
    if grad is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {t.shape} needs an explicit gradient: call "
                f"t.backward(grad) with an array of that shape, or reduce it to a scalar first "
                f"(e.g. t.sum().backward()).")
        seed = np.empty(t.data.shape, t.data.dtype)  # np.ones, without its Python layer
        seed.fill(1)
    else:
        seed = grad.data if isinstance(grad, Tensor) else np.asarray(grad, dtype=t.dtype)
        if seed.shape != t.shape:
            raise ValueError(f"backward(): the gradient has shape {seed.shape} but the tensor "
                             f"has shape {t.shape}; they must match.")
        seed = seed.astype(t.dtype, copy=True)
    return Tensor(seed) if create_graph else seed


def backward(tensor, grad=None, retain_graph=False, create_graph=False):
    """Accumulate d tensor / d leaf into every leaf's ``.grad`` (see ``Tensor.backward``)."""
    if not tensor._requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require grad, so there is no graph to go back "
            "through. Create the inputs with requires_grad=True (parameters do this) and make "
            "sure the computation did not run under tl.no_grad().")
    seed = _seed_for(tensor, grad, create_graph)
    _run_backward([tensor], [seed], retain_graph or create_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
         allow_unused=False):
    """Return d(outputs)/d(inputs) as a list of Tensors, without touching ``.grad``.

    With ``create_graph=True`` the returned gradients are themselves part of a
    graph, so they can be differentiated again (higher-order gradients).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or isinstance(grad_outputs, np.ndarray):
        grad_outputs = [grad_outputs]
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(f"tl.grad: input {i} does not require grad; create it with "
                             f"requires_grad=True.")
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"tl.grad: output {i} does not require grad (it does not depend "
                               f"on any input that requires grad).")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed_for(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    found = _run_backward(outputs, seeds, retain_graph, create_graph, wanted=inputs)
    result = []
    for i, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"tl.grad: input {i} (shape {x.shape}) is not used to compute "
                                   f"the outputs; pass allow_unused=True to get None for it.")
            result.append(None)
        else:
            result.append(g if create_graph else Tensor(g))
    return result
