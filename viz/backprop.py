"""Backpropagation, step by step: one picture per step of the backward pass.

    import viz
    anim = viz.backward_frames(L, "frames")   # frames/step_01.png ... and frames/backprop.gif
    anim.steps[0].name                        # "L": the first step is the root, ∂L/∂L = 1
    [s.name for s in anim]                    # the order the engine completed each gradient

The order is not re-derived here: it is recorded from the engine itself (a
hook on every tensor fires when the tensor's gradient is complete, during a
real backward pass with ``retain_graph=True``), so the pictures show what
``backward()`` really does. At each step the tensor whose gradient just
became complete is highlighted, with the op that now sends it back to its
inputs; gradients not complete yet are greyed out.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import graphviz
import numpy as np

from tinygrad_lab import Tensor

from . import graph as _graph
from .render import render
from .tracing import record_backward, trace_graph

__all__ = ["backward_frames", "backward_steps", "BackwardStep", "BackwardAnimation"]


@dataclass(frozen=True)
class BackwardStep:
    """One step of the backward pass.

    ``index`` counts from 1; ``tensor`` is the tensor whose gradient became
    complete, drawn as node ``node_id`` and called ``name`` in the picture;
    ``grad`` is that gradient; ``op`` the name of the op that sends it back
    to its inputs next (None for a leaf); ``caption`` the sentence under the
    picture's title.
    """
    index: int
    tensor: Tensor
    node_id: str
    name: str
    grad: np.ndarray
    op: str | None
    caption: str


@dataclass
class BackwardAnimation:
    """The steps, their Digraphs and, when rendered, the PNG files and the GIF.

    ``frames[i]`` and ``graphs[i]`` show ``steps[i]``; ``start_frame`` is the
    picture before the first step (values known, no gradient yet), which the
    GIF shows first. Iterating or indexing gives the steps.
    """
    steps: list
    graphs: list
    start_graph: graphviz.Digraph
    frames: list = field(default_factory=list)
    start_frame: Path | None = None
    gif: Path | None = None

    def __len__(self):
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    def __getitem__(self, i):
        return self.steps[i]


def backward_steps(root: Tensor, names=None, group_modules: bool = True, max_nodes: int = 500):
    """``(traced graph, [BackwardStep, ...])``: the backward pass of ``root``, recorded."""
    if root.size != 1:
        raise ValueError(f"backward_frames: the root must hold one number (a loss), got shape "
                         f"{root.shape}; reduce it first, e.g. out.sum().")
    traced = trace_graph(root, max_nodes=max_nodes, names=names, group_modules=group_modules)
    if traced.cut:
        raise ValueError(
            f"backward_frames: the graph has more than max_nodes={max_nodes} nodes; an "
            f"animation of it would not teach much. Use a smaller graph, or pass a larger "
            f"max_nodes.")
    order = record_backward(root)
    root_name = traced.tensors[0].name or "out"
    consumers = _consumer_counts(traced)
    steps = []
    for i, (tensor, grad) in enumerate(order, start=1):
        node = traced.node_of(tensor)
        name = _display_name(node)
        op = tensor._ctx.op.__name__ if tensor._ctx is not None else None
        caption = _caption(i, len(order), node, name, grad, op, root_name,
                           consumers.get(node.id, 0))
        steps.append(BackwardStep(i, tensor, node.id, name, grad, op, caption))
    return traced, steps


def backward_frames(root: Tensor, out_dir=None, *, show=_graph.SHOW_ITEMS, rankdir: str = "LR",
                    group_modules: bool = True, names=None, formulas: bool = True,
                    color_by_grad: bool = False, wrap="auto", title: str | None = None,
                    max_steps: int = 60,
                    dpi: float = 96, seconds_per_frame: float = 1.6, gif: bool = True
                    ) -> BackwardAnimation:
    """One picture per step of the backward pass from the scalar ``root``.

    Without ``out_dir`` only the Digraphs are built (no Graphviz program
    needed). With it, ``step_01.png``, ``step_02.png``... (one per step),
    ``step_00.png`` (before the first step) and, if ``gif``, ``backprop.gif``
    are written there. ``.grad`` attributes are not touched and the graph
    is kept, so you can still call ``root.backward()`` afterwards.
    """
    show = _graph._check_show(show)
    traced, steps = backward_steps(root, names=names, group_modules=group_modules)
    if len(steps) > max_steps:
        raise ValueError(f"backward_frames: {len(steps)} backward steps (one per tensor that "
                         f"needs a gradient) is too many frames; draw a smaller graph, or pass "
                         f"max_steps={len(steps)} if you really want them.")
    final = {id(s.tensor): s.grad for s in steps}
    waiting = [s.node_id for s in steps]

    def picture(done, highlight, caption):
        return _graph.build_digraph(
            traced, show=show, rankdir=rankdir, grads=final, formulas=formulas,
            color_by_grad=color_by_grad, wrap=wrap, title=title, highlight=highlight,
            pending=waiting[done:], caption=caption,
            note=f"The backward pass of {traced.tensors[0].name or 'out'}, step by step")

    start = picture(0, None, "Before backward(): the forward pass has computed every value; "
                             "no gradient is known yet.\nbackward() starts at the output and "
                             "works back to the inputs, one tensor at a time.")
    graphs = [picture(s.index, s.node_id, s.caption) for s in steps]
    anim = BackwardAnimation(steps=steps, graphs=graphs, start_graph=start)
    if out_dir is not None:
        _write_frames(anim, Path(out_dir), dpi, seconds_per_frame, gif)
    return anim


# ---------------------------------------------------------------------------
# Words for each step
# ---------------------------------------------------------------------------
def _consumer_counts(traced):
    counts = {}
    for op in traced.ops:
        for src, _ in op.inputs:
            counts[src] = counts.get(src, 0) + 1
    return counts


def _display_name(node):
    """The tensor's name, else what made it: "the Mul output", "the (8, 256) Linear output"."""
    if node.name:
        return node.name
    t = node.tensor
    shape = "" if t.ndim == 0 else f"{_graph._shape_text(t.shape)} "
    made_by = f"{t._ctx.op.__name__} output" if t._ctx is not None else node.kind
    return f"the {shape}{made_by}"


