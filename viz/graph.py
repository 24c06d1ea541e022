"""Draw the computation graph behind a tensor, for people.

    import viz
    a = tl.Tensor(2.0, requires_grad=True, name="a")
    b = tl.Tensor(-3.0, requires_grad=True, name="b")
    L = (a * b + 10.0).tanh()
    g = viz.draw_graph(L)             # a graphviz.Digraph: shows inline in Jupyter
    viz.save(g, "L.svg")              # or .png, .pdf, .dot

What the picture shows:

* a box per tensor: its name (a parameter's name in its Module, or ``name=``),
  shape and dtype, a value summary and ``∂root/∂tensor``. Parameters, inputs,
  constants, intermediates and the output are coloured differently (legend);
* a rounded box per op: its name, its formula and its local derivative, the
  strings each op carries; arrows follow the data from inputs to outputs, labelled with
  the op's argument names (``a``, ``b``) where the order matters;
* with ``group_modules`` a labelled box per Module around the ops it ran;
* with ``color_by_grad`` each tensor is filled by its mean |gradient| on a log
  scale (a colour bar in the legend), so vanishing and exploding gradients
  stand out.

The gradients are computed here by a real backward pass that keeps the graph
and leaves every ``.grad`` alone; so draw before you call ``backward()``
(which frees the graph) or call ``backward(retain_graph=True)``.
"""
from __future__ import annotations

import html
import math

import graphviz
import numpy as np
from matplotlib import colormaps

from . import layout
from .tracing import (ConstantNode, GraphFreedError, OpNode, TracedGraph, record_backward,
                      trace_graph)

__all__ = ["draw_graph", "build_digraph", "compute_gradients", "SHOW_ITEMS"]

SHOW_ITEMS = ("shape", "value", "grad")
FONT = "DejaVu Sans"  # covers ∂, σ, subscripts and superscripts; Graphviz's default does not

# Fill and border per kind of node. Pale fills keep black text readable.
STYLES = {
    "parameter": ("#dff0d8", "#3c763d", "parameter: a leaf that requires grad (gets .grad)"),
    "input": ("#d9e8fb", "#31708f", "input: data, no gradient needed"),
    "constant": ("#f0f0f0", "#999999", "constant: a number or array given to an op"),
    "intermediate": ("#ffffff", "#666666", "intermediate: made by an op"),
    "output": ("#f9dcdc", "#a94442", "output: the root the gradients are taken of"),
}
OP_STYLE = ("#fff2cc", "#b8860b")
HIGHLIGHT = "#e8590c"        # the node of the current backward step
HIGHLIGHT_FILL = "#ffd8a8"
UNKNOWN_GRAD = "#d6d6d6"     # a gradient the backward pass has not reached yet
GRAD_COLORMAP = "RdYlBu_r"   # blue = tiny (vanishing) ... red = huge (exploding)


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------
def draw_graph(root, show=SHOW_ITEMS, rankdir: str = "LR", group_modules: bool = True,
               max_nodes: int = 500, color_by_grad: bool = False, names=None, *,
               formulas: bool = True, legend: bool = True, title: str | None = None,
               grads: str = "compute", wrap="auto") -> graphviz.Digraph:
    """Return the graph that produced ``root`` (a Tensor or a list of them) as a Digraph.

    ``show`` picks the lines of each tensor box from "shape" (and dtype),
    "value" and "grad". ``names`` adds names: ``{"x": x}``, ``{x: "x"}``, or a
    Module (its parameter names). ``max_nodes`` cuts huge graphs (a marker
    says how many nodes were left out). ``formulas`` puts each op's formula and
    derivative in its box. ``title`` replaces the first line of the heading
    ("" for no heading). ``wrap`` cuts long graphs of modules into columns
    (TB) or rows (LR) so that they fit a screen: "auto", a number of ranks per
    column, or None.

    ``grads="compute"`` (default) runs a backward pass from a one-number root
    with ``retain_graph=True`` and shows ∂root/∂tensor on every tensor, leaving
    ``.grad`` untouched; when that is impossible (several roots, a root with
    many numbers) it falls back to ``"stored"``: the ``.grad`` each tensor
    holds. Render with :func:`viz.save`, ``graph.render()`` or Jupyter.
    """
    show = _check_show(show)
    if grads not in ("compute", "stored"):
        raise ValueError(f"grads must be 'compute' or 'stored', got {grads!r}")
    traced = trace_graph(root, max_nodes=max_nodes, names=names, group_modules=group_modules)
    known, note = {}, None
    if "grad" in show or color_by_grad:
        known, note = compute_gradients(traced, grads)
    return build_digraph(traced, show=show, rankdir=rankdir, grads=known, formulas=formulas,
                         legend=legend, title=title, color_by_grad=color_by_grad, note=note,
                         wrap=wrap)


