"""Check a hand-written backward pass against autodiff: :func:`check_backward`.

The assignment derives its gradients by hand, in NumPy, column-major::

    def forward_pass(X, W1, W2, W3, k):
        L1 = sigmoid(W1.dot(X), k)
        L2 = sigmoid(W2.dot(L1), k)
        L3 = sigmoid(W3.dot(L2), k)
        return L1, L2, L3

    def backward_pass(L1, L2, L3, W1, W2, W3, k):   # T is a global
        dW3 = (L3 - T) * L3*(1 - L3) * k            # the error signal δ3 of layer 3
        dW2 = W3.T.dot(dW3) * L2*(1 - L2) * k
        dW1 = W2.T.dot(dW2) * L1*(1 - L1) * k
        return dW1, dW2, dW3                        # the weight gradient is δl · L(l-1)ᵀ

and checks them nowhere. ``check_backward(forward_pass, backward_pass, params, inputs, T)``
runs both and says, per weight matrix, whether the hand-written gradient is the
true one, how far off it is, where it is worst, and which layer goes wrong first::

    report = check_backward(forward_pass, backward_pass,
                            params={"W1": W1, "W2": W2, "W3": W3},
                            inputs={"X": X, "k": 1.0}, targets=T)
    print(report)          # a table and a verdict
    report.ok              # True when every gradient agrees

How the true gradients are found
--------------------------------
The learner's own forward pass is run twice, in float64. Once on NumPy arrays:
its outputs go to the learner's backward pass, exactly as in their training loop.
Once on Tensors, so that autodiff can differentiate it. For that second run the
names under which the forward's module sees NumPy (``np``, ``numpy``, or a
function imported with ``from numpy import exp``) are pointed, for the duration
of the call only, at :data:`TENSOR_NUMPY`: a small stand-in that sends
``np.exp``, ``np.maximum``, ``np.dot``... to this library's ops. Operators
(``+``, ``**``, ``1.0/(...)``, ``np.e**-(k*x)``) and ``W1.dot(X)`` work on
Tensors directly. Then the loss (the assignment's ½Σ(L3 − T)² by default) is
differentiated with :func:`tinygrad_lab.grad`.

Limits, said plainly
--------------------
* Only functions defined in the forward's own module see the stand-in. A helper
  imported from another module still calls real NumPy, which cannot take a
  Tensor; the checker then stops with a message saying so.
* On values that carry a gradient, only the NumPy functions in
  ``TensorNumpy.SUPPORTED`` work. Any other one stops the check with a clear
  error instead of silently dropping the gradient (which would make a right
  backward look wrong).
* In-place writes in the forward (``z[z < 0] = 0``) cannot be differentiated;
  write ``np.where(z > 0, z, 0)`` or ``np.maximum(z, 0)``.
* The swap edits the module's globals while the forward runs: do not check the
  same module from two threads at once.
* The layer analysis (``returns="deltas"`` and "which line is wrong") assumes the
  assignment's layered net: the forward returns L1..Ln with Ll = f(Wl·L(l−1)), and
  ``params`` lists W1..Wn from input to output.
* The random data are small; a kink (ReLU at exactly 0) is not hit, and a term that
  is zero on this data (a dead unit) cannot be told right from wrong there.
"""
from __future__ import annotations

import contextlib
import inspect
import traceback
from dataclasses import dataclass, field

from pathlib import Path

import numpy as np

from . import functional as F
from .autograd import grad as autograd_grad
from .tensor import Tensor

__all__ = ["check_backward", "make_problem", "BackwardReport", "ParamCheck", "CheckError",
           "LearnerCodeError", "TensorNumpy", "TENSOR_NUMPY", "LOSSES"]


_PACKAGE_DIR = str(Path(__file__).resolve().parent)  # frames from here are not the learner's


class CheckError(ValueError):
    """The functions cannot be checked as given (signature, shapes, unsupported NumPy)."""


class LearnerCodeError(RuntimeError):
    """The learner's forward or backward pass itself raised; the message holds its traceback."""


# ---------------------------------------------------------------------------
# NumPy on Tensors: the stand-in the learner's forward sees while autodiff records it
# ---------------------------------------------------------------------------
def _is_tensor(value):
    return isinstance(value, Tensor)


def _any_tensor(args, kwargs):
    return any(_is_tensor(a) for a in (*args, *kwargs.values()))