def _grad_words(grad):
    g = np.asarray(grad)
    if g.size == 1:
        return _graph._number(float(g.reshape(())), scalar=True)
    lo, mean, hi = _graph._stats(g)
    return f"min {lo} · mean {mean} · max {hi}"


def _caption(i, n, node, name, grad, op, root_name, consumers):
    """Two lines (every frame the same height, so the animation does not jump)."""
    root, wrt = _math_name(root_name), _math_name(name)
    if i == 1:
        first = f"Step 1 of {n}: start at {name}: ∂{root}/∂{wrt} = 1, the seed of backward()."
    else:
        summed = f" (the sum of what its {consumers} consumers sent back)" if consumers > 1 else ""
        first = f"Step {i} of {n}: ∂{root}/∂{wrt} is complete{summed}: {_grad_words(grad)}."
    if op is None:
        where = f"; backward() would store it in {name}.grad" if node.kind == "parameter" else ""
        second = f"{name} is a leaf: its gradient is final{where}."
    else:
        derivative = node.tensor._ctx.op.derivative or "(none given)"
        second = f"{op} now sends it back to its inputs, using its local derivative {derivative}."
    return f"{first}\n{second}"


def _math_name(name):
    """``w1*x1`` reads as one symbol only in parentheses: ∂out/∂(w1*x1)."""
    return f"({name})" if any(c in name for c in " +-*/()") and not name.startswith("(") else name


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------
def _write_frames(anim, out_dir: Path, dpi, seconds_per_frame, gif):
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(len(anim.steps))))
    pictures = []
    for index, graph in [(0, anim.start_graph), *((s.index, g) for s, g in
                                                   zip(anim.steps, anim.graphs))]:
        png = render(graph, "png", dpi=dpi)
        path = out_dir / f"step_{index:0{width}d}.png"
        path.write_bytes(png)
        if index == 0:
            anim.start_frame = path
        else:
            anim.frames.append(path)
        pictures.append(Image.open(io.BytesIO(png)).convert("RGB"))
    if gif:
        anim.gif = out_dir / "backprop.gif"
        _write_gif(pictures, anim.gif, seconds_per_frame)


def _write_gif(pictures, path: Path, seconds_per_frame):
    """An animated GIF that loops; the first and last pictures stay up longer."""
    from PIL import Image

    # Captions differ in length, so the frames may differ by a few pixels: pad them all.
    width = max(p.width for p in pictures)
    height = max(p.height for p in pictures)
    frames = []
    for p in pictures:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(p, (0, 0))
        frames.append(canvas.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    ms = int(seconds_per_frame * 1000)
    durations = [ms] * len(frames)
    durations[0] = durations[-1] = 3 * ms
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False)
