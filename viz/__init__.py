"""Pictures of what tinygrad-lab computes.

Computation graphs and backprop step by step::

    import viz
    g = viz.draw_graph(loss)                 # a graphviz.Digraph; shows inline in Jupyter
    viz.save(g, "loss.svg")                  # or .png / .pdf / .dot
    viz.backward_frames(loss, "frames")      # one PNG per backward step + backprop.gif

``loss.graph()`` is the same as ``viz.draw_graph(loss)``.
"""
from .backprop import BackwardAnimation, BackwardStep, backward_frames, backward_steps
from .graph import draw_graph
from .render import GraphvizNotFoundError, dot_available, render, save
from .tracing import GraphFreedError, record_backward, trace_graph

__all__ = ["draw_graph", "save", "render", "dot_available", "backward_frames", "backward_steps",
           "BackwardStep", "BackwardAnimation", "record_backward", "trace_graph",
           "GraphvizNotFoundError", "GraphFreedError"]
