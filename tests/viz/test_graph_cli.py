"""`tinygrad-lab graph` and the small expression language it draws (parsed with ast, never eval)."""
import argparse
import shutil
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from tinygrad_lab.cli import main
from viz import cli_graph
from viz.expr import ExpressionError, parse_expression, parse_values

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
NEURON = "tanh(w1*x1 + w2*x2 + b)"
MICROGRAD = "w1=-3,x1=2,w2=1,x2=0,b=6.8813735870195432"


# ---------------------------------------------------------------------------
# The expression language
# ---------------------------------------------------------------------------
def test_names_become_named_scalar_tensors_and_the_result_is_out():
    out, variables = parse_expression(NEURON, parse_values(MICROGRAD))
    assert list(variables) == ["w1", "x1", "w2", "x2", "b"]   # in order of appearance
    assert all(v.ndim == 0 and v.requires_grad and v.name == n for n, v in variables.items())
    assert out.name == "out" and out.item() == pytest.approx(0.7071, abs=1e-4)
    out.backward()
    assert variables["w1"].grad.item() == pytest.approx(1.0, abs=1e-3)
    assert variables["x1"].grad.item() == pytest.approx(-1.5, abs=1e-3)


def test_sub_expressions_name_the_intermediate_tensors():
    out, _ = parse_expression("(a*b + c)*f", {"a": 2, "b": -3, "c": 10, "f": -2})
    parents = out._ctx.parents
    assert parents[0].name == "a*b + c" and parents[0]._ctx.parents[0].name == "a*b"
    assert out.item() == -8.0


def test_missing_values_are_random_but_seeded_and_readable():
    a, va = parse_expression("x*y + z", seed=3)
    b, vb = parse_expression("x*y + z", seed=3)
    c, vc = parse_expression("x*y + z", seed=4)
    assert [v.item() for v in va.values()] == [v.item() for v in vb.values()]
    assert [v.item() for v in va.values()] != [v.item() for v in vc.values()]
    assert all(-1 <= v.item() <= 1 and round(v.item(), 2) == pytest.approx(v.item())
               for v in va.values())


def test_functions_operators_and_the_steepness_argument():
    out, v = parse_expression("sigmoid(x, 2) + relu(-x) ** 2 / max(x, 1) - exp(log(sqrt(abs(x))))",
                              {"x": 0.5})
    x = 0.5
    expected = 1 / (1 + np.exp(-2 * x)) + 0 - np.sqrt(x)
    assert out.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('ls')", "not allowed"),
    ("__import__('os')", "'__import__' is not allowed"),
    ("open('/etc/passwd')", "'open' is not allowed"),
    ("x.__class__", "Attribute is not allowed"),
    ("(lambda: 1)()", "not allowed"),
    ("x[0]", "Subscript is not allowed"),
    ("'text' * x", "only numbers"),
    ("x if y else z", "IfExp is not allowed"),
    ("x < y", "Compare is not allowed"),
    ("x and y", "BoolOp is not allowed"),
    ("x @ y", "MatMult is not allowed"),
    ("[x for x in y]", "ListComp is not allowed"),
    ("_x + 1", "not allowed"),
    ("tanh + x", "tanh is a function"),
    ("tanh(x, k=2)", "keyword"),
    ("sigmoid(x, y)", "must be a number"),
    ("tanh()", "takes"),
    ("2 + 3", "no variables"),
    ("x +", "cannot parse"),
    ("", "empty"),
    ("x" + " + x" * 200, "characters long"),
])
def test_everything_else_is_rejected_with_a_reason(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_huge_constant_powers_do_not_hang():
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match="inf"):
        parse_expression("9**9**9**9 * x", {"x": 1.0})
    assert time.perf_counter() - start < 5  # would run "forever" with Python integers


def test_bad_values():
    with pytest.raises(ExpressionError, match="name=number"):
        parse_values("w1:3")
    with pytest.raises(ExpressionError, match="not a number"):
        parse_values("w1=three")
    with pytest.raises(ExpressionError, match="does not use"):
        parse_expression("x*2", {"y": 1.0})
    with pytest.raises(ExpressionError, match="-inf"):
        parse_expression("log(x)", {"x": 0.0})


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------
@needs_dot
def test_graph_expr_writes_an_svg(tmp_path, capsys):
    out = tmp_path / "neuron.svg"
    assert main(["graph", "--expr", NEURON, "--values", MICROGRAD, "--out", str(out)]) == 0
    svg = out.read_text()
    ET.fromstring(svg)
    assert "out = tanh(w1*x1 + w2*x2 + b)" in svg and "0.7071" in svg
    assert f"wrote {out}" in capsys.readouterr().out


@needs_dot
def test_graph_expr_png_and_backward_frames(tmp_path):
    out = tmp_path / "g.png"
    frames = tmp_path / "frames"
    assert main(["graph", "--expr", "(a*b + c)*f", "--format", "png", "--out", str(out),
                 "--frames", str(frames)]) == 0
    with Image.open(out) as im:
        assert im.format == "PNG"
    assert len(list(frames.glob("step_*.png"))) == 7 + 1   # a b c f a*b a*b+c out, + start
    assert (frames / "backprop.gif").exists()


@needs_dot
def test_graph_model_assignment_mlp(tmp_path):
    out = tmp_path / "graph.svg"
    assert main(["graph", "--model", "assignment-mlp", "--format", "svg", "--out", str(out),
                 "--batch-size", "4"]) == 0
    svg = out.read_text()
    ET.fromstring(svg)
    for text in ("fc1.weight", "(256, 784) float32", "fc3.weight", "MSELoss", "AssignmentMLP"):
        assert text in svg
    assert main(["graph", "--model", "assignment-mlp", "--loss", "ce", "--out",
                 str(tmp_path / "ce.svg"), "--batch-size", "4"]) == 0
    assert "CrossEntropy" in (tmp_path / "ce.svg").read_text()


def test_format_dot_needs_no_graphviz_and_the_others_say_how_to_install(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    dot = tmp_path / "g.dot"
    assert main(["graph", "--expr", "x*y", "--out", str(dot)]) == 0
    assert dot.read_text().startswith("digraph")
    assert main(["graph", "--expr", "x*y", "--out", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "--format dot" in err


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["graph", "--expr", "__import__('os')", "--out", str(tmp_path / "g.dot")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not allowed" in err
    assert not (tmp_path / "g.dot").exists()
    with pytest.raises(SystemExit):   # argparse: --expr or --model is required
        main(["graph"])


def test_the_parser_functions_the_main_command_calls(tmp_path):
    parser = argparse.ArgumentParser()
    cli_graph.add_graph_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["graph", "--expr", "a*b", "--format", "dot", "--out",
                              str(tmp_path / "x.dot")])
    assert args.func is cli_graph.run and cli_graph.run_graph(args) == 0
    assert (tmp_path / "x.dot").exists()