def compute_gradients(traced: TracedGraph, mode: str = "compute"):
    """``({id(tensor): gradient array}, note)`` for the tensors of ``traced``.

    ``note`` says in words where the gradients come from (for the title).
    """
    roots = traced.roots
    if mode == "compute" and len(roots) == 1 and roots[0].size == 1 and roots[0].requires_grad:
        try:
            order = record_backward(roots[0])
        except GraphFreedError:
            pass  # part of the graph is gone: only the stored .grad values are left
        else:
            return ({id(t): g for t, g in order},
                    f"grad = ∂{_root_name(traced)}/∂node, computed for this picture")
    stored = {id(n.tensor): n.tensor.grad.data for n in traced.tensors
              if n.tensor.grad is not None}
    return stored, "grad = the .grad each tensor holds" if stored else None


# ---------------------------------------------------------------------------
# Building the Digraph
# ---------------------------------------------------------------------------
def build_digraph(traced: TracedGraph, show=SHOW_ITEMS, rankdir="LR", grads=None,
                  formulas=True, legend=True, title=None, color_by_grad=False, note=None,
                  highlight=None, pending=(), caption=None, wrap="auto") -> graphviz.Digraph:
    """Turn a traced graph into a Digraph.

    ``grads`` maps id(tensor) to its gradient. For the backprop animation,
    ``highlight`` is the id of the tensor node of the current step (its op is
    highlighted too) and ``pending`` the ids of tensor nodes whose gradient is
    not complete yet: their grad is drawn greyed out, but at its final size, so
    the layout stays the same from frame to frame.
    """
    grads = grads or {}
    animated = highlight is not None or bool(pending)
    look = _Look(show=tuple(show), formulas=formulas, animated=animated, pending=set(pending),
                 highlight=highlight, scale=_GradScale.from_grads(grads, traced)
                 if color_by_grad else None)
    look.highlight_op = next((op.id for op in traced.ops if op.output.id == highlight), None)
    look.missing_grad = "grad" in look.show and any(
        n.tensor.requires_grad and id(n.tensor) not in grads for n in traced.tensors)

    g = graphviz.Digraph(name="computation_graph")
    g.attr(rankdir=rankdir, fontname=FONT, fontsize="13", nodesep="0.3", ranksep="0.3",
           newrank="true", bgcolor="white", pad="0.25", labelloc="t", labeljust="l")
    g.attr("node", fontname=FONT, fontsize="11", shape="plain")
    g.attr("edge", fontname=FONT, fontsize="10", color="#555555", arrowsize="0.7",
           fontcolor="#555555")
    heading = "" if title == "" else "\n".join(
        line for line in (title or _default_title(traced), note) if line)
    if caption:
        heading = f"{heading}\n{caption}" if heading else caption
    if heading:
        g.attr(label=_html(_heading_label(heading)))

    def emit(graph, item):
        if isinstance(item, OpNode):
            graph.node(item.id, label=_html(_op_label(item, look)))
        elif isinstance(item, ConstantNode):
            graph.node(item.id, label=_html(_constant_label(item, look)))
        elif isinstance(item, layout.Connector):
            graph.node(item.id, label=_connector_text(item, traced), shape="box",
                       style="rounded,dashed", color="#777777", fontcolor="#444444",
                       fontsize="10", margin="0.08,0.03", height="0")
        elif isinstance(item, layout.LeafCopy):
            graph.node(item.id, label=_html(_tensor_label(
                item.node, grads.get(id(item.node.tensor)), look, copy=True)))
        else:
            graph.node(item.id, label=_html(_tensor_label(item, grads.get(id(item.tensor)), look)))

    plan = layout.plan(traced, wrap)
    look.copies = bool(plan.copies)
    layout.emit_nodes(g, traced, plan, emit,
                      lambda sub, path: _style_cluster(sub, path, traced.modules))
    _emit_edges(g, traced, plan, look)
    _emit_markers(g, traced)
    if legend:
        g.node("legend", label=_html(_legend_label(traced, look)))
    return g


