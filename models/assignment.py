"""The assignment's 784-256-128-10 MLP: L1 = σ(W1·X), L2 = σ(W2·L1), L3 = σ(W3·L2).

The assignment writes it column-major (X is 784×N, W1 is 256×784); here it is
batch-first, x of shape (N, 784), so each layer computes x @ W.T with the same
W of shape (out, in). ``models.handwritten`` keeps the column-major NumPy
version, and the tests check that both agree.
"""
from __future__ import annotations

from tinygrad_lab import init as tl_init
from tinygrad_lab import nn

# name -> how to build the activation module
ACTIVATIONS = {
    "sigmoid": lambda k, slope: nn.Sigmoid(k),
    "tanh": lambda k, slope: nn.Tanh(k),
    "relu": lambda k, slope: nn.ReLU(),
    "relu6": lambda k, slope: nn.ReLU6(),
    "leaky_relu": lambda k, slope: nn.LeakyReLU(slope),
}


class AssignmentMLP(nn.Module):
    """The assignment's fully connected net, one ``Linear`` + activation per layer.

    ``sizes``: layer widths, input first (784, 256, 128, 10 in the assignment).
    ``activation``: "sigmoid" (σ(kx)), "tanh" (tanh(kx)), "relu", "relu6" or "leaky_relu".
    ``output_activation``: the last layer's activation; ``None`` keeps the hidden one
    (the assignment's L3 = σ(W3·L2), for MSE), ``"none"`` gives raw scores (logits) for
    softmax cross-entropy. ``init``: "uniform" (the assignment's U(−1, 1)), "normal"
    (1/√n), "he", "xavier", ... ``bias``: the assignment has none.
    ``seed``: an int or ``numpy.random.Generator``; the same seed gives the same weights.

    The layers are ``fc1, act1, fc2, act2, ...``; ``layers()`` lists them in order.
    """

    def __init__(self, sizes=(784, 256, 128, 10), activation="sigmoid", k=1.0,
                 init="uniform", bias=False, output_activation=None, slope=0.01, seed=0):
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) <= 0:
            raise ValueError(f"AssignmentMLP: sizes must be at least two positive widths "
                             f"(input, ..., output), got {sizes}")
        for name in (activation, output_activation):
            if name not in (None, "none") and name not in ACTIVATIONS:
                raise ValueError(f"AssignmentMLP: unknown activation {name!r}; choose from "
                                 f"{', '.join(ACTIVATIONS)} (or 'none' for the output)")
        self.sizes, self.activation, self.k = sizes, activation, float(k)
        self.output_activation = output_activation or activation
        self.init, self.bias = init, bool(bias)
        rng = tl_init.as_generator(seed)
        self.num_layers = len(sizes) - 1
        # The attribute names, made once: forward looks the layers up by them every call.
        self._layer_names = [(f"fc{i}", f"act{i}") for i in range(1, self.num_layers + 1)]
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            setattr(self, f"fc{i}", nn.Linear(n_in, n_out, bias=bias, init=init, rng=rng))
            act = activation if i < self.num_layers else self.output_activation
            setattr(self, f"act{i}", nn.Identity() if act == "none"
                    else ACTIVATIONS[act](self.k, slope))

    def layers(self):
        """``[(fc1, act1), (fc2, act2), ...]``: each layer's Linear and its activation."""
        return [(getattr(self, fc), getattr(self, act)) for fc, act in self._layer_names]

    def forward(self, x):
        x = x.flatten(1) if x.ndim > 2 else x
        for fc, act in self._layer_names:  # by name, so a layer swapped in is the one called
            x = getattr(self, act)(getattr(self, fc)(x))
        return x

    def extra_repr(self):
        out = "" if self.output_activation == self.activation else \
            f", output={self.output_activation}"
        return (f"sizes={self.sizes}, activation={self.activation}, k={self.k:g}, "
                f"init={self.init}, bias={self.bias}{out}")
