"""Where things go in the picture: module clusters, weights beside their layer, wrapping.

Graphviz's ``dot`` does the real layout; :func:`plan` gives it four hints:

* each Module's nodes in a nested, labelled cluster;
* a Parameter (with any view op applied to it, like ``W → Wᵀ``) in the same
  rank as the op that uses it, so the weights sit beside the data flow and
  each layer costs one rank, not two or three;
* a leaf used again far down the graph (a shared weight in a long loop) is
  drawn again, dashed, next to those later uses: one arrow across hundreds
  of ranks makes dot take minutes, and the picture is easier to read too;
* for long graphs of modules, "wrapping": the graph is cut into columns (TB)
  or rows (LR) of a few ranks each, so a whole MLP fits on one screen. An
  arrow that crosses a cut is drawn as a pair of connectors, as in a
  flowchart ("→ on to 2: Linear" at the end of one column, "from 1: Sigmoid"
  at the top of the next), because dot routes such long arrows through the
  layers in between.

Everything is declared in data-flow order (inputs first): where nothing
else decides, dot keeps that order.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from tinygrad_lab import Parameter

from .tracing import TracedGraph, TensorNode

__all__ = ["plan", "Layout", "WrapPlan", "Connector", "LeafCopy", "edges", "emit_nodes",
           "AUTO_WRAP", "COPY_SPAN"]

AUTO_WRAP = 6        # ranks per column (or row) when wrapping is automatic
_NO_WRAP_BELOW = 11  # graphs with fewer ranks than this are never wrapped automatically
COPY_SPAN = 4        # a leaf's uses further apart than this many ranks get their own copy


@dataclass
class LeafCopy:
    """Another drawing of a leaf tensor, next to the uses far from the first one."""
    id: str
    node: TensorNode
    cluster: tuple


@dataclass
class Connector:
    """One end of a wrapped arrow: ``"out"`` after its source, ``"in"`` before its target."""
    id: str
    end: str
    src: str
    dst: str
    label: str
    cluster: tuple


@dataclass
class WrapPlan:
    """How a long graph is cut into columns (TB) or rows (LR).

    ``cut`` holds the arrows that cross a cut, ``connectors`` their two ends,
    and ``heads`` the first node of each column, which :func:`emit_nodes`
    lines up in order.
    """
    heads: list = field(default_factory=list)
    cut: set = field(default_factory=set)
    connectors: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.heads)


@dataclass
class Layout:
    """Every layout decision for one traced graph.

    ``arrows`` are ``(drawn source id, target id, label, original source id)``:
    the drawn source differs from the original for an arrow that starts at a
    :class:`LeafCopy`.
    """
    rows: dict
    copies: list
    arrows: list
    rank: dict
    wrap: WrapPlan


def edges(traced: TracedGraph) -> list[tuple[str, str, str]]:
    """Every arrow of the graph as ``(source id, target id, label)``, following the data."""
    out = []
    for op in traced.ops:
        for src, label in op.inputs:
            out.append((src, op.id, label))
        out.append((op.id, op.output.id, ""))
    return out


def plan(traced: TracedGraph, wrap="auto") -> Layout:
    """Decide rows, leaf copies, ranks and wrapping for ``traced``."""
    rows = _parameter_rows(traced)
    rank = _ranks(traced, rows)
    copies, arrows = _leaf_copies(traced, rank)
    for c in copies:
        rank[c.id] = min(rank[dst] for src, dst, _, _ in arrows if src == c.id) - 1
    return Layout(rows=rows, copies=copies, arrows=arrows, rank=rank,
                  wrap=_wrap_plan(traced, arrows, rank, wrap))


def _items(traced):
    return (*traced.tensors, *traced.ops, *traced.constants)


# ---------------------------------------------------------------------------
# Parameters beside their op, ranks, copies of far-used leaves
# ---------------------------------------------------------------------------
def _parameter_rows(traced: TracedGraph) -> dict[tuple, list[list]]:
    """Rows ``[parameter, view op, view, ..., consuming op]`` per cluster path.

    Only instances of ``Parameter`` (a model's weights) get a row: the leaves
    of a scalar expression like ``a * b`` stay in front of their op, as in
    micrograd's pictures.
    """
    consumers = {}
    for op in traced.ops:
        for src, _ in op.inputs:
            consumers.setdefault(src, []).append(op)
    rows, seen = {}, set()
    for node in traced.tensors:
        if node.kind != "parameter" or not isinstance(node.tensor, Parameter):
            continue
        chain = [node]
        # Follow single-input ops (views like transpose/reshape) while nothing branches.
        while len(consumers.get(chain[-1].id, ())) == 1 and len(chain) < 7:
            op = consumers[chain[-1].id][0]
            chain.append(op)
            if len(op.inputs) != 1:
                break  # the op that combines the parameter with the data ends the row
            chain.append(op.output)
        ids = {item.id for item in chain}
        # A row cannot cross a cluster border, and a node can sit in one row only.
        if len(chain) > 1 and len({item.cluster for item in chain}) == 1 and not ids & seen:
            seen |= ids
            rows.setdefault(chain[0].cluster, []).append(chain)
    return rows


def _ranks(traced: TracedGraph, rows) -> dict[str, int]:
    """The rank (row in TB, column in LR) dot will give each node, estimated.

    The longest distance to a root, counted backwards (so a weight lands next
    to its consumer, not at the very start), turned around so inputs come
    first. Iterative: Kahn's algorithm over the arrows, from the roots.
    """
    ids = [item.id for item in _items(traced)]
    producers = {i: [] for i in ids}
    remaining = {i: 0 for i in ids}    # consumers not processed yet
    for src, dst, _ in edges(traced):
        producers[dst].append(src)
        remaining[src] += 1
    depth = {i: 0 for i in ids}
    queue = deque(i for i in ids if remaining[i] == 0)
    while queue:
        node = queue.popleft()
        for src in producers[node]:
            depth[src] = max(depth[src], depth[node] + 1)
            remaining[src] -= 1
            if remaining[src] == 0:
                queue.append(src)
    deepest = max(depth.values(), default=0)
    rank = {i: deepest - d for i, d in depth.items()}
    for chains in rows.values():
        for chain in chains:
            for item in chain:
                rank[item.id] = rank[chain[-1].id]
    return rank


def _leaf_copies(traced: TracedGraph, rank):
    """Copies of leaves whose uses lie far apart, and the arrows with copies as sources.

    The uses of a leaf are grouped by rank; the first group keeps the real
    node and every later group (more than ``COPY_SPAN`` ranks on) gets a copy.
    """
    ops = {op.id: op for op in traced.ops}
    leaves = {n.id: n for n in traced.tensors if n.kind in ("parameter", "input")}
    uses = {}
    for src, dst, _ in edges(traced):
        if src in leaves:
            uses.setdefault(src, set()).add(dst)
    drawn_from = {}
    copies = []
    for leaf_id, consumers in uses.items():
        start = None
        for dst in sorted(consumers, key=lambda d: rank[d]):
            if start is None or rank[dst] - rank[start[1]] <= COPY_SPAN:
                start = start or (leaf_id, dst)
            else:
                copy = LeafCopy(f"{leaf_id}_copy{len(copies)}", leaves[leaf_id],
                                ops[dst].cluster if leaves[leaf_id].cluster else ())
                copies.append(copy)
                start = (copy.id, dst)
            drawn_from[leaf_id, dst] = start[0]
    arrows = [(drawn_from.get((src, dst), src), dst, label, src)
              for src, dst, label in edges(traced)]
    return copies, arrows


# ---------------------------------------------------------------------------
# Wrapping into columns
# ---------------------------------------------------------------------------
def _wrap_plan(traced: TracedGraph, arrows, rank, wrap) -> WrapPlan:
    """Where to cut a long graph into columns, so that it fits on a screen.

    ``wrap`` is the number of ranks per column, ``"auto"`` (graphs with
    module clusters that are more than 10 ranks deep get columns of about
    6 ranks) or ``None``/``0`` (never). Each cut is placed near an even
    split, where the fewest arrows cross and, if possible, between two
    modules rather than through one.
    """
    if not wrap:
        return WrapPlan()
    depth = max(rank.values(), default=0) + 1
    if wrap == "auto":
        if not traced.modules or depth < _NO_WRAP_BELOW:
            return WrapPlan()
        wrap = AUTO_WRAP
    if isinstance(wrap, bool) or not isinstance(wrap, int) or wrap < 1:
        raise ValueError(f"wrap must be a positive number of ranks, 'auto' or None, got {wrap!r}")
    columns = math.ceil(depth / wrap)
    if columns < 2 or not traced.ops:
        return WrapPlan()
    cluster_of = {item.id: item.cluster for item in _items(traced)}
    # The first column's head is an op inside a layer: dot lines up nodes of
    # clusters only through nodes inside them.
    result = WrapPlan(heads=[min((op.id for op in traced.ops), key=lambda i: rank[i])])
    previous = 0
    for k in range(1, columns):
        target = round(k * depth / columns)
        best = None
        for r in range(max(previous + 1, target - 2), min(depth, target + 3)):
            crossing = [(s, d, lab) for s, d, lab, _ in arrows
                        if rank[s] < r <= rank[d] and (s, d) not in result.cut]
            if not crossing:
                continue
            inside = sum(cluster_of.get(s) == cluster_of[d] != () for s, d, _ in crossing)
            cost = (len(crossing) + 3 * inside, abs(r - target))
            if best is None or cost < best[0]:
                best = (cost, crossing, r)
        if best is None:
            continue
        _, crossing, previous = best
        head = None
        for s, d, label in crossing:
            result.cut.add((s, d))
            n = len(result.connectors) // 2
            out = Connector(f"wrap_out{n}", "out", s, d, label, cluster_of.get(s, ()))
            into = Connector(f"wrap_in{n}", "in", s, d, label, cluster_of[d])
            result.connectors += [out, into]
            if head is None or rank[d] < rank[head[1]]:
                head = (into.id, d)
        result.heads.append(head[0])
    return result if len(result.heads) > 1 else WrapPlan()


# ---------------------------------------------------------------------------
# Declaring the nodes
# ---------------------------------------------------------------------------
def emit_nodes(g, traced: TracedGraph, layout: Layout, emit, style_cluster) -> None:
    """Declare every node: top-level ones, parameter rows and a nested cluster per module.

    ``emit(graph, item)`` declares one node (a tensor, op, constant, leaf
    copy or connector) in ``graph``; ``style_cluster(subgraph, path)`` labels
    a module's cluster. Nesting follows Module nesting, a few levels deep at
    most, so the recursion here is bounded by the model's depth, not by the
    graph's size.
    """
    rank, wrap = layout.rank, layout.wrap
    items = _items(traced)
    # Ties go to the later-traced item: the trace runs from the root backwards.
    key = {item.id: (rank[item.id], 0, -i) for i, item in enumerate(items)}
    for c in layout.copies:
        key[c.id] = (rank[c.id], 0, 0)
    for c in wrap.connectors:
        key[c.id] = (rank[c.src], 1, 0) if c.end == "out" else (rank[c.dst], -1, 0)
    row_of = {item.id: row for chains in layout.rows.values() for row in chains for item in row}

    entries = {}   # cluster path -> [(order key, "node" | "row" | "cluster", thing)]
    first = {}     # cluster path -> the smallest key inside it, nested clusters included
    everything = (*items, *layout.copies, *wrap.connectors)
    for item in everything:
        for depth in range(len(item.cluster) + 1):
            path = item.cluster[:depth]
            first[path] = min(first.get(path, key[item.id]), key[item.id])
        row = row_of.get(item.id)
        if row is None:
            entries.setdefault(item.cluster, []).append((key[item.id], "node", item))
        elif row[0] is item:
            entries.setdefault(item.cluster, []).append((min(key[x.id] for x in row), "row", row))
    for path in traced.modules:
        entries.setdefault(path[:-1], []).append((first[path], "cluster", path))
    number = {path: i for i, path in enumerate(traced.modules)}
    cluster_of = {item.id: item.cluster for item in everything}
    handle_path = _common_prefix([cluster_of[h] for h in wrap.heads]) if wrap else None

    def fill(graph, path):
        if path == handle_path:
            _emit_handles(g, graph, wrap.heads)
        for _, what, thing in sorted(entries.get(path, []), key=lambda e: e[0]):
            if what == "node":
                emit(graph, thing)
            elif what == "row":
                with graph.subgraph() as same:
                    same.attr(rank="same")
                    for item in thing:
                        emit(same, item)
            else:
                with graph.subgraph(name=f"cluster_{number[thing]}") as sub:
                    style_cluster(sub, thing)
                    fill(sub, thing)

    fill(g, ())


def _common_prefix(paths):
    prefix = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(prefix), len(path)) and prefix[n] is path[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def _emit_handles(top, graph, heads):
    """Invisible handles, one per column, that keep the columns in order.

    Flat arrows (within one rank) keep their tail before their head, but only
    between nodes of the same cluster; so the handles go into the innermost
    cluster holding all column heads, chained in order, and each one hangs
    its column below it.
    """
    handles = [f"wrap_handle{k}" for k in range(len(heads))]
    with graph.subgraph() as line:
        line.attr(rank="same")
        for h in handles:
            line.node(h, label="", shape="point", style="invis", width="0", height="0")
        for a, b in zip(handles, handles[1:]):
            line.edge(a, b, style="invis")
    for h, head in zip(handles, heads):
        top.edge(h, head, style="invis")
