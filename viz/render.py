"""Turn a graphviz Digraph into files: SVG, PNG, PDF (these need Graphviz's ``dot``) or DOT.

The ``graphviz`` Python package only writes DOT text; the pictures are drawn by
the separate Graphviz program ``dot``. Without it, :func:`draw_graph` still
works (``graph.source`` is the DOT text, and ``save(graph, "g.dot")`` writes
it), and rendering raises :class:`GraphvizNotFoundError` saying how to install it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import graphviz

from tinygrad_lab.files import write_atomic

__all__ = ["save", "render", "dot_available", "GraphvizNotFoundError", "INSTALL_HINT", "FORMATS"]

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = (
    "Rendering needs the Graphviz program `dot`, which was not found on your PATH (the "
    "Python package `graphviz` only writes the DOT text). Install Graphviz:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz\n"
    "  Windows:        winget install graphviz (then reopen the terminal)\n"
    "Meanwhile you can save the DOT source with save(graph, 'graph.dot') (or "
    "`--format dot`) and paste it into any online Graphviz viewer.")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is missing, so a graph cannot be turned into a picture."""


def dot_available() -> bool:
    """True if the Graphviz ``dot`` program can be found on the PATH."""
    return shutil.which("dot") is not None


def render(graph: graphviz.Digraph, format: str = "svg", dpi: float | None = None) -> bytes:
    """The picture as bytes (``format`` "svg", "png" or "pdf"; "dot" gives the source)."""
    format = format.lower()
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "dot":
        return graph.source.encode("utf-8")
    if dpi is not None:
        graph = graph.copy()
        graph.attr(dpi=str(dpi))
    try:
        return graph.pipe(format=format)
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(INSTALL_HINT) from err


def save(graph: graphviz.Digraph, path, format: str | None = None, dpi: float | None = None
         ) -> Path:
    """Write ``graph`` to ``path``; the format comes from the extension unless given.

    ``.svg`` for the web and docs, ``.png`` for slides (``dpi`` sets the
    resolution, 96 by default), ``.pdf`` for print, ``.dot``/``.gv`` for the
    DOT text (no Graphviz program needed). Returns the path written.
    """
    path = Path(path)
    if format is None:
        ext = path.suffix.lower().lstrip(".")
        format = "dot" if ext == "gv" else ext
        if format not in FORMATS:
            raise ValueError(f"save: cannot tell the format from {path.name!r}; use a name "
                             f"ending in .svg, .png, .pdf or .dot, or pass format=")
    # Written beside the target, then renamed: a failed write never leaves half a picture.
    return write_atomic(path, render(graph, format, dpi=dpi))
