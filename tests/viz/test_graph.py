"""viz.draw_graph: the DOT it writes, the pictures dot renders from it, and its limits."""
import html
import re
import shutil
import xml.etree.ElementTree as ET
from io import BytesIO
from pathlib import Path

import graphviz
import numpy as np
import pytest
from PIL import Image

import tinygrad_lab as tl
import viz
from tinygrad_lab import nn
from viz import graph as vgraph

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
DOCS = Path(__file__).resolve().parents[2] / "docs"


# ---------------------------------------------------------------------------
# Reading the DOT source back
# ---------------------------------------------------------------------------
NODE = re.compile(r"^\s*(\w+) \[label=(.*)\]$", re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)


def nodes_of(g) -> dict:
    """DOT node id -> its label text."""
    return dict(NODE.findall(g.source))


def edges_of(g) -> list:
    return [(a, b) for a, b, attrs in EDGE.findall(g.source) if "invis" not in attrs]


def node_with(g, text) -> str:
    """The id of the one node whose label contains ``text`` (HTML-like markup, as in the DOT)."""
    found = [i for i, label in nodes_of(g).items() if text in label]
    assert len(found) == 1, f"{text!r} is in {len(found)} node labels"
    return found[0]


def graph_nodes(g):
    """Tensor (t…), op (op…) and constant (c…) nodes: what the picture is about."""
    return {i: lab for i, lab in nodes_of(g).items() if re.fullmatch(r"(t|op|c)\d+", i)}


def cluster_block(source, label_text):
    """The DOT text of the cluster whose label contains ``label_text`` (nested ones included)."""
    for m in re.finditer(r"subgraph (cluster_\d+) \{", source):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(source[i], 0)
            i += 1
        block = source[m.end():i]
        attributes = block.strip().splitlines()[0]   # the cluster's own label, style, ...
        if label_text in attributes:
            return block
    raise AssertionError(f"no cluster labelled {label_text!r}")


# ---------------------------------------------------------------------------
# Graphs to draw
# ---------------------------------------------------------------------------
def micrograd_example():
    """micrograd's example: L = (a*b + c) * f; ∂L/∂a = b·f = 6, ∂L/∂b = a·f = −4, ..."""
    a = tl.Tensor(2.0, requires_grad=True, name="a")
    b = tl.Tensor(-3.0, requires_grad=True, name="b")
    c = tl.Tensor(10.0, requires_grad=True, name="c")
    f = tl.Tensor(-2.0, requires_grad=True, name="f")
    e = a * b
    e.name = "e"
    d = e + c
    d.name = "d"
    L = d * f
    L.name = "L"
    return L, dict(a=a, b=b, c=c, f=f, e=e, d=d)


def assignment_mlp(batch=8, seed=0):
    """The assignment's 784-256-128-10 sigmoid MLP (no bias) with its MSE loss."""
    from models import AssignmentMLP
    model = AssignmentMLP(sizes=(784, 256, 128, 10), activation="sigmoid", init="uniform",
                          bias=False, seed=seed)
    rng = np.random.default_rng(seed)
    x = tl.Tensor(rng.random((batch, 784), dtype=np.float32), name="x")
    loss = tl.mse_loss(model(x), tl.one_hot(rng.integers(0, 10, batch), 10))
    loss.name = "loss"
    return loss, model, x


# ---------------------------------------------------------------------------
# Structure of the DOT source
# ---------------------------------------------------------------------------
def test_one_node_per_tensor_and_per_op_and_arrows_follow_the_data():
    L, t = micrograd_example()
    g = viz.draw_graph(L)
    nodes = graph_nodes(g)
    assert sum(i.startswith("t") for i in nodes) == 7      # a b c f e d L
    assert sum(i.startswith("op") for i in nodes) == 3     # Mul Add Mul
    edges = edges_of(g)
    assert len(edges) == 9                                 # 2 inputs + 1 output per op
    mul1 = next(i for i in nodes if i.startswith("op") and (node_with(g, "<B>e</B>") in
                [b for a, b in edges if a == i]))
    assert (node_with(g, "<B>a</B>"), mul1) in edges and (node_with(g, "<B>b</B>"), mul1) in edges
    assert "Mul" in nodes[mul1]


def test_scalar_expression_reads_like_micrograd_with_data_and_grad_per_node():
    L, t = micrograd_example()
    g = viz.draw_graph(L)
    expected = {"a": (2, 6), "b": (-3, -4), "c": (10, -2), "f": (-2, 4), "e": (-6, -2),
                "d": (4, -2), "L": (-8, 1)}
    for name, (data, grad) in expected.items():
        label = nodes_of(g)[node_with(g, f"<B>{name}</B>")]
        assert f"data {data:.4f}" in label and f"grad {grad:.4f}" in label, label
    # The gradients were computed for the picture only: .grad is untouched, the graph kept.
    assert all(v.grad is None for v in t.values())
    L.backward()
    assert t["a"].grad.item() == 6.0


