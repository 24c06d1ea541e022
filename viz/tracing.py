"""Walk the graph behind a tensor and record what a real backward pass does.

Two jobs, both without recursion (graphs of 100,000 nodes exist):

* :func:`trace_graph` collects the tensors, ops and constants that produced
  one or more root tensors, breadth-first from the roots, and stops at
  ``max_nodes`` so that drawing a huge graph never hangs;
* :func:`record_backward` runs the engine's own backward pass (with
  ``retain_graph=True``, so the graph survives) and records, through a hook on
  every tensor, the order in which each tensor's gradient became complete and
  the gradient itself. The user's ``.grad`` attributes are not touched.

The drawing code (:mod:`viz.graph`) and the backprop animation
(:mod:`viz.backprop`) both read the :class:`TracedGraph` made here.
"""
from __future__ import annotations

import inspect
from collections import deque
from dataclasses import dataclass, field

import numpy as np

import tinygrad_lab as tl
from tinygrad_lab import Parameter, Tensor

__all__ = ["TracedGraph", "TensorNode", "OpNode", "ConstantNode", "GraphFreedError",
           "trace_graph", "record_backward", "input_names"]

FREED_HINT = (
    "backward() frees the graph it goes through (unless you pass retain_graph=True). "
    "Draw the graph before calling backward(): draw_graph computes every node's gradient "
    "itself, without touching .grad. Or call backward(retain_graph=True), or run the "
    "forward pass again.")


class GraphFreedError(RuntimeError):
    """The graph behind a tensor was freed by ``backward()``, so it cannot be drawn."""


# ---------------------------------------------------------------------------
# The traced graph
# ---------------------------------------------------------------------------
@dataclass
class TensorNode:
    """One tensor of the picture.

    ``kind`` is one of "output" (a root), "intermediate" (made by an op),
    "parameter" (a leaf that requires grad: it receives a ``.grad``) or
    "input" (a leaf that does not: data).
    """
    id: str
    tensor: Tensor
    kind: str
    name: str | None = None
    cluster: tuple = ()          # module path (outermost first); () = top level
    frontier: bool = False       # its op and inputs were cut off by max_nodes
    freed: bool = False          # an earlier backward() freed the graph behind it


@dataclass
class ConstantNode:
    """A non-tensor input of an op (a Python number or a NumPy array)."""
    id: str
    value: object
    cluster: tuple = ()


@dataclass
class OpNode:
    """One application of an op: ``inputs`` lists (node id, edge label) in argument order."""
    id: str
    ctx: object
    output: TensorNode
    inputs: list = field(default_factory=list)
    cluster: tuple = ()


@dataclass
class TracedGraph:
    """Everything the renderer needs, in breadth-first order from the roots."""
    roots: list
    tensors: list
    ops: list
    constants: list
    max_nodes: int
    hidden_nodes: int = 0        # nodes behind the cut that were not drawn
    modules: dict = field(default_factory=dict)   # cluster path -> (qualified name, module)

    def __post_init__(self):
        self._by_id = {id(n.tensor): n for n in self.tensors}

    @property
    def cut(self) -> bool:
        """True when ``max_nodes`` stopped the walk before the whole graph was seen."""
        return self.hidden_nodes > 0

    @property
    def node_count(self) -> int:
        """Drawn tensor, op and constant nodes (legend and markers not counted)."""
        return len(self.tensors) + len(self.ops) + len(self.constants)

    def node_of(self, tensor) -> TensorNode | None:
        """The node drawing ``tensor``, or None if it is not in the picture."""
        return self._by_id.get(id(tensor))


def input_names(op, count: int) -> list[str]:
    """Names of an op's inputs, read from its ``forward`` signature (``a``, ``b``, ``x``...).

    The formulas use the same names (``∂/∂a = b``), so edge labels match them.
    """
    names = []
    try:
        params = list(inspect.signature(op.forward).parameters.values())[1:]  # drop ctx
    except (TypeError, ValueError):
        params = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            names += [f"{p.name}{i + 1}" for i in range(count - len(names))]
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    names += [f"in{i}" for i in range(len(names), count)]
    return names[:count]