def _axis_reduction(fn):
    """np.sum(x, axis=0, keepdims=True) → fn(x, axis, keepdims)."""
    def reduce(x, axis=None, keepdims=False, **ignored):
        return fn(x, axis, keepdims)
    return reduce


class TensorNumpy:
    """A stand-in for the ``numpy`` module that runs the listed functions as tinygrad_lab ops.

    A call whose arguments hold no Tensor goes to real NumPy (so ``np.sqrt(784)``,
    ``np.zeros``, ``np.float32`` and ``np.e`` behave as usual). A call on a Tensor
    goes to the library's op of the same meaning, which records it for autodiff.
    A NumPy function not in ``SUPPORTED`` called on a Tensor raises :class:`CheckError`
    rather than turning the Tensor into a plain array and losing its gradient.
    """

    SUPPORTED = {
        "exp": F.exp, "log": F.log, "sqrt": F.sqrt, "tanh": F.tanh,
        "abs": F.abs, "absolute": F.abs, "negative": F.neg,
        "add": F.add, "subtract": F.sub, "multiply": F.mul, "divide": F.div,
        "true_divide": F.div, "power": F.pow, "square": lambda x: F.mul(x, x),
        "maximum": F.maximum, "minimum": F.minimum,
        "clip": lambda x, lo=None, hi=None: F.clip(x, lo, hi),
        "where": F.where,
        "dot": F.matmul, "matmul": F.matmul,
        "transpose": lambda x, axes=None: F.transpose(x, axes),
        "reshape": lambda x, shape: F.reshape(x, shape),
        "sum": _axis_reduction(F.sum), "mean": _axis_reduction(F.mean),
        "max": _axis_reduction(F.max), "amax": _axis_reduction(F.max),
        "min": _axis_reduction(F.min), "amin": _axis_reduction(F.min),
    }

    def __init__(self):
        self.__name__ = "numpy (on tinygrad_lab Tensors)"

    def __getattr__(self, name):
        real = getattr(np, name)  # AttributeError for names NumPy does not have either
        if not callable(real) or isinstance(real, type):
            return real  # constants (np.e, np.pi, np.newaxis) and dtypes (np.float32)
        return self._function(name, real)

    def _function(self, name, real):
        ours = self.SUPPORTED.get(name)

        def call(*args, **kwargs):
            if not _any_tensor(args, kwargs):
                return real(*args, **kwargs)
            if ours is None:
                raise CheckError(
                    f"your forward pass calls np.{name} on a value that carries the gradient; "
                    f"the checker can follow only np.{', np.'.join(sorted(self.SUPPORTED))} "
                    f"and the operators (+ - * / ** @, .dot, .T). Rewrite that line with "
                    f"those (e.g. np.maximum(z, 0) for a mask).")
            return ours(*args, **kwargs)

        call.__name__ = name
        return call


TENSOR_NUMPY = TensorNumpy()


@contextlib.contextmanager
def _numpy_replaced_in(fn):
    """While the block runs, ``fn``'s module sees TENSOR_NUMPY wherever it sees NumPy."""
    scope = getattr(fn, "__globals__", None)
    if scope is None:
        yield
        return
    saved = {}
    for name, value in list(scope.items()):
        if value is np:
            saved[name] = value
            scope[name] = TENSOR_NUMPY
        elif callable(value) and getattr(np, getattr(value, "__name__", ""), None) is value:
            saved[name] = value  # from numpy import exp
            scope[name] = getattr(TENSOR_NUMPY, value.__name__)
    try:
        yield
    finally:
        scope.update(saved)


_MISSING = object()


@contextlib.contextmanager
def _global_set(fn, name, value):
    """Give ``fn``'s module the global ``name`` = ``value`` while the block runs, then restore.

    The assignment's backward_pass reads the targets from a global ``T``.
    """
    scope = getattr(fn, "__globals__", None)
    if scope is None:
        yield
        return
    before = scope.get(name, _MISSING)
    scope[name] = value
    try:
        yield
    finally:
        if before is _MISSING:
            scope.pop(name, None)
        else:
            scope[name] = before


# ---------------------------------------------------------------------------
# Losses on the forward's last output L (any layout: they sum over everything)
# ---------------------------------------------------------------------------
def _sse(L, T):
    diff = L - T
    return (diff * diff).sum() * 0.5


def _ce(L, T):
    return -(T * F.log(L)).sum()


