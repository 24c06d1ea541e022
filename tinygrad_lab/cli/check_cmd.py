"""``tinygrad-lab check my_backprop.py``: is a hand-written backward pass right?

The file defines ``forward_pass`` and ``backward_pass`` in the assignment's style::

    def forward_pass(X, W1, W2, W3, k): ...          -> L1, L2, L3
    def backward_pass(L1, L2, L3, W1, W2, W3, k): ... -> dW1, dW2, dW3   (T is a global)

The command runs them on small random data, computes the true gradients with
autodiff (:func:`tinygrad_lab.check.check_backward`), prints a table and a verdict,
and exits 0 when every gradient agrees, 1 when one does not (or the learner's code
raised), 2 when the file cannot be checked as it is.

The file is imported, so its top-level code runs: keep training loops under
``if __name__ == "__main__":``.
"""
from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path

from ..check import LOSSES, LearnerCodeError, check_backward, make_problem
from . import UsageError

_WEIGHT_NAME = re.compile(r"^W(\d+)$")
# Arguments the command knows how to fill besides the weights and the data.
_OPTIONS = ("k", "activation")


def add_parser(sub):
    p = sub.add_parser(
        "check", help="check a hand-written backward pass against autodiff",
        description="Load FILE, run its forward_pass and backward_pass on small random data "
                    "and compare the hand-written gradients with the true ones. Exit code 0: "
                    "all agree; 1: something is wrong; 2: the file cannot be checked.")
    p.add_argument("file", help="a Python file defining forward_pass and backward_pass")
    p.add_argument("--activation", help="passed as activation= to your functions, if they take it")
    p.add_argument("--k", type=float, help="passed as k= to your functions (default 1)")
    p.add_argument("--loss", default="sse", choices=tuple(LOSSES),
                   help="sse: ½Σ(L3−T)², the assignment's (default); ce: −ΣT·log L3 on a "
                        "softmax output; bce: binary cross-entropy on a sigmoid output")
    p.add_argument("--returns", default="deltas", choices=("deltas", "gradients"),
                   help="deltas: backward_pass returns each layer's error signal δ and the "
                        "weight gradient is δ·L_prevᵀ (the assignment, default); gradients: "
                        "it returns ∂E/∂W")
    p.add_argument("--sizes", help="layer widths, input first, e.g. 20,16,12,10 (default: "
                                   "20, 16, 12, ... 10 for as many weights as forward_pass takes)")
    p.add_argument("--examples", type=int, default=8, help="columns of X (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random data")
    p.set_defaults(func=run_check)
    return p


def load_learner_file(path):
    """Import a learner's .py file by path; return (forward_pass, backward_pass)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file {path}")
    spec = importlib.util.spec_from_file_location(f"_learner_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as a normal import would (dataclasses, pickle look here)
    sys.path.insert(0, str(path.parent.resolve()))  # so it can import its sibling files
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - any failure of their file is one clear line
        raise UsageError(f"could not import {path}: {type(err).__name__}: {err}") from None
    finally:
        sys.path.pop(0)
    functions = {}
    for name in ("forward_pass", "backward_pass"):
        fn = getattr(module, name, None)
        if not callable(fn):
            defined = sorted(n for n, v in vars(module).items()
                             if inspect.isfunction(v) and v.__module__ == module.__name__)
            raise UsageError(f"{path} defines no function {name}() (it defines: "
                             f"{', '.join(defined) or 'no functions'}); name your passes "
                             f"forward_pass and backward_pass")
        functions[name] = fn
    return functions["forward_pass"], functions["backward_pass"]


def weight_names(forward):
    """The forward's weight arguments (W1, W2, ...), in layer order."""
    names = [n for n in inspect.signature(forward).parameters if _WEIGHT_NAME.match(n)]
    if not names:
        raise UsageError(f"forward_pass must take its weight matrices as arguments named W1, W2, "
                         f"... (the assignment's style); its arguments are "
                         f"({', '.join(inspect.signature(forward).parameters)})")
    return sorted(names, key=lambda n: int(_WEIGHT_NAME.match(n).group(1)))


def data_name(forward, weights):
    """The one required argument of the forward that is not a weight: the data X."""
    sig = inspect.signature(forward)
    others = [n for n, p in sig.parameters.items()
              if n not in weights and n not in _OPTIONS and p.default is p.empty
              and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if len(others) != 1:
        raise UsageError(f"forward_pass should take the data (X), the weights and optionally k "
                         f"or activation; cannot tell which argument is the data among "
                         f"({', '.join(others) or 'none'})")
    return others[0]


def parse_sizes(text, n_weights):
    if text is None:
        hidden = [16, 12, 8, 6, 4][:n_weights - 1]
        hidden += [4] * (n_weights - 1 - len(hidden))
        return (20, *hidden, 10)
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise UsageError(f"--sizes takes comma-separated widths like 20,16,12,10, got "
                         f"{text!r}") from None
    if len(sizes) != n_weights + 1 or min(sizes) <= 0:
        raise UsageError(f"--sizes {text} gives {len(sizes) - 1} layers, but forward_pass takes "
                         f"{n_weights} weight matrices: give {n_weights + 1} positive widths")
    return sizes


def _takes(fn, name):
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def build_inputs(args, forward, backward, data, X):
    """{X: ..., k: ..., activation: ...}: the options go only where a function takes them."""
    inputs = {data: X}
    for name, value, default in (("k", args.k, 1.0), ("activation", args.activation, None)):
        wanted = _takes(forward, name) or _takes(backward, name)
        if value is not None and not wanted:
            raise UsageError(f"--{name} was given, but neither forward_pass nor backward_pass "
                             f"takes an argument {name!r}")
        if wanted and (value if value is not None else default) is not None:
            inputs[name] = value if value is not None else default
    return inputs


def run_check(args) -> int:
    forward, backward = load_learner_file(args.file)
    weights = weight_names(forward)
    data = data_name(forward, weights)
    sizes = parse_sizes(args.sizes, len(weights))
    if args.examples <= 0:
        raise UsageError(f"--examples must be positive, got {args.examples}")
    params, X, T = make_problem(sizes, examples=args.examples, seed=args.seed)
    params = dict(zip(weights, params.values()))
    inputs = build_inputs(args, forward, backward, data, X)
    options = "".join(f", {n}={v}" for n, v in inputs.items() if n != data)
    print(f"checking backward_pass in {args.file}: layers {'-'.join(map(str, sizes))}, "
          f"{args.examples} examples (seed {args.seed}){options}\n")
    try:
        report = check_backward(forward, backward, params, inputs, T, loss=args.loss,
                                returns=args.returns, layer_input=data)
    except LearnerCodeError as err:
        print(f"tinygrad-lab check: your {err}", file=sys.stderr)
        return 1
    print(report)
    return 0 if report.ok else 1