# ---------------------------------------------------------------------------
# Module clusters and parameter names
# ---------------------------------------------------------------------------
class _Modules:
    """Qualified names of the modules in the ops' scopes, and who owns which parameter."""

    def __init__(self):
        self.qualified = {}       # id(module) -> dotted name under its outermost module
        self.param_names = {}     # id(param) -> dotted name under the outermost module
        self.owner = {}           # id(param) -> the module holding it directly
        self._seen_roots = set()
        self._seen_modules = set()

    def learn(self, scope):
        """Read names from the outermost module of ``scope`` the first time it appears."""
        outer = scope[0]
        if id(outer) not in self._seen_roots:
            self._seen_roots.add(id(outer))
            for name, module in outer.named_modules():
                self.qualified.setdefault(id(module), name)
            for name, p in outer.named_parameters():
                self.param_names.setdefault(id(p), name)
        for module in scope:
            if id(module) not in self._seen_modules:
                self._seen_modules.add(id(module))
                for name, p in module.named_parameters():
                    if "." not in name:  # held directly, not by a submodule
                        self.owner.setdefault(id(p), module)


def _names_from(names) -> dict:
    """``names`` as {id(tensor): label}: a dict either way round, or a Module."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        return {id(p): n for n, p in names.named_parameters()}
    out = {}
    for key, value in dict(names).items():
        if isinstance(key, Tensor):
            out[id(key)] = str(value)
        elif isinstance(value, Tensor):
            out[id(value)] = str(key)
        else:
            raise TypeError(f"names: expected {{name: tensor}} or {{tensor: name}} pairs, got "
                            f"{type(key).__name__}: {type(value).__name__}")
    return out


# ---------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------
def trace_graph(roots, max_nodes: int = 500, names=None, group_modules: bool = True
                ) -> TracedGraph:
    """Collect the graph behind ``roots`` breadth-first, drawing at most ``max_nodes`` nodes.

    An op is taken in only together with all its inputs, so every drawn op
    has all its arrows; a tensor whose op did not fit is marked ``frontier``
    and the number of nodes left out is counted in ``hidden_nodes``.
    """
    roots = [roots] if isinstance(roots, Tensor) else list(roots)
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError("draw_graph: root must be a Tensor or a list of Tensors")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    for r in roots:
        if r._ctx is not None and r._ctx.freed:
            raise GraphFreedError("The graph that produced this tensor was freed by "
                                  "backward(), so there is nothing left to draw. " + FREED_HINT)
    user_names = _names_from(names)
    modules = _Modules()
    tensors, ops, constants = [], [], []
    nodes = {}                    # id(tensor) -> TensorNode
    frontier = []

    def add_tensor(t, kind=None):
        node = TensorNode(id=f"t{len(tensors)}", tensor=t, kind=kind or _kind(t),
                          name=user_names.get(id(t)) or t.name)
        nodes[id(t)] = node
        tensors.append(node)
        return node

    for r in roots:
        if id(r) not in nodes:
            add_tensor(r, "output")
    queue = deque(nodes.values())
    while queue:
        node = queue.popleft()
        ctx = node.tensor._ctx
        if ctx is None:
            continue
        if ctx.freed:
            node.freed = True
            continue
        new_parents = {id(p): p for p in ctx.parents if p is not None and id(p) not in nodes}
        n_constants = sum(p is None for p in ctx.parents)
        drawn = len(tensors) + len(ops) + len(constants)
        if drawn + 1 + n_constants + len(new_parents) > max_nodes:
            node.frontier = True
            frontier.append(node.tensor)
            continue
        cluster = tuple(ctx.scope) if (group_modules and ctx.scope) else ()
        if cluster:
            modules.learn(cluster)
        node.cluster = node.cluster or cluster
        op = OpNode(id=f"op{len(ops)}", ctx=ctx, output=node, cluster=cluster)
        ops.append(op)
        labels = input_names(ctx.op, len(ctx.parents))
        for i, parent in enumerate(ctx.parents):
            label = labels[i] if len(ctx.parents) > 1 else ""
            if parent is None:
                const = ConstantNode(id=f"c{len(constants)}", value=ctx.inputs[i], cluster=cluster)
                constants.append(const)
                op.inputs.append((const.id, label))
                continue
            pnode = nodes.get(id(parent))
            if pnode is None:
                pnode = add_tensor(parent)
                queue.append(pnode)
            if cluster and not pnode.cluster and pnode.kind == "parameter":
                pnode.cluster = _owner_path(cluster, modules.owner.get(id(parent)))
            op.inputs.append((pnode.id, label))

    for node in tensors:
        if node.name is None and node.kind == "parameter":
            node.name = modules.param_names.get(id(node.tensor))
    module_info = {}
    for item in (*tensors, *ops, *constants):
        for depth in range(1, len(item.cluster) + 1):
            path = item.cluster[:depth]
            module_info.setdefault(path, (modules.qualified.get(id(path[-1]), ""), path[-1]))
    hidden = _count_hidden(frontier, nodes) if frontier else 0
    return TracedGraph(roots=roots, tensors=tensors, ops=ops, constants=constants,
                       max_nodes=max_nodes, hidden_nodes=hidden, modules=module_info)


def _kind(t: Tensor) -> str:
    if t._ctx is not None:
        return "intermediate"
    return "parameter" if (t.requires_grad or isinstance(t, Parameter)) else "input"


def _owner_path(scope: tuple, owner) -> tuple:
    """The part of ``scope`` down to the module that holds the parameter (or all of it)."""
    for depth, module in enumerate(scope, start=1):
        if module is owner:
            return scope[:depth]
    return ()


def _count_hidden(frontier, drawn) -> int:
    """How many tensor, op and constant nodes lie behind the cut (an iterative walk)."""
    seen = set(drawn)
    stack = list(frontier)
    hidden = 0
    while stack:
        ctx = stack.pop()._ctx
        if ctx is None or ctx.freed:
            continue
        hidden += 1  # the op
        for p in ctx.parents:
            if p is None:
                hidden += 1
            elif id(p) not in seen:
                seen.add(id(p))
                hidden += 1
                stack.append(p)
    return hidden


# ---------------------------------------------------------------------------
# Recording a real backward pass
# ---------------------------------------------------------------------------
def _graph_tensors_needing_grad(root):
    """Every tensor behind ``root`` that gradients reach (iterative walk)."""
    found = {id(root): root}
    stack = [root]
    while stack:
        ctx = stack.pop()._ctx
        if ctx is None:
            continue
        if ctx.freed:
            raise GraphFreedError("Part of this graph was freed by an earlier backward(), so "
                                  "its gradients cannot be computed again. " + FREED_HINT)
        for p in ctx.parents:
            if p is not None and p.requires_grad and id(p) not in found:
                found[id(p)] = p
                stack.append(p)
    return list(found.values())


def record_backward(root: Tensor) -> list[tuple[Tensor, np.ndarray]]:
    """Run backward from the scalar ``root`` and return ``(tensor, gradient)`` in engine order.

    The engine hands a tensor on (to the op that made it) only once its
    gradient is complete, i.e. once every consumer has sent its share; a hook
    fires exactly then. So hooks on every tensor record the real order of
    reverse-mode autodiff. The pass uses ``tl.grad(..., retain_graph=True)``:
    the graph survives and no ``.grad`` attribute changes. Hooks that you
    registered yourself run too, as in any backward pass.
    """
    if root.size != 1:
        raise ValueError(f"record_backward: the root must hold one number (a loss), got shape "
                         f"{root.shape}; reduce it first, e.g. out.sum().")
    if not root.requires_grad:
        return []
    tensors = _graph_tensors_needing_grad(root)
    order = []
    handles = []
    try:
        for t in tensors:
            # The default argument binds this t (a plain closure would see the last one).
            handles.append(t.register_hook(
                lambda g, t=t: order.append((t, np.array(g.data, copy=True)))))
        tl.grad(root, [root], retain_graph=True, allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    return order