def _bce(L, T):
    return -(T * F.log(L) + (1 - T) * F.log(1 - L)).sum()


LOSSES = {
    "sse": (_sse, "E = ½ Σ (L − T)²  (the assignment's loss; δ_out = (L − T)·f')"),
    "ce": (_ce, "E = −Σ T·log L  (L a softmax output; δ_out = L − T)"),
    "bce": (_bce, "E = −Σ [T·log L + (1 − T)·log(1 − L)]  (L a sigmoid output; δ_out = L − T)"),
}


def _loss_function(loss):
    if callable(loss):
        return loss, getattr(loss, "__name__", "custom loss")
    if loss not in LOSSES:
        raise CheckError(f"unknown loss {loss!r}; choose from {', '.join(LOSSES)} or pass "
                         f"a function loss(L, T) -> scalar Tensor")
    return LOSSES[loss]


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------
@dataclass
class ParamCheck:
    """How one parameter's hand-written gradient compares with the true one.

    ``own_ok``: in a layered net with ``returns="deltas"``, whether this layer's own
    line is right *given the error signal the layer above handed down* (None when
    that cannot be told). A layer can be wrong only because it inherits a mistake.
    """

    name: str
    shape: tuple
    ok: bool
    rel_error: float
    worst_index: tuple
    hand_value: float
    true_value: float
    own_ok: bool | None = None
    hand: np.ndarray = field(repr=False, default=None)
    true: np.ndarray = field(repr=False, default=None)


@dataclass
class BackwardReport:
    """The result of :func:`check_backward`: ``print(report)`` shows a table and a verdict."""

    checks: list
    loss: str
    returns: str
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def first_wrong(self):
        """The wrong parameter that backprop reaches first (the one nearest the output), or None."""
        for c in reversed(self.checks):
            if not c.ok:
                return c.name
        return None

    def __getitem__(self, name) -> ParamCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def table(self) -> str:
        show_own = any(c.own_ok is not None for c in self.checks)
        head = ["parameter", "shape", "check", "rel. error", "worst at", "hand", "true"]
        if show_own:
            head.append("own line")
        rows = [head]
        for c in self.checks:
            row = [c.name, "×".join(str(s) for s in c.shape), "ok" if c.ok else "WRONG",
                   f"{c.rel_error:.1e}", str(c.worst_index), f"{c.hand_value:+.4e}",
                   f"{c.true_value:+.4e}"]
            if show_own:
                row.append("—" if c.own_ok is None else "ok" if c.own_ok else "WRONG")
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
                         for r in rows)

    def verdict(self) -> str:
        if self.ok:
            worst = max((c.rel_error for c in self.checks), default=0.0)
            return (f"All {len(self.checks)} gradients agree with autodiff (largest relative "
                    f"error {worst:.1e}): your backward pass is right for this forward pass "
                    f"and loss.")
        names = [c.name for c in self.checks]
        first = self.first_wrong
        index = names.index(first)
        where = " (the output layer)" if index == len(names) - 1 else ""
        lines = [f"First wrong: {first}, layer {index + 1} of {len(names)}{where}. Backprop "
                 f"starts at the output and hands each layer's error signal down, so every "
                 f"layer below a mistake inherits it."]
        above = [c.name for c in reversed(self.checks[index + 1:])]
        if above:
            lines.append(f"Right: {', '.join(above)}.")
        below = list(reversed(self.checks[:index]))
        if below and all(c.own_ok is not None for c in below):
            inherited = [c.name for c in below if c.own_ok and not c.ok]
            own_wrong = [c.name for c in below if not c.own_ok]
            if inherited:
                lines.append(f"Wrong only by inheritance: {', '.join(inherited)} (given the "
                             f"error signal handed down, the own line is right).")
            if own_wrong:
                lines.append(f"Wrong in the own line too: {', '.join(own_wrong)} (the same "
                             f"mistake is probably in what the layers share, e.g. the "
                             f"derivative function).")
        lines.append(f"Fix the line for {first} first.")
        return "\n".join(lines)

    def __str__(self):
        parts = [f"loss: {self.loss}", f"backward returns: {self.returns}", ""]
        parts += [f"note: {n}\n" for n in self.notes]
        parts += [self.table(), "", self.verdict()]
        return "\n".join(parts)