class _Look:
    """The drawing options every label needs, in one place."""

    def __init__(self, show, formulas, animated, pending, highlight, scale):
        self.show, self.formulas, self.animated = show, formulas, animated
        self.pending, self.highlight, self.scale = pending, highlight, scale
        self.highlight_op = None   # the op of the highlighted tensor, found by build_digraph
        self.copies = False        # whether the layout draws some leaf twice (for the legend)
        self.missing_grad = False  # whether some tensor needing a gradient shows "—"


def _emit_edges(g, traced, plan, look):
    """The arrows, in data-flow direction; a wrapped arrow goes through its two connectors."""
    in_rows = {item.id for chains in plan.rows.values() for chain in chains for item in chain}
    ends = {(c.src, c.dst, c.end): c.id for c in plan.wrap.connectors}
    for src, dst, label, original in plan.arrows:
        attrs = {"label": _edge_text(label)} if label else {}
        # During a backward step the gradient flows back along the arrows of the hot op.
        if look.highlight_op in (original, dst):
            attrs.update(_hot_edge())
        if (src, dst) in plan.wrap.cut:
            g.edge(src, ends[src, dst, "out"], **{k: v for k, v in attrs.items() if k != "label"})
            g.edge(ends[src, dst, "in"], dst, **attrs)
        elif src in in_rows and dst in in_rows:
            # Inside a row dot puts an arrow's tail first; drawn reversed, the op comes
            # first (next to the previous layer) and its weights after it, while the
            # arrowhead still points at the op.
            g.edge(dst, src, dir="back", **attrs)
        else:
            g.edge(src, dst, **attrs)


def _connector_text(connector, traced):
    """``→ on to fc2: Linear`` ending a column, ``(32, 256) from act1: Sigmoid`` atop the next."""
    nodes = {item.id: item for item in (*traced.tensors, *traced.ops, *traced.constants)}
    if connector.end == "out":
        return f"→ on to {_place(nodes[connector.dst], traced)}"
    src = nodes[connector.src]
    what = _shape_text(src.tensor.shape) if hasattr(src, "tensor") else "value"
    return f"{what} from {_place(src, traced)}"


def _place(item, traced):
    """Where a node sits, in words: its module (``2: Linear``) or its name."""
    if item.cluster:
        qualified, module = traced.modules[item.cluster]
        return f"{qualified}: {type(module).__name__}" if qualified else type(module).__name__
    return getattr(item, "name", None) or "the next column"


def _style_cluster(sub, path, modules):
    qualified, module = modules[path]
    shade = ("#f5f6fa", "#eceef6", "#e3e6f1")[min(len(path) - 1, 2)]
    sub.attr(label=_html(_module_label(qualified, module)), style="rounded,filled",
             fillcolor=shade, color="#8a8fb0", fontsize="12", margin="12")


