"""Write docs/assignment.ipynb: the assignment's study through the Python API.

    python docs/make_assignment_notebook.py      # rewrites docs/assignment.ipynb

The notebook is kept as source here (cells as plain strings) so that a change to
it is a readable diff; tests/test_notebook.py executes the generated notebook.
It is small on purpose: digits, a few dozen iterations per run, so that it runs
in CI in well under a minute. `tinygrad-lab assignment` does the full study.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    ("md", """\
# The assignment with tinygrad-lab, in a notebook

The assignment studies a 784-256-128-10 sigmoid MLP trained full-batch with
`lr = 1e-5`, weights uniform in [−1, 1], no bias and the loss ½Σ(L3 − T)², by
changing **one thing at a time**: the learning rate, the sigmoid's steepness `k`,
the initialization, the activation and loss, and finally all improvements together.

This notebook does each step with the library's Python API, on the small
`digits` data set (8×8 images, so the net is 64-256-128-10) and few iterations so
that it runs in seconds. The same study at full size is one command:

```
tinygrad-lab assignment --dataset digits --out study/
```

(see `docs/assignment.md`). Every number printed below is measured when the
notebook runs; nothing is typed in by hand."""),
    ("code", """\
%matplotlib inline
import re
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import tinygrad_lab as tl
from tinygrad_lab.cli.experiment import RunConfig, load_data, run
from tinygrad_lab.cli.study import base_learning_rate
from viz.record import Recorder
from viz.plot_panel import panel_figure
from viz.plot_training import curves_figure, histograms_figure, unit_health_figure
from viz.plot_eval import confusion_figure, tsne_figure

