"""nn: Module registration and checkpoints, Linear, Dropout, containers, activations."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import nn
from tinygrad_lab.tensor import Parameter, Tensor


class TwoLayer(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        self.fc1 = nn.Linear(4, 3, rng=seed)
        self.act = nn.Sigmoid()
        self.fc2 = nn.Linear(3, 2, rng=seed + 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2, rng=i) for i in range(3)])
        self.scale = Parameter(np.ones(2, np.float32))
        self.not_a_parameter = Tensor(np.zeros(2), requires_grad=True)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x * self.scale


# -- registration and names --------------------------------------------------------
def test_attribute_assignment_registers_parameters_and_modules():
    m = TwoLayer()
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert m.children() == [m.fc1, m.act, m.fc2]
    assert m.parameters() == [m.fc1.weight, m.fc1.bias, m.fc2.weight, m.fc2.bias]
    assert m.num_parameters() == 4 * 3 + 3 + 3 * 2 + 2


def test_nested_dotted_names_and_plain_tensors_are_not_parameters():
    m = Deep()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias", "layers.2.weight", "layers.2.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "layers", "layers.0", "layers.1", "layers.2"]


def test_parameter_names_are_qualified_after_construction():
    m = Deep()
    # No call to named_parameters() needed: attaching a module names its parameters.
    assert m.layers[1].weight.name == "layers.1.weight"
    assert m.scale.name == "scale"
    outer = nn.Sequential(m)  # nesting further makes the names longer still
    assert m.layers[1].weight.name == "0.layers.1.weight"
    assert outer[0] is m


def test_named_parameters_keeps_a_name_the_user_chose():
    layer = nn.Linear(2, 2, rng=0)
    layer.weight.name = "W1"
    nn.Sequential(layer).named_parameters()
    assert layer.weight.name == "W1"
    assert layer.bias.name == "0.bias"


def test_parameters_added_after_attachment_get_names_from_named_parameters():
    outer = nn.Sequential(nn.Linear(2, 2, rng=0))
    outer[0].extra = Parameter(np.zeros(1, np.float32))
    assert outer[0].extra.name == "extra"
    outer.named_parameters()
    assert outer[0].extra.name == "0.extra"


def test_shared_parameters_are_listed_once():
    a = nn.Linear(3, 3, rng=0)
    b = nn.Linear(3, 3, rng=1)
    b.weight = a.weight  # weight tying
    model = nn.Sequential(a, b)
    assert len(model.parameters()) == 3
    assert model.num_parameters() == 9 + 3 + 3


def test_reassigning_and_deleting_update_the_registry():
    m = TwoLayer()
    m.fc2 = nn.Linear(3, 5, rng=0)
    assert m.fc2.out_features == 5 and len(m.children()) == 3
    m.fc1 = "not a module"  # replacing with a plain value unregisters it
    assert [n for n, _ in m.named_children()] == ["act", "fc2"]
    del m.act
    assert [n for n, _ in m.named_children()] == ["fc2"]
    m.fc2.bias = None
    assert [n for n, _ in m.named_parameters()] == ["fc2.weight"]


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_register_helpers_type_check():
    m = nn.Module()
    with pytest.raises(TypeError, match="expected a Parameter"):
        m.register_parameter("w", np.zeros(2))
    with pytest.raises(TypeError, match="expected a Module"):
        m.add_module("x", 3)
    m.add_module("lin", nn.Linear(1, 1, rng=0))
    assert m.lin.weight.name == "lin.weight" and "lin.weight" in dict(m.named_parameters())


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="must define forward"):
        nn.Module()(Tensor([1.0]))


# -- zero_grad, train/eval -----------------------------------------------------------
def test_zero_grad_sets_every_grad_to_none():
    m = Deep()
    m(Tensor(np.ones((5, 2), np.float32))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_train_and_eval_propagate_to_every_submodule():
    m = nn.Sequential(TwoLayer(), nn.Dropout(0.5, rng=0))
    assert all(mod.training for mod in m.modules())
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())


# -- state_dict -------------------------------------------------------------------------
def test_state_dict_is_a_copy_keyed_by_dotted_names():
    m = Deep()
    sd = m.state_dict()
    assert list(sd) == [n for n, _ in m.named_parameters()]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    m.layers[0].weight.data += 1.0
    assert not np.array_equal(sd["layers.0.weight"], m.layers[0].weight.data)


def test_state_dict_round_trip_reproduces_outputs():
    x = Tensor(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    source, target = TwoLayer(seed=0), TwoLayer(seed=10)
    assert not np.array_equal(source(x).data, target(x).data)
    weights_before = target.fc1.weight.data
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert np.array_equal(source(x).data, target(x).data)
    assert target.fc1.weight.data is weights_before  # loaded in place
    assert target.fc1.weight.dtype == np.float32


def test_load_state_dict_casts_to_the_parameter_dtype():
    m = TwoLayer()
    sd = {k: v.astype(np.float64) for k, v in TwoLayer(seed=3).state_dict().items()}
    m.load_state_dict(sd)
    assert all(p.dtype == np.float32 for p in m.parameters())
    assert np.array_equal(m.fc1.weight.data, sd["fc1.weight"].astype(np.float32))


def test_strict_load_names_missing_and_unexpected_keys():
    m = TwoLayer()
    sd = m.state_dict()
    del sd["fc2.bias"]
    sd["fc3.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError) as err:
        m.load_state_dict(sd)
    message = str(err.value)
    assert "missing keys: fc2.bias" in message
    assert "unexpected keys: fc3.weight" in message


def test_shape_mismatch_names_key_and_both_shapes_and_changes_nothing():
    m = TwoLayer()
    before = m.state_dict()
    sd = TwoLayer(seed=5).state_dict()
    sd["fc1.weight"] = np.zeros((3, 5), np.float32)
    sd["fc2.bias"] = np.zeros(7, np.float32)
    with pytest.raises(ValueError) as err:
        m.load_state_dict(sd, strict=False)  # shapes are checked even when not strict
    message = str(err.value)
    assert "fc1.weight: checkpoint has shape (3, 5), model has (3, 4)" in message
    assert "fc2.bias: checkpoint has shape (7,), model has (2,)" in message
    for name, value in m.state_dict().items():  # all-or-nothing: nothing was loaded
        assert np.array_equal(value, before[name])


def test_non_strict_load_reports_what_it_skipped():
    m = TwoLayer()
    sd = {"fc1.weight": np.ones((3, 4), np.float32), "extra": np.zeros(1)}
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.bias", "fc2.weight", "fc2.bias"]
    assert result.unexpected_keys == ["extra"]
    assert (m.fc1.weight.data == 1).all()


# -- repr -------------------------------------------------------------------------------
def test_repr_is_a_tree_with_counts_per_module_and_total():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256, rng=0), nn.Sigmoid(k=2.0),
                          nn.Linear(256, 10, rng=1))
    text = repr(model)
    lines = text.splitlines()
    assert lines[0] == "Sequential("
    assert "(1): Linear(in_features=784, out_features=256, bias=True, init='he')" in text
    assert "# 200,960 params" in lines[2]
    assert lines[3] == "  (2): Sigmoid(k=2.0)"  # no count for a module without parameters
    assert "# 2,570 params" in lines[4]
    assert lines[-1] == "Total: 203,530 parameters"


def test_repr_of_nested_modules_and_frozen_parameters():
    m = Deep()
    m.layers[0].weight.requires_grad = False
    text = repr(m)
    assert "  (layers): ModuleList(" in text
    assert "    (0): Linear(in_features=2, out_features=2" in text
    assert "  )  # 18 params" in text
    assert text.endswith("Total: 20 parameters (16 trainable)")


# -- __call__ and module_scope ---------------------------------------------------------
def test_call_runs_forward_inside_module_scope():
    m = TwoLayer()
    x = Tensor(np.ones((1, 4), np.float32))
    y = m(x)
    # The graph renderer groups ops by the scope stack recorded on each node.
    assert y._ctx.scope == (m, m.fc2)
    # fc2 is one Linear op (x·Wᵀ + b), so its input is the sigmoid's output.
    assert y._ctx.op.__name__ == "Linear"
    sigmoid_node = y._ctx.parents[0]._ctx
    assert sigmoid_node.op.__name__ == "Sigmoid"
    assert sigmoid_node.scope == (m, m.act)


# -- Linear ----------------------------------------------------------------------------
def test_linear_forward_matches_numpy():
    layer = nn.Linear(5, 3, rng=0)
    x = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    y = layer(Tensor(x))
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    np.testing.assert_allclose(y.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    assert y.dtype == np.float32


def test_linear_backward_matches_hand_derived_gradients():
    rng = np.random.default_rng(2)
    layer = nn.Linear(5, 3, rng=0)
    layer.bias.data[:] = rng.normal(size=3)
    x = Tensor(rng.normal(size=(4, 5)).astype(np.float32), requires_grad=True)
    upstream = rng.normal(size=(4, 3)).astype(np.float32)  # dL/dy for L = sum(y * G)
    (layer(x) * Tensor(upstream)).sum().backward()
    W = layer.weight.data
    np.testing.assert_allclose(layer.weight.grad.data, upstream.T @ x.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.data, upstream.sum(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.data, upstream @ W, rtol=1e-5, atol=1e-6)


def test_linear_without_bias_and_on_a_single_sample():
    layer = nn.Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None and len(layer.parameters()) == 1
    x = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_allclose(layer(x).data, layer.weight.data @ x, rtol=1e-6)
    assert "bias=False" in repr(layer)


def test_linear_wrong_feature_count_names_the_layer():
    model = nn.Sequential(nn.Linear(784, 16, rng=0), nn.Linear(16, 10, rng=1))
    with pytest.raises(ValueError) as err:
        model(Tensor(np.zeros((2, 783), np.float32)))
    assert "Linear '0'" in str(err.value)
    assert "783 features but expects 784" in str(err.value)
    with pytest.raises(ValueError, match="expects 3"):
        nn.Linear(3, 1)(Tensor(np.zeros((2, 4), np.float32)))


def test_linear_init_options_and_seeds():
    assert np.array_equal(nn.Linear(20, 10, rng=3).weight.data,
                          nn.Linear(20, 10, seed=3).weight.data)
    assert not np.array_equal(nn.Linear(20, 10, rng=3).weight.data,
                              nn.Linear(20, 10, rng=4).weight.data)
    w = nn.Linear(784, 256, init="uniform", rng=0).weight.data
    assert w.min() >= -1 and w.max() <= 1 and w.std() > 0.5  # the assignment's U[-1, 1]
    custom = nn.Linear(2, 3, init=lambda shape, rng: np.full(shape, 0.25))
    assert (custom.weight.data == 0.25).all() and custom.weight.dtype == np.float32
    with pytest.raises(ValueError, match="unknown init 'bogus'"):
        nn.Linear(2, 2, init="bogus")
    with pytest.raises(ValueError, match="returned shape"):
        nn.Linear(2, 3, init=lambda shape, rng: np.zeros(3))
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="either rng= or seed="):
        nn.Linear(2, 2, rng=1, seed=1)


def test_linear_he_init_has_he_scale():
    w = nn.Linear(784, 256, init="he", rng=0).weight.data
    assert w.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert not nn.Linear(784, 256, rng=0).bias.data.any()


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 6), n_in=st.integers(1, 7), n_out=st.integers(1, 7),
       seed=st.integers(0, 10_000))
def test_linear_matches_numpy_for_any_shape(batch, n_in, n_out, seed):
    layer = nn.Linear(n_in, n_out, rng=seed)
    x = np.random.default_rng(seed).normal(size=(batch, n_in)).astype(np.float32)
    y = layer(x)
    assert y.shape == (batch, n_out) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, x @ layer.weight.data.T + layer.bias.data,
                               rtol=1e-5, atol=1e-6)


# -- containers ------------------------------------------------------------------------
def test_sequential_is_indexable_sized_iterable_and_chains():
    layers = [nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers and model[-1] is layers[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    x = Tensor(np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32))
    expected = layers[2](layers[1](layers[0](x)))
    np.testing.assert_array_equal(model(x).data, expected.data)
    model.append(nn.Softmax())
    assert len(model) == 4 and [n for n, _ in model.named_children()] == ["0", "1", "2", "3"]


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="forget to call the class"):
        nn.Sequential(nn.Linear(2, 2), nn.ReLU)


def test_module_list_registers_and_has_no_forward():
    ml = nn.ModuleList([nn.Linear(2, 2, rng=0)]).append(nn.Tanh())
    assert len(ml) == 2 and isinstance(ml[1], nn.Tanh) and len(ml.parameters()) == 2
    assert len(ml[:1]) == 1
    with pytest.raises(TypeError):
        ml.append("relu")
    with pytest.raises(NotImplementedError, match="loop over its modules"):
        ml(Tensor([1.0, 2.0]))


def test_flatten():
    x = Tensor(np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28))
    assert nn.Flatten()(x).shape == (2, 784)
    assert nn.Flatten(0)(x).shape == (2 * 784,)
    assert nn.Flatten(start_dim=1, end_dim=1)(x).shape == (2, 28, 28)
    np.testing.assert_array_equal(nn.Flatten()(x).data, x.data.reshape(2, -1))
    with pytest.raises(ValueError, match="cannot flatten input of shape"):
        nn.Flatten(start_dim=3)(x)


# -- Dropout -------------------------------------------------------------------------------
def test_dropout_statistics_in_training():
    x = Tensor(np.ones((200, 500), np.float32))
    y = nn.Dropout(0.3, rng=0)(x).data
    dropped = (y == 0).mean()
    assert dropped == pytest.approx(0.3, abs=0.01)
    # Survivors are scaled by 1/(1-p), so the expected value is unchanged.
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert y.mean() == pytest.approx(1.0, abs=0.02)
    assert y.dtype == np.float32


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero():
    x = Tensor(np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32))
    assert nn.Dropout(0.5, rng=0).eval()(x) is x
    assert nn.Dropout(0.0, rng=0)(x) is x
    assert not nn.Dropout(1.0, rng=0)(x).data.any()


def test_dropout_same_seed_same_masks():
    x = Tensor(np.ones((10, 10), np.float32))
    a, b, c = nn.Dropout(0.5, rng=42), nn.Dropout(0.5, seed=42), nn.Dropout(0.5, rng=43)
    first_a, first_b = a(x).data, b(x).data
    assert first_a.tobytes() == first_b.tobytes()
    assert a(x).data.tobytes() == b(x).data.tobytes()  # the streams stay in step
    assert not np.array_equal(a(x).data, first_a)  # a new mask each call
    assert c(x).data.tobytes() != nn.Dropout(0.5, rng=42)(x).data.tobytes()


def test_dropout_gradient_is_the_mask():
    x = Tensor(np.ones((6, 6), np.float32), requires_grad=True)
    y = nn.Dropout(0.5, rng=1)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # d(x*m)/dx = m, and y = m here


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


# -- activations -----------------------------------------------------------------------------
X = np.linspace(-8, 8, 33, dtype=np.float32).reshape(3, 11)


@pytest.mark.parametrize("module, expected", [
    (nn.Sigmoid(), 1 / (1 + np.exp(-X))),
    (nn.Sigmoid(k=2.5), 1 / (1 + np.exp(-2.5 * X))),
    (nn.Tanh(), np.tanh(X)),
    (nn.Tanh(k=0.5), np.tanh(0.5 * X)),
    (nn.ReLU(), np.maximum(X, 0)),
    (nn.ReLU6(), np.clip(X, 0, 6)),
    (nn.LeakyReLU(0.1), np.where(X > 0, X, 0.1 * X)),
    (nn.Softmax(axis=1), np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)),
    (nn.LogSoftmax(axis=0), X - np.log(np.exp(X).sum(axis=0, keepdims=True))),
    (nn.Identity(), X),
])
def test_activation_modules_match_numpy(module, expected):
    y = module(Tensor(X))
    assert y.dtype == np.float32 and y.shape == X.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-6)
    assert module.parameters() == []


def test_activation_reprs_show_their_settings():
    assert repr(nn.Sigmoid(k=3)).startswith("Sigmoid(k=3.0)")
    assert repr(nn.LeakyReLU(0.2)).startswith("LeakyReLU(negative_slope=0.2)")
    assert repr(nn.Softmax(axis=0)).startswith("Softmax(axis=0)")


def test_a_small_net_learns_with_manual_sgd():
    # End to end: the nn API is enough to fit XOR with plain gradient descent.
    x = Tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    t = Tensor(np.array([[0], [1], [1], [0]], np.float32))
    model = nn.Sequential(nn.Linear(2, 8, init="xavier", rng=0), nn.Tanh(),
                          nn.Linear(8, 1, init="xavier", rng=1), nn.Sigmoid())
    for _ in range(2000):
        model.zero_grad()
        loss = ((model(x) - t) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            for p in model.parameters():
                p.data -= 1.0 * p.grad.data
    assert loss.item() < 0.02
    assert ((model(x).data > 0.5) == (t.data > 0.5)).all()