def _emit_markers(g, traced):
    """The ``max_nodes`` marker and the markers for graphs freed by an earlier backward."""
    frontier = [n for n in traced.tensors if n.frontier]
    if frontier:
        g.node("cut", label=_html(
            f'<TABLE BORDER="1" CELLBORDER="0" STYLE="dashed" CELLPADDING="4" COLOR="#a94442" '
            f'BGCOLOR="#fff5f5">'
            f'<TR><TD><B>⋯ graph cut at max_nodes={traced.max_nodes:,}</B></TD></TR>'
            f'<TR><TD>{traced.hidden_nodes:,} more nodes not drawn</TD></TR>'
            f'<TR><TD><FONT POINT-SIZE="9">draw_graph(..., max_nodes=N) shows more</FONT>'
            f'</TD></TR></TABLE>'))
        for node in frontier[:50]:  # beyond that the arrows would only be clutter
            g.edge("cut", node.id, style="dashed", color="#a94442")
    for node in traced.tensors:
        if node.freed:
            marker = f"freed_{node.id}"
            g.node(marker, label=_html(
                '<TABLE BORDER="1" CELLBORDER="0" STYLE="dashed" CELLPADDING="4" COLOR="#999999">'
                '<TR><TD>graph freed here by an<BR/>earlier backward()</TD></TR></TABLE>'))
            g.edge(marker, node.id, style="dashed", color="#999999")


def _hot_edge():
    return {"color": HIGHLIGHT, "penwidth": "2.4", "fontcolor": HIGHLIGHT}


def _edge_text(label):
    return f" {label} " if label else ""


# ---------------------------------------------------------------------------
# Labels (Graphviz's HTML-like labels: tables of rows and cells)
# ---------------------------------------------------------------------------
def _html(body: str) -> str:
    return f"<{body}>"


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _tensor_label(node, grad, look, copy=False):
    """A tensor's box.

    A one-number tensor reads like micrograd's pictures: ``name | data | grad``
    in one row. A bigger one shows its name, shape and dtype, then a small grid
    of min / mean / max for the data and the gradient. A ``copy`` (the same
    leaf drawn again near far-away uses) starts with ↺.
    """
    t = node.tensor
    fill, border, _ = STYLES[node.kind]
    ghost = node.id in look.pending
    if look.scale is not None and grad is not None and not ghost:
        fill = look.scale.color(grad)
    if node.id == look.highlight:
        fill, border = HIGHLIGHT_FILL, HIGHLIGHT
    width = "3" if node.kind == "output" else "2" if look.animated else "1"
    style = ' STYLE="rounded"' if node.kind == "parameter" else ""
    show_grad = "grad" in look.show and t.requires_grad
    grad_bg = f' BGCOLOR="{UNKNOWN_GRAD}"' if ghost else ""
    name = node.name or ("" if node.kind == "intermediate" else node.kind)
    if copy:
        name = f"↺ {name}"

    if t.ndim == 0:
        cells = [f"<B>{_esc(name)}</B>"] if name else []
        if "value" in look.show:
            cells.append(f"data {_esc(_number(float(t.data), scalar=True))}")
        if show_grad:
            cells.append(f"<TD{grad_bg}>grad {_grad_text(grad, ghost, scalar=True)}</TD>")
        if not cells:
            cells.append("scalar")
        tds = "".join(c if c.startswith("<TD") else f"<TD>{c}</TD>" for c in cells)
        rows = f"<TR>{tds}</TR>"
        rules = ' COLUMNS="*"'
    else:
        head = [f"<B>{_esc(name)}</B>"] if name else []
        if "shape" in look.show or not head:
            head.append(f"{_esc(_shape_text(t.shape))} {t.dtype}")
        rows = f'<TR><TD COLSPAN="4">{"  ".join(head)}</TD></TR>'
        grid = []
        if "value" in look.show:
            grid.append(("data", _stats(t.data), ""))
        if show_grad:
            grid.append(("grad", _stats(grad) if grad is not None else None, grad_bg))
        if grid:
            faint = "#777777" if _text_color(fill) == "black" else "#dddddd"
            small = f'<FONT POINT-SIZE="9" COLOR="{faint}">{{}}</FONT>'
            rows += "<TR><TD></TD>" + "".join(
                f"<TD>{small.format(k)}</TD>" for k in ("min", "mean", "max")) + "</TR>"
            for label, stats, bg in grid:
                if stats is None:
                    cells = '<TD COLSPAN="3">—</TD>'
                elif ghost and label == "grad":
                    cells = "".join(f'<TD{bg}>{_ghost(s)}</TD>' for s in stats)
                else:
                    cells = "".join(f'<TD ALIGN="RIGHT">{_esc(s)}</TD>' for s in stats)
                rows += f'<TR><TD ALIGN="LEFT"{bg}>{label}</TD>{cells}</TR>'
        rules = ""
    return (f'<FONT COLOR="{_text_color(fill)}"><TABLE BORDER="{width}" CELLBORDER="0" '
            f'CELLSPACING="0" CELLPADDING="3" COLOR="{border}" BGCOLOR="{fill}"{style}{rules}>'
            f'{rows}</TABLE></FONT>')