def test_labels_carry_names_shapes_dtypes_formulas_and_derivatives():
    loss, model, x = assignment_mlp()
    g = viz.draw_graph(loss)
    label = nodes_of(g)[node_with(g, "<B>fc1.weight</B>")]
    assert "(256, 784) float32" in label
    assert "(8, 784) float32" in nodes_of(g)[node_with(g, "<B>x</B>")]
    for op in {o.ctx.op for o in viz.trace_graph(loss).ops}:
        assert op.formula and op.derivative, f"{op.__name__} carries no formula"
        assert html.escape(op.formula) in g.source, op.__name__
        assert html.escape(op.derivative) in g.source, op.__name__


def test_user_names_come_from_a_dict_either_way_round_or_from_a_module():
    w = tl.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = tl.Tensor(np.ones((4, 3), np.float32))
    y = (x @ w).sum()
    assert "<B>W</B>" in viz.draw_graph(y, names={"W": w}).source
    assert "<B>inputs</B>" in viz.draw_graph(y, names={x: "inputs"}).source
    layer = nn.Linear(3, 2, rng=0)
    assert "<B>weight</B>" in viz.draw_graph(layer(x).sum(), names=layer).source


def test_kinds_look_different_and_the_legend_names_each_one():
    w = tl.Parameter(np.ones(3, np.float32), name="w")
    x = tl.Tensor(np.arange(3, dtype=np.float32), name="x")
    y = (w * x + 2.0).sum()
    g = viz.draw_graph(y)
    fills = {}
    kinds = (("parameter", "<B>w</B>"), ("input", "<B>x</B>"), ("output", "<B>output</B>"))
    for kind, node in kinds:
        fills[kind] = re.search(r'BGCOLOR="(#\w+)"', nodes_of(g)[node_with(g, node)]).group(1)
        assert fills[kind] == vgraph.STYLES[kind][0]
    assert len(set(fills.values())) == 3
    constant = [lab for i, lab in nodes_of(g).items() if i.startswith("c")]
    assert len(constant) == 1 and ">2<" in constant[0]
    assert vgraph.STYLES["constant"][0] in constant[0]
    legend = nodes_of(g)["legend"]
    for kind in ("parameter", "input", "constant", "intermediate", "output"):
        assert html.escape(vgraph.STYLES[kind][2]) in legend


def test_one_labelled_cluster_per_module_holding_its_ops_and_parameters():
    loss, model, x = assignment_mlp()
    g = viz.draw_graph(loss)
    assert g.source.count("subgraph cluster_") == len(model.named_modules())  # model + 6 layers
    fc2 = cluster_block(g.source, "fc2")
    assert "Linear" in cluster_block(g.source, "fc2")[:400]
    assert node_with(g, "<B>fc2.weight</B>") in fc2
    assert node_with(g, "<B>fc1.weight</B>") not in fc2
    assert "Sigmoid" in cluster_block(g.source, "act2")
    # The data comes from outside the model.
    assert node_with(g, "<B>x</B>") not in cluster_block(g.source, "AssignmentMLP")
    assert "subgraph cluster_" not in viz.draw_graph(loss, group_modules=False).source


def test_a_nested_sequential_gives_nested_clusters():
    net = nn.Sequential(nn.Sequential(nn.Linear(4, 3, rng=0), nn.Tanh()), nn.Linear(3, 2, rng=1))
    y = net(tl.Tensor(np.ones((2, 4), np.float32))).sum()
    outer = cluster_block(viz.draw_graph(y).source, "Sequential")
    assert outer.count("subgraph cluster_") == 4   # inner Sequential, its 2 layers, last Linear


def test_grads_stored_shows_what_backward_left_in_grad():
    L, t = micrograd_example()
    L.backward(retain_graph=True)
    L.backward(retain_graph=True)  # accumulated twice: .grad is 2 × ∂L/∂a
    label = nodes_of(viz.draw_graph(L, grads="stored"))
    assert "grad 12.0000" in label[node_with(viz.draw_graph(L, grads="stored"), "<B>a</B>")]
    computed = viz.draw_graph(L)
    assert "grad 6.0000" in nodes_of(computed)[node_with(computed, "<B>a</B>")]


def test_show_picks_the_lines_and_rejects_unknown_items():
    L, _ = micrograd_example()
    g = viz.draw_graph(L, show=("value",))
    labels = "".join(graph_nodes(g).values())
    assert "data 2.0000" in labels and "grad " not in labels
    with pytest.raises(ValueError, match="unknown item"):
        viz.draw_graph(L, show=("values",))


