"""``tinygrad-lab graph``: draw a computation graph from the command line.

    tinygrad-lab graph --expr "tanh(w1*x1 + w2*x2 + b)"                  # graph.svg
    tinygrad-lab graph --expr "tanh(w1*x1 + w2*x2 + b)" --values w1=0.5,x1=2 --format png
    tinygrad-lab graph --expr "(a*b + c)*f" --frames backprop/           # + one PNG per step, GIF
    tinygrad-lab graph --model assignment-mlp --format svg --out graph.svg

The main command (``tinygrad_lab.cli``) calls :func:`add_parser` and :func:`run`
(also available as ``add_graph_parser`` / ``run_graph``).
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "run", "add_graph_parser", "run_graph", "build_model_graph_inputs"]

MODELS = ("assignment-mlp",)
FORMATS = ("svg", "png", "pdf", "dot")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``graph`` subcommand to ``subparsers`` (from ``parser.add_subparsers()``)."""
    p = subparsers.add_parser(
        "graph", help="draw a computation graph (an expression or the assignment's MLP)",
        description="Draw the computation graph of a small expression or of the assignment's "
                    "MLP with its loss: values, gradients, op formulas and derivatives.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--expr", metavar="TEXT",
                      help='an expression of named scalars, e.g. "tanh(w1*x1 + w2*x2 + b)"; '
                           "functions: tanh sigmoid relu relu6 leaky_relu softplus exp log sqrt "
                           "abs max min")
    what.add_argument("--model", choices=MODELS, help="a model to draw with its loss")
    p.add_argument("--values", metavar="NAME=NUM,...",
                   help="values for the expression's names (the others are random in [-1, 1])")
    p.add_argument("--seed", type=int, default=0, help="seed for random values and weights")
    p.add_argument("--out", metavar="PATH", help="output file (default graph.FORMAT)")
    p.add_argument("--format", choices=FORMATS,
                   help="svg, png, pdf or dot (default: from --out's extension, else svg)")
    p.add_argument("--rankdir", choices=("LR", "TB"),
                   help="data flowing left to right or top to bottom (default LR for an "
                        "expression, TB for a model)")
    p.add_argument("--show", default="shape,value,grad",
                   help="what tensor boxes show: any of shape,value,grad (default all)")
    p.add_argument("--color-by-grad", action="store_true",
                   help="fill tensors by gradient magnitude (log scale)")
    p.add_argument("--no-formulas", action="store_true", help="op names only, no formulas")
    p.add_argument("--max-nodes", type=int, default=500, help="cut bigger graphs (default 500)")
    p.add_argument("--frames", metavar="DIR",
                   help="also write one PNG per backward step and backprop.gif into DIR")
    model = p.add_argument_group("--model options")
    model.add_argument("--batch-size", type=int, default=32, help="rows of the random batch")
    model.add_argument("--loss", choices=("mse", "ce"), default="mse",
                       help="mse on sigmoid outputs (the assignment) or softmax cross-entropy")
    model.add_argument("--activation", default="sigmoid", help="hidden activation")
    model.add_argument("--k", type=float, default=1.0, help="steepness of sigmoid/tanh")
    model.add_argument("--init", default="uniform", help="weight initialization")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """Draw what ``args`` asks for; return the exit code (0 ok, 1 no Graphviz, 2 bad input)."""
    import viz
    from viz.expr import ExpressionError, compact, parse_expression, parse_values

    fmt, out = _output(args)
    show = tuple(s.strip() for s in args.show.split(",") if s.strip())
    try:
        if args.expr is not None:
            root, _ = parse_expression(args.expr, parse_values(args.values), seed=args.seed)
            names, rankdir = None, args.rankdir or "LR"
            title = f"out = {compact(ast.unparse(ast.parse(args.expr.strip(), mode='eval')))}"
        else:
            if args.values:
                raise ExpressionError("--values is for --expr")
            root, names = build_model_graph_inputs(args)
            rankdir, title = args.rankdir or "TB", None
        graph = viz.draw_graph(root, show=show, rankdir=rankdir, max_nodes=args.max_nodes,
                               color_by_grad=args.color_by_grad, names=names,
                               formulas=not args.no_formulas, title=title)
    except (ExpressionError, ValueError) as err:
        print(f"tinygrad-lab graph: error: {err}", file=sys.stderr)
        return 2
    try:
        viz.save(graph, out, format=fmt)
        print(f"wrote {out}")
        if args.frames:
            anim = viz.backward_frames(root, args.frames, show=show, rankdir=rankdir,
                                       names=names, formulas=not args.no_formulas,
                                       color_by_grad=args.color_by_grad, title=title)
            print(f"wrote {len(anim.frames)} backward steps and {anim.gif} into {args.frames}")
    except viz.GraphvizNotFoundError as err:
        print(f"tinygrad-lab graph: {err}", file=sys.stderr)
        return 1
    except ValueError as err:  # e.g. too many backward steps for --frames
        print(f"tinygrad-lab graph: error: {err}", file=sys.stderr)
        return 2
    return 0


def _output(args):
    """The format and path, from --format and --out (each defaulting from the other)."""
    fmt = args.format
    if args.out is None:
        fmt = fmt or "svg"
        return fmt, Path(f"graph.{fmt}")
    out = Path(args.out)
    ext = out.suffix.lower().lstrip(".")
    ext = "dot" if ext == "gv" else ext
    if fmt is None:
        fmt = ext if ext in FORMATS else "svg"
    elif ext in FORMATS and ext != fmt:
        raise SystemExit(f"tinygrad-lab graph: error: --out ends in .{ext} but --format is "
                         f"{fmt}; make them agree")
    return fmt, out


def build_model_graph_inputs(args):
    """The model's loss on a random batch, and the model (whose parameter names label the picture).

    The batch is random, seeded (``--seed``): the picture is about the
    structure, the shapes and how big the gradients are at initialization.
    """
    import tinygrad_lab as tl
    from models import AssignmentMLP  # imported here: viz must not need models otherwise

    ce = args.loss == "ce"
    model = AssignmentMLP(sizes=(784, 256, 128, 10), activation=args.activation, k=args.k,
                          init=args.init, bias=False, output_activation="none" if ce else None,
                          seed=args.seed)
    rng = np.random.default_rng(args.seed)
    x = tl.Tensor(rng.random((args.batch_size, 784), dtype=np.float32), name="x (images)")
    labels = rng.integers(0, 10, size=args.batch_size)
    out = model(x)
    loss = tl.cross_entropy(out, labels) if ce else tl.mse_loss(out, tl.one_hot(labels, 10))
    loss.name = f"loss ({args.loss})"
    return loss, model


# The names the brief for the main command uses.
add_graph_parser = add_parser
run_graph = run