def _grad_text(grad, ghost, scalar):
    if grad is None:
        return "—"
    text = _esc(_number(float(np.asarray(grad).reshape(())), scalar=scalar))
    return _ghost(text) if ghost else text


def _ghost(text):
    """Text drawn in the colour of its background: it takes its place but cannot be read."""
    return f'<FONT COLOR="{UNKNOWN_GRAD}">{text}</FONT>'


def _op_label(op, look):
    fill, border = OP_STYLE
    hot = op.id == look.highlight_op
    if hot:
        fill, border = HIGHLIGHT_FILL, HIGHLIGHT
    ctx = op.ctx
    head = f"<B>{_esc(ctx.op.__name__)}</B>"
    params = _params_text(ctx.params)
    if params:
        head += f' <FONT POINT-SIZE="9">{_esc(params)}</FONT>'
    rows = [head]
    if look.formulas:
        formula = getattr(ctx.op, "formula", "")
        derivative = getattr(ctx.op, "derivative", "")
        if formula:
            rows.append(_esc(formula))
        if derivative:
            rows.append(f'<FONT POINT-SIZE="10" COLOR="#7a5a00"><I>{_esc(derivative)}</I></FONT>')
    body = "".join(f"<TR><TD>{r}</TD></TR>" for r in rows)
    width = "2" if look.animated else "1"
    # Padding 3: browsers measure the italic text a little wider than dot does.
    return (f'<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
            f'COLOR="{border}" BGCOLOR="{fill}" STYLE="rounded">{body}</TABLE>')


def _constant_label(const, look):
    fill, border, _ = STYLES["constant"]
    value = np.asarray(const.value)
    if value.ndim == 0:
        rows = [_esc(_number(value.item()) if value.dtype.kind in "biuf" else str(value))]
    else:
        rows = [f"<B>constant</B>  {_esc(_shape_text(value.shape))} {value.dtype}"]
        if "value" in look.show and value.dtype.kind in "biuf":
            lo, mean, hi = _stats(value)
            rows.append(f"min {_esc(lo)} · mean {_esc(mean)} · max {_esc(hi)}")
    body = "".join(f"<TR><TD>{r}</TD></TR>" for r in rows)
    return (f'<FONT POINT-SIZE="10"><TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="3" COLOR="{border}" BGCOLOR="{fill}">{body}</TABLE></FONT>')


def _module_label(qualified, module):
    kind = _esc(type(module).__name__)
    head = f"<B>{_esc(qualified)}</B>: {kind}" if qualified else f"<B>{kind}</B>"
    try:
        extra = module.extra_repr()
    except Exception:  # a user's module with a broken extra_repr must not break the picture
        extra = ""
    for line in _wrap(extra, 44)[:3]:
        head += f'<BR/><FONT POINT-SIZE="9">{_esc(line)}</FONT>'
    return head


