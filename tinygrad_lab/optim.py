"""Optimizers: turn gradients into parameter updates.

Each optimizer follows PyTorch's update formulas exactly, so results can be
compared with PyTorch and with the hand-written NumPy of the assignment::

    opt = optim.SGD(model.parameters(), lr=2e-5, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

Rules every optimizer here keeps:

* updates are NumPy operations on ``p.data`` in place: no graph is recorded;
* arithmetic stays in the parameter's dtype (float32 stays float32);
* ``p.grad`` is never modified (autograd may share one gradient array
  between several tensors);
* parameters whose ``grad`` is None (unused in this step) are skipped;
* the averages that decay by a momentum factor (Adam's ``m``, SGD's and RMSprop's
  momentum buffers: 0.9 by default) never hold subnormal floats: see
  :func:`flush_subnormals`, and why it matters for speed. Those that decay by β2 or
  alpha (0.999, 0.99) are left as they are: they take 7,000-70,000 steps to get there,
  and flushing them would cost two more passes over every weight at every step.

Learning-rate schedules live in :mod:`tinygrad_lab.schedules`.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get_optimizer",
           "flush_subnormals"]


def _check(owner: str, name: str, value, low: float = 0, high: float | None = None,
           high_inclusive: bool = False) -> None:
    """Raise a ValueError naming the optimizer and hyperparameter when ``value`` is out of range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    ok = value >= low and (high is None or (value <= high if high_inclusive else value < high))
    if not ok or math.isnan(value):
        upper = "" if high is None else f" and {'<=' if high_inclusive else '<'} {high}"
        raise ValueError(f"{owner}: {name} must be >= {low}{upper}, got {value}")


# c = 2·tiny/eps, the smallest power of two whose float spacing is 2·tiny (see below).
_FLUSH_CONSTANTS = {np.dtype(t): t(2 * np.finfo(t).tiny / np.finfo(t).eps)
                    for t in (np.float32, np.float64)}


def flush_subnormals(a: np.ndarray) -> None:
    """Replace, in place, the subnormal entries of a float32/float64 array by 0 (or −tiny).

    Subnormal floats are the ones smaller than the dtype's smallest normal number
    ``tiny`` (1.2e-38 in float32). On x86 CPUs a multiply or divide that reads or makes
    one takes a slow path: over a (256, 784) float32 array with 7.5% of its entries
    subnormal, a multiply took 3 times as long as over normal numbers when they filled
    whole rows, 14 times when they were scattered; additions took no longer. Running
    averages of the gradient decay into them: Adam's ``m = 0.9·m + 0.1·g`` for a weight
    whose gradient has stopped (a dead ReLU unit, a pixel that is always blank) falls
    below tiny after some 800 steps and then stays subnormal for good: at 4·2⁻¹⁴⁹ (6e-45)
    0.9·m rounds back to m, so it never reaches 0. On the Fashion-MNIST recipe some
    10,000 entries of ``m`` are subnormal from the second epoch on, and Adam's step went
    from 520 to 860 µs; flushed, it stays at about 525 µs.

    How: ``a + c - c`` with ``c = 2·tiny/eps`` (2⁻¹⁰² in float32). Near ``c`` floats are
    2·tiny apart, so ``a + c`` rounds every subnormal to ``c`` or to its neighbour below,
    and subtracting ``c`` leaves 0 or −tiny. Two additions, no temporary array, no
    slow instruction. Entries of magnitude 2⁻⁷⁷ (7e-24; float64: 2⁻⁹¹⁵) and above are
    unchanged; smaller ones move by at most one rounding step (or by tiny), far below
    anything an update can feel. A decaying average flushed every step stops where
    rounding stops it too, now at a few tiny (at most 8·tiny for a decay of 0.9): a
    normal number. Other dtypes (float16) are left as they are.
    """
    c = _FLUSH_CONSTANTS.get(a.dtype)
    if c is not None:
        a += c
        a -= c