def test_a_graph_freed_by_backward_gets_a_clear_message():
    L, _ = micrograd_example()
    L.backward()
    with pytest.raises(viz.GraphFreedError, match="retain_graph=True"):
        viz.draw_graph(L)


def test_a_partly_freed_graph_is_drawn_up_to_the_freed_part():
    a = tl.Tensor(2.0, requires_grad=True, name="a")
    h = a * a
    h.name = "h"
    (h * 3.0).backward()            # frees h's op
    g = viz.draw_graph(h + 1.0)     # still drawable: h is marked, its inputs are gone
    assert "graph freed here" in g.source and "<B>a</B>" not in g.source


def test_color_by_grad_uses_a_log_scale_with_a_colour_bar():
    big = tl.Tensor(1.0, requires_grad=True, name="big")
    small = tl.Tensor(1.0, requires_grad=True, name="small")
    dead = tl.Tensor(np.array([-1.0, -2.0], np.float32), requires_grad=True, name="dead")
    y = big * 1000.0 + small * 0.001 + dead.relu().sum()
    g = viz.draw_graph(y, color_by_grad=True)
    fill = {n: re.search(r'BGCOLOR="(#\w+)"', nodes_of(g)[node_with(g, f"<B>{n}</B>")]).group(1)
            for n in ("big", "small", "dead")}
    scale = vgraph._GradScale.from_grads({0: np.array(1000.0), 1: np.array(0.001)},
                                         viz.trace_graph(y))
    assert fill["dead"] == "#bdbdbd"    # exactly zero: a dead ReLU
    assert fill["big"] == scale.color(np.array(1000.0)) != fill["small"]
    assert "1e-3" in nodes_of(g)["legend"] and "1e3" in nodes_of(g)["legend"]


def test_several_roots_and_a_tensor_without_graph():
    a = tl.Tensor(1.0, requires_grad=True, name="a")
    g = viz.draw_graph([a * 2.0, a + 1.0])
    assert sum(i.startswith("op") for i in graph_nodes(g)) == 2
    assert len(graph_nodes(viz.draw_graph(tl.Tensor(3.0)))) == 1