def _wrap(text, width):
    """Split ``a=1, b=2, ...`` into lines of about ``width`` characters, at the commas."""
    lines, line = [], ""
    for part in (p for p in text.split(", ") if p):
        candidate = f"{line}, {part}" if line else part
        if line and len(candidate) > width:
            lines.append(line + ",")
            line = part
        else:
            line = candidate
    return lines + [line] if line else lines


def _heading_label(text):
    lines = text.split("\n")
    first = f'<FONT POINT-SIZE="15"><B>{_esc(lines[0])}</B></FONT>'
    rest = "".join(f'<BR ALIGN="LEFT"/>{_esc(line)}' for line in lines[1:])
    return first + rest + '<BR ALIGN="LEFT"/>'


def _legend_label(traced, look):
    kinds = {n.kind for n in traced.tensors}
    if traced.constants:
        kinds.add("constant")
    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>legend</B></TD></TR>']
    for kind in ("output", "intermediate", "parameter", "input", "constant"):
        if kind in kinds:
            fill, border, text = STYLES[kind]
            style = ' STYLE="rounded"' if kind == "parameter" else ""
            rows.append(f'<TR><TD BORDER="1" COLOR="{border}" BGCOLOR="{fill}"{style} WIDTH="26">'
                        f'</TD><TD ALIGN="LEFT">{_esc(text)}</TD></TR>')
    if traced.ops:
        fill, border = OP_STYLE
        rows.append(f'<TR><TD BORDER="1" COLOR="{border}" BGCOLOR="{fill}" STYLE="rounded">'
                    f'</TD><TD ALIGN="LEFT">op: name, formula, <I>local derivative</I></TD></TR>')
    if look.copies:
        rows.append('<TR><TD>↺</TD><TD ALIGN="LEFT">a leaf drawn again next to far-away uses '
                    '(the same tensor)</TD></TR>')
    if look.animated:
        rows.append(f'<TR><TD BORDER="2" COLOR="{HIGHLIGHT}" BGCOLOR="{HIGHLIGHT_FILL}"></TD>'
                    f'<TD ALIGN="LEFT">this step: a gradient just completed, and the op that '
                    f'sends it back</TD></TR>')
        rows.append(f'<TR><TD BORDER="1" COLOR="#999999" BGCOLOR="{UNKNOWN_GRAD}"></TD>'
                    f'<TD ALIGN="LEFT">grey grad: not complete yet</TD></TR>')
    if look.missing_grad:
        rows.append('<TR><TD>—</TD><TD ALIGN="LEFT">no gradient known for this tensor</TD></TR>')
    if look.scale is not None:
        rows.append(look.scale.legend_row())
    return (f'<FONT POINT-SIZE="10"><TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" '
            f'CELLSPACING="3" CELLPADDING="2" BGCOLOR="white">{"".join(rows)}</TABLE></FONT>')


def _default_title(traced):
    n_t, n_o = len(traced.tensors), len(traced.ops)
    parts = [f"{n_t} tensor{'s' * (n_t != 1)}, {n_o} op{'s' * (n_o != 1)}"]
    if traced.constants:
        parts.append(f"{len(traced.constants)} constant{'s' * (len(traced.constants) != 1)}")
    if traced.cut:
        parts.append(f"cut at max_nodes={traced.max_nodes:,}")
    return "Computation graph of " + _root_name(traced) + " (" + ", ".join(parts) + ")"


def _root_name(traced):
    names = [n.name or "output" for n in traced.tensors if n.kind == "output"]
    return ", ".join(names)


