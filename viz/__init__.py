"""Pictures of what tinygrad-lab computes.

Computation graphs and backprop step by step::

    import viz
    g = viz.draw_graph(loss)                 # a graphviz.Digraph; shows inline in Jupyter
    viz.save(g, "loss.svg")                  # or .png / .pdf / .dot
    viz.backward_frames(loss, "frames")      # one PNG per backward step + backprop.gif

``loss.graph()`` is the same as ``viz.draw_graph(loss)``.

Watching a net learn (these load matplotlib, so they are imported on first use)::

    fit(model, opt, train, callbacks=[viz.Recorder("runs/demo")], epochs=5)
    viz.plot_panel(viz.load_records("runs/demo"), "panel.png")
    viz.write_report("runs/demo")            # one self-contained report.html
"""
import importlib
from .backprop import BackwardAnimation, BackwardStep, backward_frames, backward_steps
from .graph import draw_graph
from .render import GraphvizNotFoundError, dot_available, render, save
from .tracing import GraphFreedError, record_backward, trace_graph

# name -> module for the training pictures, imported lazily (matplotlib is slow to import)
_LAZY = {
    "Recorder": "record", "load_records": "record",
    "plot_panel": "plots", "animate_panels": "plots", "plot_curves": "plots",
    "plot_gradient_flow": "plots", "plot_unit_health": "plots", "plot_histograms": "plots",
    "plot_tsne": "plots", "plot_confusion": "plots",
    "write_report": "report", "diagnose": "diagnostics",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'viz' has no attribute {name!r}")


__all__ = [*_LAZY, "draw_graph", "save", "render", "dot_available", "backward_frames", "backward_steps",
           "BackwardStep", "BackwardAnimation", "record_backward", "trace_graph",
           "GraphvizNotFoundError", "GraphFreedError"]