# ---------------------------------------------------------------------------
# Big graphs: iterative walk, cut at max_nodes, leaves drawn again when far apart
# ---------------------------------------------------------------------------
def long_chain(n_ops=10_000):
    x = tl.Tensor(0.5, requires_grad=True, name="x")
    y = x
    for i in range(n_ops // 2):
        y = (y * 0.999).tanh()
    return y, x


def test_a_10000_op_graph_is_cut_at_max_nodes_with_a_marker():
    y, _ = long_chain(10_000)
    g = viz.draw_graph(y, max_nodes=200)
    nodes = graph_nodes(g)
    assert len(nodes) <= 200
    assert "graph cut at max_nodes=200" in g.source
    traced = viz.trace_graph(y, max_nodes=200)
    # 10,000 ops, 10,001 tensors (x and each op's output) and 5,000 constants (0.999).
    assert traced.node_count + traced.hidden_nodes == 10_000 + 10_001 + 5_000
    assert f"{traced.hidden_nodes:,} more nodes not drawn" in g.source
    frontier = [n.id for n in traced.tensors if n.frontier]
    assert frontier and all(("cut", f) in edges_of(g) for f in frontier)


@needs_dot
def test_the_cut_graph_renders(tmp_path):
    y, _ = long_chain(10_000)
    svg = viz.save(viz.draw_graph(y, max_nodes=150), tmp_path / "cut.svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_a_leaf_used_far_apart_is_drawn_again_next_to_its_later_uses():
    x = tl.Tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(30):
        y = (y + x).tanh()   # x feeds ops all along the chain
    g = viz.draw_graph(y)
    copies = [i for i in nodes_of(g) if "_copy" in i]
    assert copies and all("↺ x" in nodes_of(g)[i] for i in copies)
    assert sum(i.startswith("t") and "_copy" not in i and "<B>x</B>" in lab
               for i, lab in nodes_of(g).items()) == 1


# ---------------------------------------------------------------------------
# Wrapping long graphs of modules so the MLP fits a screen
# ---------------------------------------------------------------------------
def test_the_mlp_wraps_into_columns_with_connectors():
    loss, model, _ = assignment_mlp()
    g = viz.draw_graph(loss, rankdir="TB")
    ins = [lab for i, lab in nodes_of(g).items() if i.startswith("wrap_in")]
    outs = [lab for i, lab in nodes_of(g).items() if i.startswith("wrap_out")]
    assert len(ins) == len(outs) >= 1
    assert any("from act" in lab for lab in ins) and any("on to fc" in lab for lab in outs)
    assert "wrap_" not in viz.draw_graph(loss, wrap=None).source
    with pytest.raises(ValueError, match="wrap"):
        viz.draw_graph(loss, wrap=-1)


@needs_dot
@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_wrapped_columns_come_in_data_flow_order(rankdir):
    loss, model, _ = assignment_mlp()
    g = viz.draw_graph(loss, rankdir=rankdir)
    plain = g.pipe(format="plain").decode()
    pos = {f[1]: (float(f[2]), float(f[3])) for f in
           (line.split() for line in plain.splitlines()) if f[0] == "node"}
    layers = [node_with(g, f"<B>fc{i}.weight</B>") for i in (1, 2, 3)]
    along = [pos[n][0] if rankdir == "TB" else -pos[n][1] for n in layers]
    assert along == sorted(along), along   # columns left to right (rows top to bottom in LR)


# ---------------------------------------------------------------------------
# Rendering and saving
# ---------------------------------------------------------------------------
@needs_dot
def test_svg_is_well_formed_with_one_svg_node_per_dot_node(tmp_path):
    loss, _, _ = assignment_mlp()
    g = viz.draw_graph(loss)
    path = viz.save(g, tmp_path / "mlp.svg")
    root = ET.parse(path).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    svg_nodes = [n.find("svg:title", ns).text for n in root.iter("{http://www.w3.org/2000/svg}g")
                 if n.get("class") == "node"]
    drawn = set(svg_nodes)
    visible = {i for i in nodes_of(g) if not i.startswith("wrap_handle")}  # handles are invisible
    assert len(svg_nodes) == len(drawn) == len(visible) and visible == drawn
    assert set(graph_nodes(g)) == {d for d in drawn if re.fullmatch(r"(t|op|c)\d+", d)}


@needs_dot
def test_png_is_a_valid_image_of_sane_size(tmp_path):
    L, _ = micrograd_example()
    path = viz.save(viz.draw_graph(L), tmp_path / "L.png")
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and 600 < im.width < 4000 and 150 < im.height < 2000
    big = viz.render(viz.draw_graph(L), "png", dpi=192)
    assert Image.open(BytesIO(big)).width > 1.8 * Image.open(path).width


@needs_dot
def test_pdf_and_dot_files(tmp_path):
    L, _ = micrograd_example()
    g = viz.draw_graph(L)
    assert viz.save(g, tmp_path / "L.pdf").read_bytes().startswith(b"%PDF")
    assert viz.save(g, tmp_path / "L.dot").read_text() == g.source
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        viz.save(g, tmp_path / "L.jpeg")


@needs_dot
def test_names_with_html_characters_are_escaped(tmp_path):
    a = tl.Tensor(1.0, requires_grad=True, name="<b> & \"x\"")
    svg = viz.save(viz.draw_graph(a * 2.0), tmp_path / "esc.svg")
    assert "&lt;b&gt; &amp;" in svg.read_text()
    ET.parse(svg)


def test_without_dot_the_source_is_still_there_and_rendering_says_how_to_install(
        tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))   # no `dot` anywhere on it
    assert not viz.dot_available()
    L, _ = micrograd_example()
    g = viz.draw_graph(L)
    assert isinstance(g, graphviz.Digraph) and g.source.startswith("digraph")
    for name in ("L.svg", "L.png", "L.pdf"):
        with pytest.raises(viz.GraphvizNotFoundError) as err:
            viz.save(g, tmp_path / name)
        for hint in ("apt-get install graphviz", "brew install graphviz", "conda install"):
            assert hint in str(err.value)
        assert not (tmp_path / name).exists()
    assert viz.save(g, tmp_path / "L.dot").read_text() == g.source


# ---------------------------------------------------------------------------
# Jupyter
# ---------------------------------------------------------------------------
def test_tensor_graph_is_draw_graph():
    L, _ = micrograd_example()
    g = L.graph(show=("value",))
    assert isinstance(g, graphviz.Digraph) and "data -8.0000" in g.source


@needs_dot
def test_tensors_and_digraphs_display_inline_as_svg():
    L, _ = micrograd_example()
    svg = L._repr_svg_()
    assert svg is not None and "<svg" in svg
    assert "image/svg+xml" in viz.draw_graph(L)._repr_mimebundle_()


# ---------------------------------------------------------------------------
# The guide's examples run as written
# ---------------------------------------------------------------------------
@needs_dot
def test_the_graph_guide_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "graph.md").read_text(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)   # the examples write pictures into the current folder
    namespace = {"__name__": "docs_example"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"graph.md [block {i + 1}]", "exec"), namespace)