def _compare(name, hand, true, rtol, atol):
    """A ParamCheck from the two arrays: elementwise closeness, norm-wise relative error."""
    hand = np.asarray(hand, dtype=np.float64)
    diff = np.abs(hand - true)
    if not np.all(np.isfinite(hand)):
        diff = np.where(np.isfinite(hand), diff, np.inf)
    # atol is relative to the gradient's scale, so that tiny rounding noise in a
    # large gradient is not flagged, while any element that is off by more is.
    scale = float(np.max(np.abs(true))) if true.size else 0.0
    ok = bool(np.all(diff <= atol * scale + rtol * np.abs(true) + 1e-300))
    denom = max(float(np.linalg.norm(true)), float(np.linalg.norm(np.nan_to_num(hand))), 1e-300)
    rel = float(np.linalg.norm(np.nan_to_num(diff, posinf=np.finfo(float).max))) / denom
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) \
        if diff.size else ()
    return ParamCheck(name, tuple(true.shape), ok, rel, worst, float(hand[worst]),
                      float(true[worst]), hand=hand, true=true)


# ---------------------------------------------------------------------------
# Calling the learner's functions by their argument names
# ---------------------------------------------------------------------------
def _signature(fn, what):
    if not callable(fn):
        raise CheckError(f"{what} must be a function, got {type(fn).__name__}")
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError) as err:
        raise CheckError(f"cannot read the arguments of {what}: {err}") from None


def _learner_call(fn, what, kwargs):
    """Call the learner's function; if it raises, say so with the traceback of their code."""
    try:
        return fn(**kwargs)
    except CheckError:
        raise
    except Exception as err:  # noqa: BLE001 - anything their code raises is reported, not hidden
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if not f.filename.startswith(_PACKAGE_DIR)]
        where = "".join(traceback.format_list(frames))
        raise LearnerCodeError(f"{what} raised {type(err).__name__}: {err}\n{where}".rstrip()
                               ) from err


def _bind_forward(sig, params, inputs):
    """Keyword arguments for the forward: parameters and inputs by name."""
    kwargs, used = {}, set()
    var_kw = False
    for name, p in sig.parameters.items():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind is p.VAR_POSITIONAL:
            continue
        elif name in params or name in inputs:
            kwargs[name] = params[name] if name in params else inputs[name]
            used.add(name)
        elif p.default is p.empty:
            raise CheckError(f"forward_pass takes an argument {name!r} that is neither a "
                             f"parameter ({', '.join(params)}) nor an input "
                             f"({', '.join(inputs) or 'none given'}); pass it in inputs=.")
    missing = [n for n in params if n not in kwargs]
    if missing and not var_kw:
        raise CheckError(f"forward_pass does not take the parameter(s) {', '.join(missing)}; its "
                         f"arguments are ({', '.join(sig.parameters)})")
    if var_kw:
        kwargs.update({n: v for n, v in {**params, **inputs}.items() if n not in kwargs})
    return kwargs, used | (set(inputs) if var_kw else set())


def _bind_backward(sig, params, inputs, targets, outputs):
    """Keyword arguments for the backward; its other arguments get the forward's outputs in order.

    Returns (kwargs, whether it takes T as an argument, the names used from inputs, the
    names it gives the forward's outputs).
    """
    kwargs, slots, used, takes_t = {}, [], set(), False
    var_kw = False
    for name, p in sig.parameters.items():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind is p.VAR_POSITIONAL:
            continue
        elif name in params:
            kwargs[name] = params[name]
        elif name in inputs:
            kwargs[name] = inputs[name]
            used.add(name)
        elif name == "T":
            kwargs[name], takes_t = targets, True
        elif p.default is p.empty:
            slots.append(name)
    if len(slots) != len(outputs):
        raise CheckError(
            f"backward_pass takes {len(slots)} argument(s) ({', '.join(slots) or 'none'}) that are "
            f"not parameters, inputs or T; the checker fills them with the forward's outputs in "
            f"order, but forward_pass returned {len(outputs)} value(s). Its arguments are "
            f"({', '.join(sig.parameters)}).")
    kwargs.update(zip(slots, outputs))
    if var_kw:
        rest = {n: v for n, v in inputs.items() if n not in kwargs}
        kwargs.update(rest)
        used |= set(rest)
    return kwargs, takes_t, used, slots