class Optimizer:
    """Base class: holds parameter groups and per-parameter state.

    ``params`` is an iterable of Parameters, or of dicts (parameter groups)
    such as ``[{"params": body, "lr": 1e-3}, {"params": head}]``; a group's
    missing hyperparameters come from ``defaults``.

    Subclasses write one method, :meth:`update`, with the formula for a
    single parameter; :meth:`step` does the looping and the skipping.
    """

    def __init__(self, params, defaults: dict) -> None:
        from .nn import Module  # a local import: nn imports tensor, not optim

        if isinstance(params, (Tensor, Module)):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of parameters; "
                            f"pass model.parameters(), not the {type(params).__name__} itself")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        # Per-parameter state (momentum buffers, Adam moments...), keyed by id(p):
        # Tensor's == is elementwise, so identity is the unambiguous key.
        self.state: dict[int, dict] = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a smaller lr)."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict with a "
                            f"'params' key, got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a "
                                f"{type(p).__name__}, not a Tensor/Parameter")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {i} (name {p.name!r}) "
                                 f"appears twice; give each parameter to one group only")
            seen.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown hyperparameters "
                             f"{sorted(unknown)}; valid: {sorted(self.defaults)}")
        full = {**self.defaults, **group, "params": params}
        for key, value in full.items():
            # NumPy scalars (np.float64(0.1)) would turn float32 updates into float64
            # arithmetic; plain Python numbers keep the parameter's dtype.
            if isinstance(value, np.generic):
                full[key] = value.item()
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group: dict) -> None:
        """Check one group's hyperparameters; subclasses extend it."""
        _check(type(self).__name__, "lr", group["lr"])

    # -- the learning rate, as schedules see it ------------------------------
    @property
    def lr(self) -> float:
        """The learning rate of the first group (the only one, usually)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        # Setting optimizer.lr sets every group: schedules drive the whole optimizer.
        _check(type(self).__name__, "lr", value)
        for group in self.param_groups:
            group["lr"] = float(value)

    # -- the training-loop API -------------------------------------------------
    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to None before the next backward."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, once."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data if isinstance(p.grad, Tensor) else p.grad
                # The gradient in the parameter's dtype (update() never writes into it).
                if type(grad) is not np.ndarray or grad.dtype != p.data.dtype:
                    grad = np.asarray(grad, dtype=p.data.dtype)
                if grad.shape != p.data.shape:
                    raise ValueError(f"{type(self).__name__}: parameter {p.name!r} has shape "
                                     f"{p.data.shape} but its grad has shape {grad.shape}")
                state = self.state.setdefault(id(p), {})
                self.update(p.data, grad, state, group)

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Change ``param`` in place using ``grad``; ``state`` persists between steps."""
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    # -- checkpoints -------------------------------------------------------------
    def _all_params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """A deep copy of hyperparameters and state, with parameters as positions.

        Loading it into an optimizer built over the same parameters continues
        training bit for bit.
        """
        index = {id(p): i for i, p in enumerate(self._all_params())}
        state = {index[key]: copy.deepcopy(value) for key, value in self.state.items()
                 if key in index}
        groups = []
        for g in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in g["params"]]
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict`."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: checkpoint has "
                             f"{len(groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: group {i} has "
                                 f"{len(saved['params'])} parameters in the checkpoint but "
                                 f"{len(own['params'])} here")
        params = self._all_params()
        new_state: dict[int, dict] = {}
        for pos, value in state_dict["state"].items():
            p = params[int(pos)]
            restored = {}
            for key, item in value.items():
                if isinstance(item, np.ndarray):
                    if item.shape != p.data.shape:
                        raise ValueError(f"{type(self).__name__}.load_state_dict: state "
                                         f"{key!r} of parameter {pos} has shape {item.shape}, "
                                         f"the parameter has {p.data.shape}")
                    item = item.astype(p.data.dtype, copy=True)
                else:
                    item = copy.deepcopy(item)
                restored[key] = item
            new_state[id(p)] = restored
        for saved, own in zip(groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    own[key] = copy.deepcopy(value)
            # Checkpoints may pass through JSON (tuples become lists): re-check and normalise.
            self._validate(own)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            n = sum(int(p.data.size) for p in g["params"])
            hyper = ", ".join(f"{k}={v}" for k, v in g.items() if k != "params")
            lines.append(f"  group {i}: {len(g['params'])} tensors, {n:,} numbers; {hyper}")
        return "\n".join(lines + [")"])


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's formulas).

    With ``g = grad + weight_decay * p``::

        buf = g                    (first step)
        buf = momentum * buf + g   (later steps)
        g   = g + momentum * buf   if nesterov else buf
        p  -= lr * g

    With ``momentum=0`` this is the assignment's plain ``W -= lr * dW``.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check("SGD", "momentum", group["momentum"])
        _check("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")

    def update(self, param, grad, state, group):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        g = grad + wd * param if wd else grad  # L2 penalty: d/dp (wd/2 * p²) = wd * p
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.array(g)  # a copy, and an array even if 0-d
            else:
                buf = state["momentum_buffer"]
                buf *= momentum  # our own array, safe to change in place
                buf += g
                flush_subnormals(buf)  # it decays like Adam's m where g stays 0
            buf = state["momentum_buffer"]
            g = g + momentum * buf if group["nesterov"] else buf
        param -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's formulas. With ``g = grad + weight_decay * p``::

        m = beta1 * m + (1 - beta1) * g           (running mean of g)
        v = beta2 * v + (1 - beta2) * g²          (running mean of g²)
        p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The ``1 - beta^t`` factors undo the bias of m and v toward their zero start.
    """

    decoupled = False  # AdamW sets True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        name = type(self).__name__
        if len(group["betas"]) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {group['betas']}")
        group["betas"] = tuple(float(b) for b in group["betas"])
        _check(name, "betas[0]", group["betas"][0], 0, 1)
        _check(name, "betas[1]", group["betas"][1], 0, 1)
        _check(name, "eps", group["eps"])
        _check(name, "weight_decay", group["weight_decay"])

    def update(self, param, grad, state, group):
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        if wd and self.decoupled:
            param *= 1 - lr * wd  # AdamW: shrink the weights, outside the adaptive scaling
        elif wd:
            grad = grad + wd * param  # Adam: L2 penalty added to the gradient
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # Every array operation below writes into m, v, `scratch` or the parameter: no
        # temporaries of the parameter's size, which for big layers cost more than the math.
        scratch = np.empty_like(param)  # an array even for a 0-d parameter
        np.multiply(grad, 1 - beta1, out=scratch)
        m *= beta1
        m += scratch                          # m = β1·m + (1 − β1)·g
        # Where g stays 0, m decays into subnormal floats, which make the multiplies and
        # divides that touch them many times slower. v = β2·v + … decays 100× more slowly
        # (β2 = 0.999, some 70,000 steps from 1e-8 to tiny): flushing it too cost 2-4% of
        # every Fashion-MNIST step, for runs far longer than this project's.
        flush_subnormals(m)
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        v *= beta2
        v += scratch                          # v = β2·v + (1 − β2)·g²
        # p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps), the docstring's formula,
        # multiplied through by √(1 − β2ᵗ) so the bias correction is two scalars:
        #   p −= lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m / (√v + eps·√(1 − β2ᵗ))
        # Python floats (math.*), not NumPy float64 scalars, so float32 stays float32.
        root_c2 = math.sqrt(1 - beta2 ** t)
        np.sqrt(v, out=scratch)
        scratch += eps * root_c2
        np.divide(m, scratch, out=scratch)
        scratch *= lr * root_c2 / (1 - beta1 ** t)
        param -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter)::

        p *= 1 - lr * weight_decay     then the Adam step without decay

    Unlike Adam's L2 term, the decay is not divided by sqrt(v), so every
    weight shrinks at the same rate.
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton), PyTorch's formulas. With ``g = grad + weight_decay * p``::

        v   = alpha * v + (1 - alpha) * g²
        avg = sqrt(v) + eps        (centered: sqrt(v - mean(g)²) + eps)
        buf = momentum * buf + g / avg;  p -= lr * buf     if momentum > 0
        p  -= lr * g / avg                                 otherwise
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check("RMSprop", "alpha", group["alpha"], 0, 1, high_inclusive=True)
        _check("RMSprop", "eps", group["eps"])
        _check("RMSprop", "weight_decay", group["weight_decay"])
        _check("RMSprop", "momentum", group["momentum"])

    def update(self, param, grad, state, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, wd = group["momentum"], group["weight_decay"]
        if not state:
            state["square_avg"] = np.zeros_like(param)
            if momentum:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        g = grad + wd * param if wd else grad
        # In place into the state and one scratch array, as in Adam.
        v = state["square_avg"]
        scratch = np.empty_like(param)  # an array even for a 0-d parameter
        np.multiply(g, g, out=scratch)
        scratch *= 1 - alpha
        v *= alpha
        v += scratch                          # v = α·v + (1 − α)·g²
        if group["centered"]:
            ga = state["grad_avg"]
            np.multiply(g, 1 - alpha, out=scratch)
            ga *= alpha
            ga += scratch                     # mean of g
            np.multiply(ga, ga, out=scratch)
            np.subtract(v, scratch, out=scratch)
            np.sqrt(scratch, out=scratch)
        else:
            np.sqrt(v, out=scratch)
        scratch += eps                        # avg
        np.divide(g, scratch, out=scratch)    # g / avg
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:  # momentum turned on after the first step
                buf = state["momentum_buffer"] = np.zeros_like(param)
            buf *= momentum
            buf += scratch
            flush_subnormals(buf)  # it decays like Adam's m where g stays 0
            np.multiply(buf, lr, out=scratch)
        else:
            scratch *= lr
        param -= scratch


_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get_optimizer(name: str, params, **hyperparameters) -> Optimizer:
    """Build an optimizer from a config name: ``get_optimizer("sgd", params, lr=0.1)``."""
    key = str(name).strip().lower()
    if key not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; "
                         f"valid names: {', '.join(sorted(_OPTIMIZERS))}")
    return _OPTIMIZERS[key](params, **hyperparameters)
