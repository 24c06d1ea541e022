"""Build-your-own-net API: ``Module`` and the layers built on it.

A :class:`Module` is a box of :class:`Parameter` s and smaller modules.
Assigning one as an attribute registers it, exactly as in PyTorch::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 256, init="he", rng=0)
            self.act = nn.Sigmoid()
            self.fc2 = nn.Linear(256, 10, init="he", rng=1)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    model = MLP()
    model.named_parameters()   # [("fc1.weight", ...), ("fc1.bias", ...), ...]
    print(model)               # a tree with parameter counts

Calling ``model(x)`` runs ``forward`` inside :func:`autograd.module_scope`, so
the graph renderer can draw each module's ops as one cluster.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np

from . import init as _init
from . import ops
from .autograd import _module_stack
from .tensor import Parameter, Tensor, _HookHandle, as_tensor

__all__ = [
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "Linear",
    "Flatten",
    "Dropout",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "Softmax",
    "LogSoftmax",
    "LoadResult",
]


def _set_qualified_name(param: Parameter, name: str) -> None:
    """Give ``param`` the longest qualified name known so far.

    A parameter is first named by its owner ("weight"); when that owner is
    attached to a parent the name grows ("fc1.weight"). A name the user chose
    that is not a suffix of the qualified name is kept.
    """
    current = getattr(param, "name", None)
    if current is None or current == name or name.endswith("." + current):
        param.name = name


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` could not match (empty when strict)."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign parameters and
    submodules as attributes, and define ``forward``.
    """

    def __init__(self) -> None:
        # object.__setattr__ because our own __setattr__ needs these to exist.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", [])

    # -- registration ------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() ran: call super().__init__() "
                f"at the start of {type(self).__name__}.__init__")
        # Re-assigning a name (e.g. replacing a layer) must drop the old registration.
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
            _set_qualified_name(value, name)
        elif isinstance(value, Module):
            self._modules[name] = value
            for sub_name, p in value._named_parameters_raw(prefix=name):
                _set_qualified_name(p, sub_name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (same as ``setattr(self, name, param)``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected a Parameter, "
                            f"got {type(param).__name__}")
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name``; names like "0" work too (Sequential uses them)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module, got {type(module).__name__}")
        setattr(self, name, module)

    # -- walking the tree --------------------------------------------------
    def _named_parameters_raw(self, prefix: str = ""):
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix=prefix):
            for name, p in module._parameters.items():
                if id(p) in seen:  # a tied parameter appears once, under its first name
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``(dotted_name, parameter)`` pairs, e.g. ``("layers.0.weight", W)``.

        Shared parameters are listed once. Also sets each parameter's ``.name``
        to its qualified name, which the graph renderer shows.
        """
        pairs = list(self._named_parameters_raw())
        for name, p in pairs:
            _set_qualified_name(p, name)
        return pairs

    def parameters(self) -> list[Parameter]:
        """All parameters of this module and its submodules, each once.

        A list (PyTorch gives a generator) so it can be reused and ``len()``-ed.
        """
        return [p for _, p in self.named_parameters()]

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """``(dotted_name, module)`` for this module (name ``""``) and every descendant."""
        out: list[tuple[str, Module]] = []
        seen: set[int] = set()
        # An explicit stack instead of recursion: deep nets must not hit the recursion limit.
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.append((name, module))
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items()
                        if m is not None]
            stack.extend(reversed(children))  # reversed so children come out in order
        return out

    def modules(self) -> list[Module]:
        """This module and every descendant."""
        return [m for _, m in self.named_modules()]

    def named_children(self) -> list[tuple[str, Module]]:
        """The direct submodules with their attribute names."""
        return [(n, m) for n, m in self._modules.items() if m is not None]

    def children(self) -> list[Module]:
        """The direct submodules."""
        return [m for _, m in self.named_children()]

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many numbers the parameters hold (shared parameters counted once)."""
        return sum(int(p.data.size) for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    # -- training helpers --------------------------------------------------
    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (``grad = None``) before the next backward."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Put this module and all submodules in training mode (``eval`` mode if False)."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: Dropout passes inputs through unchanged. Same as ``train(False)``."""
        return self.train(False)

    # -- checkpoints ---------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """``{dotted_name: copy of the parameter's array}``; later training cannot change it."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True) -> LoadResult:
        """Copy arrays from ``state_dict`` into the parameters, in place.

        With ``strict=True`` the keys must match exactly. A shape mismatch is
        always an error. Nothing is changed unless every check passes, so a
        failed load never leaves a half-loaded model. Values are cast to each
        parameter's dtype.
        """
        own = OrderedDict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, p in own.items():
            if key in state_dict:
                shape = np.shape(state_dict[key])
                if shape != p.data.shape:
                    mismatched.append(f"{key}: checkpoint has shape {shape}, "
                                      f"model has {p.data.shape}")
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatch: " + "; ".join(mismatched))
        if problems:
            raise ValueError(f"load_state_dict failed for {type(self).__name__}:\n  "
                             + "\n  ".join(problems))
        for key, p in own.items():
            if key in state_dict:
                value = state_dict[key]
                p.data[...] = value.data if isinstance(value, Tensor) else np.asarray(value)
        return LoadResult(missing, unexpected)

    # -- calling -------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        # What ``with module_scope(self):`` does, written out: every layer call passes
        # here, and a push and a pop cost less than entering a context manager.
        _module_stack.append(self)
        try:
            output = self.forward(*args, **kwargs)
        finally:
            _module_stack.pop()
        if self._forward_hooks:
            for hook in self._forward_hooks:
                hook(self, args, output)
        return output

    def register_forward_hook(self, fn):
        """Call ``fn(module, inputs, output)`` after every forward of this module.

        Training callbacks use it to watch activations. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        self._forward_hooks.append(fn)
        return _HookHandle(self._forward_hooks, fn)

    # -- printing ------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text between the parentheses of a leaf's repr, e.g. ``in_features=784, ...``."""
        return ""

    def _repr_lines(self, root: bool = False) -> list[str]:
        count = self.num_parameters()
        # The root's count is the "Total" line below it, so it is not repeated.
        suffix = f"  # {count:,} params" if count and not root else ""
        children = self.named_children()
        if not children:
            return [f"{type(self).__name__}({self.extra_repr()}){suffix}"]
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            child_lines = child._repr_lines()
            lines.append(f"  ({name}): {child_lines[0]}")
            lines.extend("  " + line for line in child_lines[1:])
        lines.append(f"){suffix}")
        return lines

    def __repr__(self) -> str:
        lines = self._repr_lines(root=True)
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        footer = f"Total: {total:,} parameters"
        if trainable != total:
            footer += f" ({trainable:,} trainable)"
        return "\n".join(lines + [footer])


def _layer_label(module: Module) -> str:
    """How errors name a layer: its qualified name when known (from its weight's name)."""
    weight = module.__dict__.get("weight")
    name = getattr(weight, "name", None)
    if name and name.endswith(".weight"):
        return f"{type(module).__name__} {name[: -len('.weight')]!r}"
    return type(module).__name__


def _resolve_rng(rng, seed):
    """Accept ``rng=`` (Generator or int) or ``seed=`` (int), not both."""
    if seed is not None and rng is not None:
        raise ValueError("pass either rng= or seed=, not both")
    return _init.as_generator(rng if rng is not None else seed)


# ---------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------
class Sequential(Module):
    """Modules called one after another: ``Sequential(Linear(784, 256), Sigmoid(), ...)``.

    Indexable (``model[0]``, ``model[1:]`` gives a new Sequential), has
    ``len`` and can be iterated. Submodules are named "0", "1", ...
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {i} is a {type(module).__name__}, "
                                f"not a Module (did you forget to call the class, e.g. ReLU()?)")
            self.add_module(str(i), module)

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(Module):
    """A list of modules that registers them (a plain Python list would hide them).

    Use it when ``forward`` needs something other than a straight chain,
    e.g. ``self.layers = ModuleList([Linear(n, n) for _ in range(depth)])``.
    """

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add every module of ``modules`` at the end."""
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        return items[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "ModuleList has no forward(): loop over its modules in your own forward()")


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------
class Linear(Module):
    """Fully connected layer, batch-first: ``y = x @ W.T + b``.

    ``weight`` has shape ``(out_features, in_features)`` as in PyTorch (the
    assignment's ``W1`` is 256 x 784, the same layout); ``bias`` has shape
    ``(out_features,)`` and starts at zero.

    ``init`` is a name from :func:`tinygrad_lab.init.get` ("uniform",
    "normal", "he", "xavier", ...) or a function ``fn(shape, rng=...)``
    returning an array. ``rng`` is a Generator or an int seed (``seed=`` is an
    alias); the same seed gives the same weights.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str | Callable = "he", rng=None, *, seed=None,
                 dtype=np.float32) -> None:
        super().__init__()
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Linear: {arg} must be a positive int, got {value!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        generator = _resolve_rng(rng, seed)
        shape = (self.out_features, self.in_features)
        w = np.asarray(_init.get(init)(shape, rng=generator))
        if w.shape != shape:
            raise ValueError(f"Linear: init {self.init_name!r} returned shape {w.shape}, "
                             f"expected {shape}")
        self.weight = Parameter(w.astype(dtype))
        # Zero bias: the weights already break the symmetry between neurons.
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        x = as_tensor(x)
        shape = x.data.shape
        if len(shape) == 0:
            raise ValueError(f"{_layer_label(self)} got a scalar; expected shape (batch, "
                             f"{self.in_features})")
        if shape[-1] != self.in_features:
            raise ValueError(
                f"{_layer_label(self)} got input of shape {tuple(shape)} with {shape[-1]} "
                f"features but expects {self.in_features} (in_features). Check the previous "
                f"layer's out_features, or flatten images first with nn.Flatten().")
        # The op itself, not F.linear: the checks above are the same, with the layer's name.
        if self.bias is None:
            return ops.Linear.apply(x, self.weight)
        return ops.Linear.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, init={self.init_name!r}")


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        x = as_tensor(x)
        shape = tuple(x.shape)
        nd = len(shape)
        start = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        end = self.end_dim + nd if self.end_dim < 0 else self.end_dim
        if nd == 0 or not 0 <= start <= end < nd:
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) "
                             f"cannot flatten input of shape {shape}")
        new_shape = shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
        return x if new_shape == shape else x.reshape(new_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p``
    and scale the survivors by ``1/(1-p)`` so the expected value is unchanged;
    in eval mode, the identity.

    The mask comes from this layer's own Generator (``rng``: Generator or
    int seed; ``seed=`` is an alias), so the same seed gives the same masks.
    """

    def __init__(self, p: float = 0.5, rng=None, *, seed=None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = _resolve_rng(rng, seed)

    def forward(self, x):
        x = as_tensor(x)
        if not self.training or self.p == 0.0:
            return x
        dtype = x.data.dtype if x.data.dtype.kind == "f" else np.dtype(np.float32)
        keep = self.rng.random(x.shape, dtype=np.float32) >= np.float32(self.p)
        if self.p == 1.0:  # every element dropped; avoid dividing by zero
            mask = np.zeros(x.shape, dtype=dtype)
        else:
            mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - self.p))
        return x * Tensor(mask, dtype=dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Identity(Module):
    """Returns its input: a placeholder, e.g. to switch an activation off in a config."""

    def forward(self, x):
        return x


# ---------------------------------------------------------------------------
# Activations: thin wrappers over the ops, so they show up as modules in repr and
# as clusters in graph rendering. They call the op itself, as tinygrad_lab.functional
# does, rather than going through functional: a call fewer on every layer.
# ---------------------------------------------------------------------------
class Sigmoid(Module):
    """``σ(kx) = 1 / (1 + e^(-kx))``; ``k`` is the assignment's steepness."""

    def __init__(self, k: float = 1.0) -> None:
        super().__init__()
        self.k = float(k)

    def forward(self, x):
        return ops.Sigmoid.apply(x, k=self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


class Tanh(Module):
    """``tanh(kx)``: zero-centred, derivative ``k(1 - tanh²(kx))``."""

    def __init__(self, k: float = 1.0) -> None:
        super().__init__()
        self.k = float(k)

    def forward(self, x):
        return ops.Tanh.apply(x, k=self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


class ReLU(Module):
    """``max(0, x)``."""

    def forward(self, x):
        return ops.ReLU.apply(x)


class ReLU6(Module):
    """``min(max(0, x), 6)``."""

    def forward(self, x):
        return ops.ReLU6.apply(x)


class LeakyReLU(Module):
    """``x`` if ``x > 0`` else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return ops.LeakyReLU.apply(x, slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``axis`` (the class axis, -1 by default)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return as_tensor(x).softmax(axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``axis``, computed stably."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return as_tensor(x).log_softmax(axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
