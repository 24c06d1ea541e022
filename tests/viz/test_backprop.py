"""viz.backward_frames: one frame per backward step, in the engine's own order."""
import re
import shutil

import numpy as np
import pytest
from PIL import Image

import tinygrad_lab as tl
import viz
from tinygrad_lab import nn
from viz import graph as vgraph

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def neuron():
    """micrograd's neuron: out = tanh(x1·w1 + x2·w2 + b), out = 0.7071."""
    x1 = tl.Tensor(2.0, requires_grad=True, name="x1")
    x2 = tl.Tensor(0.0, requires_grad=True, name="x2")
    w1 = tl.Tensor(-3.0, requires_grad=True, name="w1")
    w2 = tl.Tensor(1.0, requires_grad=True, name="w2")
    b = tl.Tensor(6.8813735870195432, requires_grad=True, name="b")
    n = x1 * w1 + x2 * w2 + b
    n.name = "n"
    out = n.tanh()
    out.name = "out"
    return out, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n)


def fan_out():
    """``a`` feeds two ops, so its gradient is complete only after both have sent theirs."""
    a = tl.Tensor(3.0, requires_grad=True, name="a")
    b = tl.Tensor(-1.0, requires_grad=True, name="b")
    u = a * b
    u.name = "u"
    v = a.exp()
    v.name = "v"
    L = u + v
    L.name = "L"
    return L, a


def real_backward_order(root):
    """The order hooks fire during a plain ``root.backward(retain_graph=True)``."""
    order, stack, seen = [], [root], {id(root)}
    while stack:
        t = stack.pop()
        t.register_hook(lambda g, t=t: order.append(t))
        for p in (t._ctx.parents if t._ctx else ()):
            if p is not None and p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    root.backward(retain_graph=True)
    return order


def test_steps_follow_the_real_engine_order():
    for build in (neuron, fan_out):
        root, _ = build()
        steps = viz.backward_steps(root)[1]
        expected = real_backward_order(root)   # the graph is still there: steps kept it
        assert [id(s.tensor) for s in steps] == [id(t) for t in expected]  # the same tensors


def test_each_step_holds_the_complete_gradient_and_starts_at_the_root():
    out, t = neuron()
    steps = viz.backward_steps(out)[1]
    assert steps[0].tensor is out and steps[0].grad == 1.0 and steps[0].op == "Tanh"
    expected = tl.grad(out, [s.tensor for s in steps[1:]], retain_graph=True)
    for step, g in zip(steps[1:], expected):
        np.testing.assert_allclose(step.grad, g.data, rtol=1e-6)
    by_name = {s.name: s for s in steps}
    assert by_name["w1"].op is None
    assert float(by_name["w1"].grad) == pytest.approx(1.0, abs=1e-3)   # x1·(1 − out²)


def test_a_gradient_completes_only_after_every_consumer_sent_its_share():
    L, a = fan_out()
    steps = viz.backward_steps(L)[1]
    order = [s.name for s in steps]
    assert order.index("a") > max(order.index("u"), order.index("v"))
    by_name = {s.name: s for s in steps}
    assert float(by_name["a"].grad) == pytest.approx(-1.0 + np.exp(3.0), rel=1e-6)
    assert "the sum of what its 2 consumers sent back" in by_name["a"].caption


def test_each_frame_highlights_its_step_and_greys_out_later_gradients():
    out, _ = neuron()
    anim = viz.backward_frames(out)
    assert len(anim.graphs) == len(anim.steps) == 10
    ids = [s.node_id for s in anim.steps]
    for i, (step, g) in enumerate(zip(anim.steps, anim.graphs)):
        labels = dict(re.findall(r"^\s*(t\d+) \[label=(.*)\]$", g.source, re.M))
        hot = [n for n, lab in labels.items() if f'COLOR="{vgraph.HIGHLIGHT}"' in lab]
        assert hot == [step.node_id]
        for later in ids[i + 1:]:
            assert vgraph.UNKNOWN_GRAD in labels[later]
        for earlier in ids[:i + 1]:
            assert vgraph.UNKNOWN_GRAD not in labels[earlier]
        assert step.caption.split("\n")[0] in g.source
    start = dict(re.findall(r"^\s*(t\d+) \[label=(.*)\]$", anim.start_graph.source, re.M))
    assert all(vgraph.UNKNOWN_GRAD in start[n] for n in ids)


def test_the_highlighted_op_is_the_one_that_sends_the_gradient_back():
    out, _ = neuron()
    anim = viz.backward_frames(out)
    step = next(s for s in anim.steps if s.name == "n")   # n = ... + b, made by Add
    g = anim.graphs[step.index - 1]
    ops = dict(re.findall(r"^\s*(op\d+) \[label=(.*)\]$", g.source, re.M))
    hot = [lab for lab in ops.values() if vgraph.HIGHLIGHT in lab]
    assert len(hot) == 1 and "<B>Add</B>" in hot[0]


def test_frames_leave_grad_alone_and_keep_the_graph():
    out, t = neuron()
    viz.backward_frames(out)
    assert all(v.grad is None for v in t.values())
    out.backward()
    assert float(t["w1"].grad.data) == pytest.approx(1.0, abs=1e-3)


def test_too_many_steps_and_non_scalar_roots_are_refused():
    x = tl.Tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(40):
        y = y.tanh()
    with pytest.raises(ValueError, match="too many frames"):
        viz.backward_frames(y, max_steps=10)
    with pytest.raises(ValueError, match="one number"):
        viz.backward_frames(tl.Tensor(np.ones(3, np.float32), requires_grad=True) * 2.0)


@needs_dot
def test_png_frames_and_an_animated_gif(tmp_path):
    out, _ = neuron()
    anim = viz.backward_frames(out, tmp_path / "frames")
    assert len(anim.frames) == len(anim.steps) == 10
    assert anim.start_frame.name == "step_00.png"
    sizes = set()
    for path in [anim.start_frame, *anim.frames]:
        with Image.open(path) as im:
            assert im.format == "PNG"
            sizes.add(im.size)
    assert len(sizes) == 1          # the layout does not jump from frame to frame
    (w, h), = sizes
    assert 800 < w < 5000 and 200 < h < 2000
    with Image.open(anim.gif) as gif:
        assert gif.is_animated and gif.n_frames == len(anim.steps) + 1
        assert gif.size == (w, h)


@needs_dot
def test_frames_of_a_small_net_with_module_clusters(tmp_path):
    net = nn.Sequential(nn.Linear(4, 3, bias=False, rng=0), nn.Sigmoid(),
                        nn.Linear(3, 2, bias=False, rng=1))
    x = tl.Tensor(np.ones((2, 4), np.float32), name="x")
    loss = tl.mse_loss(net(x), np.zeros((2, 2), np.float32))
    loss.name = "loss"
    anim = viz.backward_frames(loss, tmp_path, rankdir="TB", gif=False)
    assert [s.name for s in anim.steps][0] == "loss"
    assert {"0.weight", "2.weight"} <= {s.name for s in anim.steps}
    assert anim.gif is None and all(p.exists() for p in anim.frames)
