"""``tinygrad-lab evaluate RUN``: test accuracy and the confusion matrix of a finished run."""
from __future__ import annotations

import numpy as np

from ..train import evaluate
from .experiment import load_run


def add_parser(sub):
    p = sub.add_parser("evaluate", help="test accuracy and confusion matrix of a run folder")
    p.add_argument("run_dir", help="a folder written by `tinygrad-lab train --out`")
    p.set_defaults(func=run_evaluate)
    return p


def confusion_matrix(y_true, y_pred, n_classes):
    """Counts: row = true class, column = predicted class."""
    from sklearn.metrics import confusion_matrix as sk_confusion
    return sk_confusion(y_true, y_pred, labels=np.arange(n_classes))


def format_confusion(cm, classes) -> str:
    width = max(5, max(len(str(c)) for c in classes) + 1, len(str(cm.max())) + 1)
    head = "true\\pred".ljust(10) + "".join(str(c)[:width - 1].rjust(width) for c in classes)
    rows = [head]
    for name, row in zip(classes, cm):
        recall = row[list(classes).index(name)] / row.sum() if row.sum() else float("nan")
        rows.append(str(name)[:9].ljust(10) + "".join(str(v).rjust(width) for v in row)
                    + f"   recall {recall:.1%}")
    return "\n".join(rows)


def run_evaluate(args) -> int:
    config, model, _, test = load_run(args.run_dir)
    loss, accuracy, predicted = evaluate(model, test, config.loss)
    cm = confusion_matrix(test.y, predicted, test.num_classes)
    print(f"{args.run_dir}: {config.dataset} test set, {len(test)} examples")
    print(f"test accuracy {accuracy:.2%}   test loss {loss:.4f}")
    print(format_confusion(cm, test.classes))
    return 0