def _as_tuple(result, what):
    if isinstance(result, (tuple, list)):
        return tuple(result)
    if isinstance(result, (np.ndarray, Tensor)):
        return (result,)
    raise CheckError(f"{what} should return arrays (a tuple of them or one), got "
                     f"{type(result).__name__}")


# ---------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------
def check_backward(forward, backward, params, inputs, targets, *, loss="sse",
                   returns="deltas", layer_input=None, rtol=1e-5, atol=1e-7) -> BackwardReport:
    """Compare a hand-written backward pass with the true gradients from autodiff.

    ``forward(**args) -> (L1, ..., Ln)``: NumPy code in the assignment's style; its
    arguments are filled by name from ``params`` and ``inputs``.
    ``backward(**args) -> (dW1, ..., dWn)``: arguments named like a parameter, an
    input or ``T`` get those; the remaining ones get the forward's outputs, in order
    (the assignment's ``backward_pass(L1, L2, L3, W1, W2, W3, k)``). A backward that
    reads ``T`` as a global gets it set for the duration of the call.
    ``params``: {name: array}, from the input layer to the output (W1, W2, W3).
    ``inputs``: {name: value} for the rest (``{"X": X, "k": 1.0}``); a bare array means
    ``{"X": array}``. ``targets``: T, the same shape as the forward's last output.
    ``loss``: "sse" (½Σ(L−T)², the assignment's), "ce" (−ΣT·log L, softmax output),
    "bce" (binary cross-entropy, sigmoid output) or a function ``loss(L, T)`` on Tensors.
    ``returns``: "deltas" when the backward returns each layer's error signal δl and
    the weight gradient is δl·L(l−1)ᵀ (the assignment), "gradients" when it returns
    ∂E/∂W itself. ``layer_input``: the input fed to layer 1 (default "X", or the only
    array input). ``rtol``/``atol``: tolerances, elementwise; atol is relative to the
    gradient's largest element.

    Everything runs in float64. Raises :class:`CheckError` when the functions cannot be
    checked as given and :class:`LearnerCodeError` when they raise.
    """
    if returns not in ("deltas", "gradients"):
        raise CheckError(f"returns must be 'deltas' (error signals δ, weight gradient δ·L_prevᵀ)"
                         f" or 'gradients' (∂E/∂W), got {returns!r}")
    loss_fn, loss_text = _loss_function(loss)
    params = _float64_params(params)
    inputs = {"X": inputs} if isinstance(inputs, np.ndarray) else dict(inputs)
    inputs = {n: np.array(v, dtype=np.float64) if _is_array(v) else v for n, v in inputs.items()}
    T = np.array(targets, dtype=np.float64)
    fwd_sig, bwd_sig = _signature(forward, "forward_pass"), _signature(backward, "backward_pass")

    # 1. The learner's forward on NumPy: what their backward pass is given.
    kwargs, used_fwd = _bind_forward(fwd_sig, {n: p.copy() for n, p in params.items()},
                                     {n: _copy(v) for n, v in inputs.items()})
    outputs = _as_tuple(_learner_call(forward, "forward_pass", kwargs), "forward_pass")
    outputs = tuple(np.asarray(o, dtype=np.float64) for o in outputs)
    if outputs[-1].shape != T.shape:
        raise CheckError(f"the targets T have shape {T.shape}, but the forward's last output has "
                         f"shape {outputs[-1].shape}; they must match")

    # 2. The same forward on Tensors, differentiated by autodiff.
    leaves = {n: Tensor(p, requires_grad=True, name=n) for n, p in params.items()}
    tensor_inputs = {n: Tensor(v) if _is_array(v) else v for n, v in inputs.items()}
    traced = _trace_forward(forward, fwd_sig, leaves, tensor_inputs, outputs)
    objective = loss_fn(traced[-1], T)
    true_grads = autograd_grad(objective, list(leaves.values()), retain_graph=True,
                               allow_unused=True)
    true_grads = [np.zeros_like(params[n]) if g is None else g.data
                  for n, g in zip(leaves, true_grads)]

    # 3. The learner's backward, given copies so that we can see what it changes.
    given = {"params": {n: p.copy() for n, p in params.items()},
             "inputs": {n: _copy(v) for n, v in inputs.items()},
             "outputs": [o.copy() for o in outputs]}
    bkw, takes_t, used_bwd, output_names = _bind_backward(bwd_sig, given["params"], given["inputs"], T.copy(),
                                            given["outputs"])
    unused = [n for n in inputs if n not in used_fwd | used_bwd]
    if unused:
        raise CheckError(f"neither forward_pass nor backward_pass takes the input(s) "
                         f"{', '.join(unused)}; their arguments are ({', '.join(fwd_sig.parameters)})"
                         f" and ({', '.join(bwd_sig.parameters)})")
    with (contextlib.nullcontext() if takes_t else _global_set(backward, "T", T.copy())):
        hand = _as_tuple(_learner_call(backward, "backward_pass", bkw), "backward_pass")
    if len(hand) != len(params):
        raise CheckError(f"backward_pass returned {len(hand)} value(s) for {len(params)} "
                         f"parameters ({', '.join(params)}); return one per parameter, in the "
                         f"same order")
    hand = [np.asarray(h, dtype=np.float64) for h in hand]
    notes = _changed_in_place(given, params, inputs, outputs, output_names)

    # 4. Compare, parameter by parameter, and (for deltas) layer by layer.
    names = list(params)
    if returns == "deltas":
        prev = _layer_inputs(names, given, outputs, inputs, layer_input)
        hand_grads = _weight_gradients(names, hand, prev, outputs, params)
    else:
        hand_grads = _check_gradient_shapes(names, hand, params)
    checks = [_compare(n, h, t, rtol, atol) for n, h, t in zip(names, hand_grads, true_grads)]
    if returns == "deltas":
        for c, own in zip(checks, _own_line_checks(names, hand, hand_grads, leaves, traced,
                                                   objective, params, rtol, atol)):
            c.own_ok = own
    return BackwardReport(checks, loss_text, _returns_text(returns), notes)


