"""``tinygrad-lab train``: train a net from command-line options and write a run folder."""
from __future__ import annotations

import datetime
from pathlib import Path

from ..train import TrainingDiverged
from .experiment import DATASETS, RunConfig, run

_DEFAULT = RunConfig()


def add_parser(sub):
    p = sub.add_parser("train", help="train a net and write a run folder",
                       description="Train the assignment's MLP (or a variant). With no "
                                   "arguments: the embedded digits data set, in seconds.")
    p.add_argument("--dataset", choices=DATASETS, default=_DEFAULT.dataset)
    p.add_argument("--data-dir", help="folder holding the IDX files (mnist / fashion-mnist)")
    p.add_argument("--train-limit", type=int, help="use only the first N training examples")
    p.add_argument("--hidden", default="256,128",
                   help="hidden layer widths, comma-separated (default 256,128)")
    p.add_argument("--activation", default=_DEFAULT.activation,
                   choices=("sigmoid", "tanh", "relu", "relu6", "leaky_relu"))
    p.add_argument("--k", type=float, default=_DEFAULT.k, help="steepness of sigmoid(kx)/tanh(kx)")
    p.add_argument("--init", default=_DEFAULT.init,
                   help="uniform | normal | he | he_uniform | xavier | xavier_uniform")
    p.add_argument("--no-bias", action="store_true", help="no bias (as in the assignment)")
    p.add_argument("--loss", default=_DEFAULT.loss, choices=("ce", "mse", "sse"))
    p.add_argument("--optimizer", default=_DEFAULT.optimizer,
                   choices=("sgd", "adam", "adamw", "rmsprop"))
    p.add_argument("--lr", type=float, default=_DEFAULT.lr)
    p.add_argument("--momentum", type=float, default=0.0)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", default=_DEFAULT.schedule,
                   choices=("constant", "cosine", "step", "exponential"))
    p.add_argument("--warmup", type=int, default=0, help="linear warmup steps")
    p.add_argument("--epochs", type=int, default=_DEFAULT.epochs)
    p.add_argument("--iterations", type=int, help="train this many steps (overrides --epochs)")
    p.add_argument("--batch-size", default=str(_DEFAULT.batch_size),
                   help="examples per step, or 'full' for the whole training set")
    p.add_argument("--val-fraction", type=float, default=_DEFAULT.val_fraction)
    p.add_argument("--eval-every", type=int, help="also evaluate every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="run folder (default runs/<dataset>-<time>)")
    p.add_argument("--record", action="store_true",
                   help="record activations, weights and updates for the pictures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)
    return p


def config_from_args(args) -> RunConfig:
    try:
        hidden = tuple(int(h) for h in str(args.hidden).split(",") if h.strip())
    except ValueError:
        raise ValueError(f"--hidden takes comma-separated widths like 256,128, got "
                         f"{args.hidden!r}") from None
    batch = args.batch_size if args.batch_size == "full" else _positive_int("--batch-size",
                                                                            args.batch_size)
    return RunConfig(dataset=args.dataset, data_dir=args.data_dir, train_limit=args.train_limit,
                     hidden=hidden, activation=args.activation, k=args.k, init=args.init,
                     bias=not args.no_bias, loss=args.loss, optimizer=args.optimizer, lr=args.lr,
                     momentum=args.momentum, weight_decay=args.weight_decay,
                     schedule=args.schedule, warmup=args.warmup, epochs=args.epochs,
                     iterations=args.iterations, batch_size=batch,
                     val_fraction=args.val_fraction, eval_every=args.eval_every, seed=args.seed)


def _positive_int(flag, text):
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{flag} takes a positive integer or 'full', got {text!r}") from None
    if value <= 0:
        raise ValueError(f"{flag} must be positive, got {value}")
    return value


def run_train(args) -> int:
    config = config_from_args(args)
    out = Path(args.out or f"runs/{config.dataset}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    callbacks = []
    if args.record:
        from viz.record import Recorder
        callbacks.append(Recorder(out))
    print(f"training on {config.dataset}: {config.activation} net {config.hidden}, "
          f"{config.optimizer} lr={config.lr:g}, loss={config.loss} → {out}")
    try:
        _, history, summary = run(config, out, callbacks=callbacks,
                                  progress=None if not args.no_progress else False)
    except TrainingDiverged as err:
        print(f"tinygrad-lab train: {err}")
        return 1
    print(f"done in {summary['train_seconds']:.1f} s, {summary['iterations']} steps: "
          f"final loss {summary['final_loss']:.4f}, validation accuracy "
          f"{summary.get('final_val_accuracy', float('nan')):.2%}, "
          f"test accuracy {summary['test_accuracy']:.2%}")
    print(f"run folder: {out}  (tinygrad-lab evaluate {out})")
    return 0