# ---------------------------------------------------------------------------
# Numbers as short text
# ---------------------------------------------------------------------------
def _shape_text(shape) -> str:
    return "scalar" if len(shape) == 0 else "(" + ", ".join(str(n) for n in shape) + ")"


def _number(x: float, scalar: bool = False) -> str:
    """Short text for a number: ``0.0123``, ``-3.7e-6``; one-number tensors get 4 decimals."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if scalar and 1e-2 <= abs(x) < 1e5:
        return f"{x:.4f}"  # as micrograd's pictures: data 2.0000 | grad -6.0000
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _stats(values) -> tuple[str, str, str]:
    """min, mean and max of an array, as short text."""
    a = np.asarray(values)
    if a.size == 0:
        return ("—", "—", "—")
    a = a.astype(np.float64, copy=False)
    return _number(float(a.min())), _number(float(a.mean())), _number(float(a.max()))


def _params_text(params: dict) -> str:
    """An op's keyword arguments, short: ``k=2``, ``axis=1``; empty ones (None, False) skipped."""
    parts = []
    for key, value in params.items():
        if value is None or value is False:
            continue
        if isinstance(value, np.ndarray):
            value = f"array{_shape_text(value.shape)}"
        elif isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value):
            value = "fancy index"
        elif isinstance(value, float):
            value = f"{value:g}"
        text = f"{key}={value}"
        parts.append(text if len(text) <= 28 else text[:27] + "…")
    return ", ".join(parts)


def _text_color(fill: str) -> str:
    r, g, b = (int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _check_show(show) -> tuple:
    if isinstance(show, str):
        show = (show,)
    show = tuple(show)
    unknown = [s for s in show if s not in SHOW_ITEMS]
    if unknown:
        raise ValueError(f"show: unknown item(s) {unknown}; choose from {list(SHOW_ITEMS)}")
    return show


# ---------------------------------------------------------------------------
# Colouring by gradient magnitude
# ---------------------------------------------------------------------------
class _GradScale:
    """Maps mean |gradient| to a colour on a log10 scale spanning whole decades."""

    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self.cmap = colormaps[GRAD_COLORMAP]

    @classmethod
    def from_grads(cls, grads, traced):
        mags = [_magnitude(grads[id(n.tensor)]) for n in traced.tensors if id(n.tensor) in grads]
        logs = [math.log10(m) for m in mags if m > 0 and math.isfinite(m)]
        if not logs:
            return cls(-3, 0)
        low, high = math.floor(min(logs)), math.ceil(max(logs))
        if high - low < 2:  # at least two decades, so similar values do not look wildly different
            low, high = low - 1, max(high, low + 1) + 1
        return cls(low, high)

    def color(self, grad) -> str:
        m = _magnitude(grad)
        if m == 0:
            return "#bdbdbd"  # exactly zero: no gradient at all (e.g. a dead ReLU)
        if not math.isfinite(m):
            return "#5e0000"
        pos = (math.log10(m) - self.low) / (self.high - self.low)
        r, g, b, _ = self.cmap(min(max(pos, 0.0), 1.0))
        return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"

    def legend_row(self) -> str:
        cells = []
        for e in range(self.low, self.high + 1):
            fill = self.color(np.array(10.0 ** e))
            cells.append(f'<TD BGCOLOR="{fill}" WIDTH="34"><FONT COLOR="{_text_color(fill)}">'
                         f'1e{e}</FONT></TD>')
        bar = (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2"><TR>'
               f'{"".join(cells)}</TR></TABLE>')
        return ('<TR><TD COLSPAN="2" ALIGN="LEFT">fill: mean |grad|, on a log scale</TD></TR>'
                '<TR><TD COLSPAN="2" ALIGN="LEFT">'
                '(grey: exactly 0; the border still shows the kind)'
                f'</TD></TR><TR><TD COLSPAN="2">{bar}</TD></TR>')


def _magnitude(grad) -> float:
    return float(np.mean(np.abs(np.asarray(grad, dtype=np.float64))))
