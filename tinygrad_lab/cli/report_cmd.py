"""``tinygrad-lab report RUN_DIR``: one HTML page (and a Markdown twin) about a finished run."""
from __future__ import annotations

from .experiment import load_run


def add_parser(sub):
    p = sub.add_parser("report", help="write report.html and report.md for a run folder",
                       description="Draw the run's curves, the assignment's panels (if it was "
                                   "trained with --record), t-SNE and the confusion matrix on "
                                   "the test set, with plain-language findings, into one "
                                   "self-contained HTML page that opens offline.")
    p.add_argument("run_dir", help="a run folder written by `tinygrad-lab train`")
    p.add_argument("--out", help="where to write the report (default: the run folder)")
    p.add_argument("--tsne-layer", type=int,
                   help="layer N (as numbered in the pictures: 1 is the first) for the t-SNE; "
                        "default: the last hidden layer")
    p.add_argument("--max-points", type=int, default=1000,
                   help="at most this many test examples in the t-SNE (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the t-SNE and its sample")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """Rebuild the model and test set from the run folder, then write the report."""
    from viz.report import FIGURES_DIR, write_report  # imported late: matplotlib is slow

    if args.max_points < 3:
        raise ValueError(f"--max-points must be at least 3, got {args.max_points}")
    config, model, _, test = load_run(args.run_dir)
    n_layers = len(config.hidden) + 1
    if args.tsne_layer is not None and not 1 <= args.tsne_layer <= n_layers:
        raise ValueError(f"--tsne-layer must be between 1 and {n_layers} for this net, "
                         f"got {args.tsne_layer}")
    layer = args.tsne_layer - 1 if args.tsne_layer is not None else None
    paths = write_report(args.run_dir, model=model, test_data=test, out_dir=args.out,
                         tsne_layer=layer, max_points=args.max_points, seed=args.seed)
    print(f"report: {paths.html}  ({len(paths.figures)} pictures embedded; opens offline)")
    print(f"markdown: {paths.markdown}  (pictures in {paths.markdown.parent / FIGURES_DIR})")
    return 0
