"""The assignment's nets, built from tinygrad_lab's ops, and its hand-written NumPy reference."""
from .assignment import AssignmentMLP, ACTIVATIONS
from . import handwritten

__all__ = ["AssignmentMLP", "ACTIVATIONS", "handwritten"]
