"""The ``tinygrad-lab`` command: it only wires the library, the models and the pictures together.

    tinygrad-lab train [--dataset digits] [--activation relu] ... [--out runs/NAME]
    tinygrad-lab evaluate runs/NAME
    tinygrad-lab graph --expr "tanh(w1*x1 + w2*x2 + b)"

Every subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> exit code``. Bad arguments get a one-line message, never a traceback
(set the environment variable TINYGRAD_LAB_DEBUG=1 to get the traceback instead).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# subcommand name -> module (in this package, or a dotted path) defining add_parser and run
SUBCOMMANDS = {
    "train": "tinygrad_lab.cli.train_cmd",
    "evaluate": "tinygrad_lab.cli.evaluate_cmd",
    "graph": "viz.cli_graph",
    "assignment": "tinygrad_lab.cli.assignment_cmd",
    "sweep": "tinygrad_lab.cli.sweep_cmd",
    "check": "tinygrad_lab.cli.check_cmd",
    "report": "tinygrad_lab.cli.report_cmd",
}


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (argparse prints the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(
        prog="tinygrad-lab",
        description="Train, look inside and compare small neural nets.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # a subcommand whose module is not installed is simply not offered
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UsageError, ValueError, TypeError, FileNotFoundError) as err:
        if os.environ.get("TINYGRAD_LAB_DEBUG"):
            raise  # a developer chasing a bug wants the traceback, not the one line
        # One line; TINYGRAD_LAB_DEBUG=1 shows the traceback instead.
        print(f"tinygrad-lab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
