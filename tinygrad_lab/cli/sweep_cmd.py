"""``tinygrad-lab sweep``: one training run per value, several at a time, compared in one picture.

    tinygrad-lab sweep --set lr=1e-6,5e-6,1e-5,2e-5,1e-4 --out sweeps/lr \\
        --activation sigmoid --loss sse --optimizer sgd --batch-size full --iterations 200
    tinygrad-lab sweep --set lr=1e-5,2e-5 --set k=0.5,1,2 --base runs/best/config.json --out sweeps/lr-k

The base config comes from ``--base`` (a config.json or a run folder), then any of
``train``'s options given here on top. ``--set FIELD=V1,V2,...`` sweeps any RunConfig
field; two ``--set`` make a grid. Started again with the same ``--out``, a sweep
skips the runs already finished. Exit code 0 when every run finished (diverged
counts as finished), 1 when a run failed, 2 for a bad field or value.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from . import UsageError
from . import train_cmd
from .experiment import RunConfig
from .sweep import parse_set, plan_sweep, run_sweep


class _TrainOptions:
    """Stands in for argparse's subparsers, so that ``train``'s add_parser hands us its options.

    The sweep then offers exactly the options of ``train`` (one definition, same help).
    """

    def add_parser(self, name, **kwargs):
        self.parser = argparse.ArgumentParser(add_help=False)
        return self.parser


def _train_option_parser():
    collector = _TrainOptions()
    train_cmd.add_parser(collector)
    parser = collector.parser
    for action in parser._actions:
        # SUPPRESS: an option not given leaves no attribute, so we can tell which were given
        # and lay only those over the --base config.
        action.default = argparse.SUPPRESS
    return parser


_TRAIN_DESTS = [a.dest for a in _train_option_parser()._actions]


def add_parser(sub):
    p = sub.add_parser(
        "sweep", parents=[_train_option_parser()], conflict_handler="resolve",
        help="train one run per value of a config field and compare them",
        description="Train one run per value (two --set: per pair), several at a time, then "
                    "write overlaid loss/accuracy curves (curves.png) and a summary table "
                    "(summary.csv, summary.md). The training options are those of `train`.")
    p.add_argument("--set", dest="sets", action="append", required=True, metavar="FIELD=V1,V2",
                   help="a config field and its values, e.g. lr=1e-6,1e-5,1e-4 (hidden: 64-32); "
                        "give it twice for a grid")
    p.add_argument("--base", help="a config.json (or a run folder) to start from")
    p.add_argument("--out", required=True,
                   help="the sweep folder; run it again with the same folder to resume")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"runs at a time, one process each (default: one per core, "
                        f"{os.cpu_count()} here)")
    p.add_argument("--target", type=float, default=0.9,
                   help="validation accuracy whose first iteration the summary reports "
                        "(default 0.9)")
    p.set_defaults(func=run_sweep_cmd)
    return p


def base_config(args) -> RunConfig:
    """The --base config with the train options given on the command line laid over it."""
    config = _load_base(args.base) if args.base else RunConfig()
    given = {dest: getattr(args, dest) for dest in _TRAIN_DESTS if hasattr(args, dest)}
    given.pop("out", None)
    given.pop("record", None)
    given.pop("no_progress", None)
    if not given:
        return config
    as_options = {**config.to_dict(), "hidden": ",".join(str(h) for h in config.hidden),
                  "no_bias": not config.bias, "batch_size": str(config.batch_size)}
    from_options = train_cmd.config_from_args(argparse.Namespace(**{**as_options, **given}))
    # Keep every field train's options do not cover (and those not given) from the base.
    changed = {k: v for k, v in from_options.to_dict().items() if v != config.to_dict()[k]}
    return config.replace(**changed)


def _load_base(path) -> RunConfig:
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"--base: no config file at {path}")
    try:
        data = json.loads(path.read_text())
    except ValueError as err:
        raise UsageError(f"--base: {path} is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--base: {path} should hold a JSON object of config fields")
    return RunConfig.from_dict(data)


def parse_grid(sets) -> dict:
    grid = {}
    for text in sets:
        name, values = parse_set(text)
        if name in grid:
            raise UsageError(f"--set {name} is given twice; list all its values in one --set")
        grid[name] = values
    return grid


def run_sweep_cmd(args) -> int:
    grid = parse_grid(args.sets)
    base = base_config(args)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if not 0 < args.target <= 1:
        raise UsageError(f"--target is a validation accuracy in (0, 1], got {args.target}")
    plan_sweep(base, grid)  # a bad field or value fails here, before anything is written
    shape = " × ".join(f"{name} ({len(v)})" for name, v in grid.items())
    print(f"sweep over {shape} on {base.dataset} → {args.out}")

    def report(run, outcome):
        from tqdm import tqdm  # write() prints above the progress bar instead of through it
        summary = outcome.get("summary") or {}
        if outcome["status"] == "failed":
            line = f"FAILED: {outcome['error']}"
        elif outcome["status"] == "diverged":
            line = f"diverged at iteration {summary.get('iterations', 0) + 1}"
        else:
            line = (f"best val accuracy {summary.get('best_val_accuracy', float('nan')):.1%}, "
                    f"{summary['iterations']} iterations in {summary['train_seconds']:.1f} s")
        tqdm.write(f"  {run.name}: {line}")

    result = run_sweep(base, grid, args.out, jobs=args.jobs, target=args.target,
                       record=getattr(args, "record", False),
                       progress=False if getattr(args, "no_progress", False) else None,
                       on_result=report)
    if result.skipped:
        print(f"skipped {len(result.skipped)} finished run(s): {', '.join(result.skipped)}")
    print((Path(args.out) / "summary.md").read_text().rstrip())
    print(f"\ncurves: {Path(args.out) / 'curves.png'}   table: {Path(args.out) / 'summary.csv'}")
    return 1 if result.failed else 0