def _is_array(value):
    return isinstance(value, (np.ndarray, list)) and np.asarray(value).dtype.kind in "biuf"


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _float64_params(params):
    if isinstance(params, dict):
        items = list(params.items())
    else:
        items = [(f"W{i}", p) for i, p in enumerate(params, start=1)]
    if not items:
        raise CheckError("params is empty: give the weight matrices, e.g. {'W1': W1, 'W2': W2}")
    return {str(n): np.array(p.data if isinstance(p, Tensor) else p, dtype=np.float64)
            for n, p in items}


def _trace_forward(forward, sig, leaves, tensor_inputs, numpy_outputs):
    """Run the forward on Tensors under TENSOR_NUMPY; check it computes what NumPy computed."""
    kwargs, _ = _bind_forward(sig, leaves, tensor_inputs)
    try:
        with _numpy_replaced_in(forward):
            result = forward(**kwargs)
    except CheckError:
        raise
    except Exception as err:  # noqa: BLE001 - it ran on NumPy, so this is the checker's limit
        raise CheckError(
            f"the checker could not follow forward_pass with autodiff ({type(err).__name__}: "
            f"{err}). It ran fine on NumPy, so the cause is one of the checker's limits: a helper "
            f"from another module that calls NumPy itself, math.exp instead of np.exp, or an "
            f"in-place write such as z[z < 0] = 0 (write np.maximum(z, 0) or np.where).") from err
    traced = _as_tuple(result, "forward_pass")
    if len(traced) != len(numpy_outputs):
        raise CheckError("forward_pass returned a different number of values on Tensors")
    for i, (t, o) in enumerate(zip(traced, numpy_outputs), start=1):
        if not isinstance(t, Tensor) or (i == len(traced) and not t.requires_grad):
            raise CheckError(f"output {i} of forward_pass does not depend on the parameters "
                             f"through operations the checker can follow (it became a plain "
                             f"array); see the limits in tinygrad_lab.check")
        if t.shape != o.shape or not np.allclose(t.data, o, rtol=1e-9, atol=1e-12):
            raise CheckError(f"output {i} of forward_pass differs when run on Tensors; the "
                             f"checker cannot vouch for the gradients it would compute")
    return traced


def _changed_in_place(given, params, inputs, outputs, output_names):
    """Notes on the arrays the backward pass overwrote (``matrix = x`` does not copy)."""
    changed = [n for n, g, o in zip(output_names, given["outputs"], outputs)
               if not np.array_equal(g, o)]
    changed += [n for n, p in given["params"].items() if not np.array_equal(p, params[n])]
    changed += [n for n, v in given["inputs"].items()
                if isinstance(v, np.ndarray) and not np.array_equal(v, inputs[n])]
    if not changed:
        return []
    return [f"backward_pass changed {', '.join(changed)} in place (e.g. `matrix = x` in a "
            f"derivative function does not copy; write `matrix = x.copy()`). The weight "
            f"gradients below use them as your training loop would: after the backward pass."]