ITERATIONS = 60                                   # the assignment uses 200; 60 keeps this quick
RUNS = Path(tempfile.mkdtemp(prefix="assignment-runs-"))   # one folder per run"""),
    ("md", """\
## The assignment's set-up as a `RunConfig`

The assignment's learning rate 1e-5 multiplies a gradient **summed** over all
60000 MNIST images. `digits` has far fewer training images, so the same step
size needs a larger learning rate: `1e-5 × 60000 / N`."""),
    ("code", """\
probe = RunConfig(dataset="digits")
data = load_data(probe)                           # (train, validation, test), fixed by the seed
train, val, test = data
BASE_LR = base_learning_rate(len(train))
ASSIGNMENT = RunConfig(dataset="digits", activation="sigmoid", init="uniform", bias=False,
                       loss="sse", optimizer="sgd", lr=BASE_LR, schedule="constant",
                       epochs=None, iterations=ITERATIONS, batch_size="full")
print(f"{len(train)} training images → base lr = 1e-5 × 60000 / {len(train)} = {BASE_LR:.3g}")"""),
    ("code", """\
def train_run(name, **changes):
    \"\"\"Train the assignment's net with some fields changed; keep its history and records.\"\"\"
    config = ASSIGNMENT.replace(**changes)
    folder = RUNS / re.sub(r"[^A-Za-z0-9.=-]+", "_", name)
    recorder = Recorder(folder, every=max(1, config.iterations // 10))
    model, history, summary = run(config, folder, callbacks=[recorder], progress=False,
                                  data=data)
    return {"name": name, "config": config, "model": model, "history": history,
            "summary": summary, "records": recorder.records}


def compare(runs, title):
    \"\"\"Loss and validation accuracy of several runs, overlaid.\"\"\"
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4))
    for r in runs:
        h = r["history"]
        loss = np.asarray(h.loss) / h.loss[0]     # different losses: compare each to its start
        ax_loss.plot(h.iteration, loss, label=r["name"])
        ax_acc.plot(h.eval_iteration, h.val_accuracy, label=r["name"])
    ax_loss.set(yscale="log", xlabel="iteration", ylabel="loss ÷ loss at iteration 1")
    ax_acc.set(ylim=(0, 1), xlabel="iteration", ylabel="validation accuracy")
    ax_acc.legend(loc="center left", bbox_to_anchor=(1, 0.5))
    fig.suptitle(title)
    plt.show()


def best_of(runs):
    \"\"\"The run with the highest validation accuracy at its last iteration.\"\"\"
    return max(runs, key=lambda r: r["history"].val_accuracy[-1])"""),
    ("md", """\
## 1. Learning rate

Five runs: the base learning rate × 1/10, 1/2, 1, 2 and 10."""),
    ("code", """\
lr_runs = [train_run(f"lr x{f:g}", lr=BASE_LR * f) for f in (0.1, 0.5, 1, 2, 10)]
compare(lr_runs, "Learning rate")
best = best_of(lr_runs)
for r in lr_runs:
    print(f"{r['name']:>8}: lr {r['config'].lr:.2e} → {r['history'].val_accuracy[-1]:.1%} "
          f"validation accuracy at iteration {ITERATIONS}")
print(f"best learning rate: {best['config'].lr:.2e} ({best['name']}), "
      f"{best['history'].val_accuracy[-1]:.1%}")"""),
    ("md", """\
The assignment's panel for the best run: mean activation of each unit (top),
weights (middle; layer 1 as one 8×8 tile per unit) and this step's update ΔW
(bottom). A good learning rate makes ΔW small next to W, but not zero."""),
    ("code", """\
panel_figure(best["records"])"""),
    ("md", """\
## 2. Sigmoid steepness k

`σ(kx) = 1/(1 + e^(−kx))`. Written like that, NumPy warns "overflow encountered in
exp" wherever `k·x < −88.7` (e^(−kx) is then larger than the largest float32),
although 1/(1 + ∞) = 0 is the right value. The library's sigmoid gives the same
values without the warnings; count them:"""),
    ("code", """\
def values_and_warnings(compute):
    \"\"\"Run ``compute()`` and return its result and the RuntimeWarnings it raised.\"\"\"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        values = compute()
    return values, [w for w in caught if issubclass(w.category, RuntimeWarning)]


x = np.array([-200.0, -5.0, 0.0, 5.0, 200.0], dtype=np.float32)
k = 10.0
library, library_warnings = values_and_warnings(lambda: tl.sigmoid(tl.Tensor(x), k=k).data)
naive, naive_warnings = values_and_warnings(lambda: 1.0 / (1.0 + np.exp(-(k * x))))
print(f"library sigmoid: {library} → {len(library_warnings)} overflow warnings")
print(f"naive formula:   {naive} → {len(naive_warnings)} RuntimeWarning(s):",
      *{str(w.message) for w in naive_warnings})
print("same values:", np.allclose(library, naive))"""),
    ("code", """\
k_runs = [train_run(f"k={k:g}", k=k) for k in (0.5, 1.0, 10.0)]
compare(k_runs, "Sigmoid steepness k at the base learning rate")
for r in k_runs:
    flat = r["records"].get(0, "saturation")[-1]   # outputs below 0.01 or above 0.99
    print(f"{r['name']:>6}: {r['history'].val_accuracy[-1]:.1%} validation accuracy, "
          f"{flat:.1%} of layer-1 outputs on a flat end of the sigmoid")"""),
    ("md", """\
## 3. Initialization

How the weights start decides how the first layer's outputs are spread before any
learning: the histograms show it (grey: first iteration, colour: last)."""),
    ("code", """\
init_runs = [train_run(name, init=name) for name in ("uniform", "normal", "he")]
compare(init_runs, "Initialization")
for r in init_runs:
    first = r["records"].get(0, "act_sample")[0]
    print(f"{r['name']:>8}: {r['history'].val_accuracy[-1]:.1%}; layer-1 outputs at the first "
          f"iteration have std {np.nanstd(first):.2f}")
histograms_figure(init_runs[0]["records"])"""),
    ("code", """\
histograms_figure(init_runs[2]["records"])"""),
    ("md", """\
## 4. Tanh, cross-entropy, ReLU and ReLU6

Cross-entropy is averaged over the batch (as in PyTorch), so its learning rate is
N times the summed loss's to take the same size steps. The ReLU runs use He
initialization and cross-entropy (raw scores at the output: under ½Σ(y−t)² the
output units would be ReLUs too, and die)."""),
    ("code", """\
CE_LR = BASE_LR * len(train)
act_runs = [train_run("sigmoid + ½Σ(y−t)²"),
            train_run("tanh + ½Σ(y−t)²", activation="tanh"),
            train_run("sigmoid + cross-entropy", loss="ce", lr=CE_LR),
            train_run("relu + cross-entropy", activation="relu", init="he", loss="ce", lr=CE_LR),
            train_run("relu6 + cross-entropy", activation="relu6", init="he", loss="ce",
                      lr=CE_LR)]
compare(act_runs, "Activations and losses")
for r in act_runs:
    line = f"{r['name']:>24}: {r['history'].val_accuracy[-1]:.1%}"
    if r["config"].activation.startswith("relu"):
        dead = [int(round(r["records"].get(layer, "dead")[-1] * info.n_out))
                for layer, info in enumerate(r["records"].layers[:-1])]
        line += f"; dead units per hidden layer: {dead}"
    print(line)"""),
    ("code", """\
unit_health_figure(act_runs[3]["records"])"""),
    ("md", """\
## 5. Everything together, with a cosine learning rate

The best of the runs above, trained longer, with the learning rate following half
a cosine from its start value down to 0."""),
    ("code", """\
everything = act_runs + lr_runs + k_runs + init_runs
start = best_of(everything)
print(f"starting from the best run so far: {start['name']} "
      f"({start['history'].val_accuracy[-1]:.1%})")
final = train_run("final, cosine", **{**start["config"].to_dict(), "schedule": "cosine",
                                       "iterations": 3 * ITERATIONS})
loss, accuracy, predicted = tl.train.evaluate(final["model"], test, final["config"].loss)
print(f"final run: test accuracy {accuracy:.1%} after {final['config'].iterations} iterations "
      f"(the assignment's set-up: {lr_runs[2]['summary']['test_accuracy']:.1%})")
curves_figure(final["history"])"""),
    ("code", """\
tsne_figure(final["model"], test, max_points=300)"""),
    ("code", """\
confusion_figure(test.y, predicted, test.classes)"""),
    ("md", """\
## Where to go next

* `tinygrad-lab assignment --dataset digits --out study/` runs the full study
  (200 iterations per run, every value of the assignment, in parallel) and writes
  one HTML report with the findings measured in that run.
* `tinygrad-lab check my_backprop.py` checks a hand-written `backward_pass`
  against autodiff, layer by layer.
* `viz.plot_panel.animate_panels(records, "panels.gif")` animates the panel."""),
]


def build() -> nbformat.NotebookNode:
    cells = [new_markdown_cell(text) if kind == "md" else new_code_cell(text)
             for kind, text in CELLS]
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})


if __name__ == "__main__":
    path = Path(__file__).with_name("assignment.ipynb")
    nbformat.write(build(), path)
    print(f"wrote {path}")