def _layer_inputs(names, given, outputs, inputs, layer_input):
    """What each layer multiplies its weights by, as the backward left it: X, L1, ..., L(n−1)."""
    if len(outputs) != len(names):
        raise CheckError(f"with returns='deltas' the forward must return one output per layer "
                         f"(L1..L{len(names)} for {', '.join(names)}), but it returned "
                         f"{len(outputs)}; return the layer outputs, or pass returns='gradients'")
    arrays = [n for n, v in given["inputs"].items() if isinstance(v, np.ndarray)]
    name = layer_input or ("X" if "X" in arrays else arrays[0] if len(arrays) == 1 else None)
    if name not in given["inputs"]:
        raise CheckError(f"which input feeds layer 1? Pass layer_input= (one of "
                         f"{', '.join(arrays) or 'no array inputs given'})")
    return [given["inputs"][name], *given["outputs"][:-1]]


def _weight_gradients(names, deltas, prev, outputs, params):
    """∂E/∂Wl = δl · L(l−1)ᵀ, after checking each δ has its layer's shape."""
    grads = []
    for name, delta, x, out in zip(names, deltas, prev, outputs):
        if delta.shape != out.shape:
            hint = (" It has the shape of the weights: pass returns='gradients' (CLI: --returns "
                    "gradients).") if delta.shape == params[name].shape else ""
            raise CheckError(f"backward_pass returned shape {delta.shape} for {name}; with "
                             f"returns='deltas' it should be the layer's error signal δ, shaped "
                             f"like the layer's output {out.shape}.{hint}")
        grads.append(delta @ x.T)
    return grads


def _check_gradient_shapes(names, hand, params):
    for name, h in zip(names, hand):
        if h.shape != params[name].shape:
            raise CheckError(f"backward_pass returned shape {h.shape} for {name}, which has shape "
                             f"{params[name].shape}; with returns='gradients' each value must be "
                             f"∂E/∂{name}. If it is the layer's error signal δ, pass "
                             f"returns='deltas'.")
    return hand


def _own_line_checks(names, deltas, hand_grads, leaves, traced, objective, params, rtol, atol):
    """Per layer: is its line right given the δ handed down from the layer above?

    For the top layer that is simply "is it right". Below, the gradient reaching the
    layer's output L(l) through W(l+1) is W(l+1)ᵀ·δ(l+1) (the hand-written δ); pushing
    it back through this layer alone (autodiff from L(l) to W(l)) gives what a correct
    line would produce from it.
    """
    n = len(names)
    own = [None] * n
    if len(traced) != n:
        return own
    W = list(leaves.values())
    top = autograd_grad(objective, [traced[-1]], retain_graph=True)[0].data
    for layer in reversed(range(n)):
        into = top if layer == n - 1 else params[names[layer + 1]].T @ deltas[layer + 1]
        got = autograd_grad(traced[layer], [W[layer]], grad_outputs=into, retain_graph=True,
                            allow_unused=True)[0]
        expected = np.zeros_like(params[names[layer]]) if got is None else got.data
        own[layer] = _compare(names[layer], hand_grads[layer], expected, rtol, atol).ok
    return own


def _returns_text(returns):
    return ("error signals δ (weight gradient = δl · L(l−1)ᵀ)" if returns == "deltas"
            else "weight gradients ∂E/∂W")


# ---------------------------------------------------------------------------
# Small random problems to check on
# ---------------------------------------------------------------------------
def make_problem(sizes=(20, 16, 12, 10), examples=8, seed=0):
    """Random column-major data for a layered net: (params {W1..Wn}, X, T), float64.

    X is (sizes[0], examples) in [0, 1) like pixel values; Wl is (sizes[l], sizes[l−1])
    from N(0, 1/n_in); T holds one-hot columns. The same seed gives the same arrays.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) <= 0:
        raise CheckError(f"sizes must be at least two positive widths (input, ..., output), "
                         f"got {sizes}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(sizes[0], examples))
    params = {f"W{i}": rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_out, n_in))
              for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)}
    T = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], size=examples)]
    return params, X, T

