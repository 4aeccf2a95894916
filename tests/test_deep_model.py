"""Deep networks in the model, without torch: construction, evaluation, the straight-line
twin, persistence (including the one-layer format /1), the classic names and ``along``."""

import json

import numpy as np
import pytest

import fastrelu
from fastrelu import Network
from fastrelu.model import Activation

BACKENDS = ["numpy", "numba", "cffi", "exact"]
U64 = float(np.finfo(np.float64).eps) / 2


def _gamma(n, u=U64):
    return n * u / (1.0 - n * u)


def manual_forward(net, x):
    """The network at the inputs ``x`` (rows, in), layer by layer in float64, from its documented
    definition: ``z = W a + b``; ``v = z if z > 0 else alpha*z``; ``a = clip(v, lo, hi)``."""
    a = np.asarray(x, np.float64)
    for k, (w, b) in enumerate(net.layers):
        z = a @ w.astype(np.float64).T + b.astype(np.float64)
        if k == net.depth:
            return z
        alpha, lo, hi = net.activations[k].kernel_form(w.shape[0])
        a = np.clip(np.where(z > 0, z, alpha * z), lo, hi)


def magnitude(net, x):
    """``|W_L| ... (|W_1| |x| + |b_1|) ... + |b_L|`` (activations are 1-Lipschitz or scaled by
    their largest slope): every partial sum of the forward pass is at most this."""
    m = np.abs(np.asarray(x, np.float64))
    for k, (w, b) in enumerate(net.layers):
        m = m @ np.abs(w.astype(np.float64)).T + np.abs(b.astype(np.float64))
        if k < net.depth:
            alpha, _, _ = net.activations[k].kernel_form(w.shape[0])
            m = m * np.maximum(1.0, np.abs(alpha))
    return m


def forward_bound(net, x, u=U64):
    """A bound on the rounding of two evaluations' difference: each rounds every layer's sums
    (fan-in + 1 terms) and its activation once, the errors carried through ``|W|``."""
    g = sum(_gamma(w.shape[1] + 2, u) for w, _ in net.layers)
    return 2 * g * magnitude(net, x)


# ---------------------------------------------------------------------------------------
# construction


@pytest.mark.parametrize("widths", [[1, 1, 1], [3, 16, 2], [784, 64, 32, 10], [2, 5, 1, 7, 3], [4] * 10])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_random_shapes(widths, dtype):
    net = Network.random(widths, seed=3, dtype=dtype)
    assert net.widths == tuple(widths)
    assert net.depth == len(widths) - 2
    assert net.hidden == sum(widths[1:-1])
    assert (net.in_features, net.out_features) == (widths[0], widths[-1])
    assert net.dtype == np.dtype(dtype)
    assert len(net.layers) == len(widths) - 1 and len(net.activations) == net.depth
    assert all(a == Activation("relu") for a in net.activations)
    for (w, b), fan_in, fan_out in zip(net.layers, widths[:-1], widths[1:]):
        assert w.shape == (fan_out, fan_in) and b.shape == (fan_out,)
        assert w.dtype == b.dtype == np.dtype(dtype)
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
        assert not w.flags.writeable and not b.flags.writeable


def test_random_is_deterministic_and_drawn_as_documented():
    widths = [3, 7, 5, 2]
    net = Network.random(widths, seed=42)
    assert Network.random(widths, seed=42) == net
    assert Network.random(widths, seed=43) != net
    assert Network.random(widths, seed=np.random.default_rng(42)) == net
    # layer by layer, weight (row by row) then bias, uniform in +-1/sqrt(fan_in), float64
    rng = np.random.default_rng(42)
    for (w, b), fan_in, fan_out in zip(net.layers, widths[:-1], widths[1:]):
        bound = 1 / np.sqrt(fan_in)
        np.testing.assert_array_equal(w, rng.uniform(-bound, bound, (fan_out, fan_in)))
        np.testing.assert_array_equal(b, rng.uniform(-bound, bound, fan_out))
    # float32: the same draws, rounded
    net32 = Network.random(widths, seed=42, dtype="float32")
    for (w32, b32), (w, b) in zip(net32.layers, net.layers):
        np.testing.assert_array_equal(w32, w.astype(np.float32))
        np.testing.assert_array_equal(b32, b.astype(np.float32))
    acts = ["relu", Activation("leaky_relu", negative_slope=0.2)]
    mixed = Network.random(widths, seed=42, activation=acts)
    assert mixed.activations == tuple(Activation(a) if isinstance(a, str) else a for a in acts)
    assert all(np.array_equal(p, q) for la, lb in zip(mixed.layers, net.layers) for p, q in zip(la, lb))


def test_random_hidden_and_classic_constructor_unchanged():
    h = 50
    net = Network.random(hidden=h, seed=9)
    assert Network.random(h, seed=9) == net == Network.random([1, h, 1], seed=9)
    assert net.widths == (1, h, 1) and net.depth == 1 and net.hidden == h
    # the classic draws: w1, b1 ~ U(-1, 1), then w2, b2 ~ U(+-1/sqrt(H))
    rng = np.random.default_rng(9)
    w1, b1 = rng.uniform(-1, 1, h), rng.uniform(-1, 1, h)
    w2, b2 = rng.uniform(-1 / np.sqrt(h), 1 / np.sqrt(h), h), rng.uniform(-1 / np.sqrt(h), 1 / np.sqrt(h))
    np.testing.assert_array_equal(net.w1, w1)
    np.testing.assert_array_equal(net.b1, b1)
    np.testing.assert_array_equal(net.w2, w2)
    assert net.b2 == b2
    assert Network(w1, b1, w2, b2) == net
    classic = Network(w1, b1, w2, b2, activation="leaky_relu")
    assert classic.activation == "leaky_relu" and classic.alpha == 0.01
    assert classic.layers[0].weight.shape == (h, 1) and classic.layers[1].weight.shape == (1, h)
    x = np.linspace(-3, 3, 13)
    expected = b2 + (w2 * np.where(np.outer(x, w1) + b1 > 0, 1.0, 0.01) * (np.outer(x, w1) + b1)).sum(axis=1)
    bound = forward_bound(classic, x[:, None])[:, 0]
    assert (np.abs(classic(x) - expected) <= bound).all()
    assert repr(net) == f"Network(hidden={h}, activation='relu', dtype=float64)"


# ---------------------------------------------------------------------------------------
# evaluation


@pytest.mark.parametrize("widths", [[3, 8, 8, 2], [5, 6, 4, 1], [2, 9, 1]])
def test_call_one_input_and_batches(widths):
    acts = [Activation("prelu", weight=np.linspace(-0.3, 0.3, widths[1])), "hardtanh"][: len(widths) - 2]
    net = Network.random(widths, seed=1, activation=acts)
    rng = np.random.default_rng(2)
    batch = rng.normal(0, 2, (6, widths[0]))
    expected = manual_forward(net, batch)
    bound = forward_bound(net, batch)
    out = widths[-1]

    one = net(batch[0])
    assert one.shape == (() if out == 1 else (out,))
    assert (np.abs(np.reshape(one, -1) - expected[0]) <= bound[0]).all()
    got = net(batch)
    assert got.shape == ((6,) if out == 1 else (6, out))
    assert (np.abs(got.reshape(6, out) - expected) <= bound).all()
    # leading axes are kept; a list is an input too
    deep_batch = net(batch.reshape(2, 3, widths[0]))
    assert deep_batch.shape == ((2, 3) if out == 1 else (2, 3, out))
    np.testing.assert_array_equal(deep_batch.reshape(6, -1), got.reshape(6, -1))
    np.testing.assert_array_equal(net(list(batch[1])), net(batch[1]))
    with pytest.raises(ValueError, match=f"x must have {widths[0]} features"):
        net(np.zeros(widths[0] + 1))
    with pytest.raises(ValueError, match=f"x must have {widths[0]} features"):
        net(1.0)


def test_call_float32_network_computes_in_float32():
    net = Network.random([4, 8, 3], seed=5, dtype="float32")
    x = np.random.default_rng(3).normal(size=(5, 4))
    y = net(x)
    assert y.dtype == np.float32
    bound = forward_bound(net, x.astype(np.float32), u=float(np.finfo(np.float32).eps) / 2)
    assert (np.abs(y - manual_forward(net, x.astype(np.float32))) <= bound).all()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "prelu", "hardtanh", "relu6", "linear"])
def test_linear_twin_is_affine(activation):
    widths = [4, 16, 16, 16, 3]
    net = Network.random(widths, seed=6, activation=activation)
    twin = net.linear()
    assert twin.widths == net.widths and twin.depth == net.depth
    assert all(a == Activation("linear") for a in twin.activations)
    assert all(np.array_equal(p, q) for la, lb in zip(twin.layers, net.layers) for p, q in zip(la, lb))

    rng = np.random.default_rng(7)
    p, q, h = rng.normal(0, 3, (3, 20, 4))
    points = np.concatenate([p, p + h, p + 2 * h])
    y = twin(points).reshape(3, 20, -1)
    second = y[2] - 2 * y[1] + y[0]  # zero for an affine map
    bound = forward_bound(twin, points).reshape(3, 20, -1)
    assert (np.abs(second) <= bound[0] + 2 * bound[1] + bound[2]).all(), np.abs(second).max()
    # and it is the product of the layers
    a = np.eye(4)
    c = np.zeros(4)
    for w, b in net.layers:
        a, c = w @ a, w @ c + b
    expected = p @ a.T + c
    assert (np.abs(twin(p) - expected) <= forward_bound(twin, p)).all()
    # the original is not affine (except the identity): its second differences are not all zero
    y = net(points).reshape(3, 20, -1)
    if activation != "linear":
        assert (np.abs(y[2] - 2 * y[1] + y[0]) > bound[0] + 2 * bound[1] + bound[2]).any()


# ---------------------------------------------------------------------------------------
# persistence

SAVED_ACTIVATIONS = [
    "relu",
    "linear",
    Activation("leaky_relu", negative_slope=0.1),
    Activation("prelu", weight=-0.3),
    Activation("prelu", weight=np.linspace(-0.5, 0.5, 6)),
    Activation("hardtanh", min_val=-0.5, max_val=2.0),
    "relu6",
    ["relu", Activation("hardtanh", min_val=-2.0, max_val=0.5), Activation("prelu", weight=np.arange(6) / 8)],
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", SAVED_ACTIVATIONS, ids=lambda a: str(a) if not isinstance(a, list) else "mixed")
def test_save_load_deep(tmp_path, activation, dtype):
    acts = activation if isinstance(activation, list) else [activation] * 3
    net = Network.random([5, 6, 6, 6, 2], seed=8, activation=acts, dtype=dtype)
    path = tmp_path / "deep.npz"
    net.save(path)
    back = Network.load(path)
    assert back == net and back.dtype == np.dtype(dtype) and back.widths == net.widths
    assert back.activations == net.activations
    x = np.random.default_rng(0).normal(size=(7, 5))
    np.testing.assert_array_equal(back(x), net(x))
    with np.load(path) as data:
        assert str(data["format"]) == "fastrelu.Network/2"
        assert not any(k.endswith(".pkl") for k in data.files)
    Network.load(str(path))  # a str path too


@pytest.mark.parametrize("b2_shape", [(), (1,)])
@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_old_one_layer_format_still_loads(tmp_path, activation, b2_shape):
    rng = np.random.default_rng(4)
    w1, b1, w2 = rng.normal(size=(3, 9))
    b2 = 0.25
    path = tmp_path / "old.npz"
    np.savez(
        path, format=np.array("fastrelu.Network/1"), w1=w1, b1=b1, w2=w2,
        b2=np.full(b2_shape, b2), activation=np.array(activation),
    )
    net = Network.load(path)
    assert net == Network(w1, b1, w2, b2, activation=activation)
    assert net.widths == (1, 9, 1) and net.activation == activation
    np.testing.assert_array_equal(net.w1, w1)
    assert net.b2 == b2
    # float32 arrays stay float32
    np.savez(path, format=np.array("fastrelu.Network/1"), w1=w1.astype(np.float32), b1=b1.astype(np.float32),
             w2=w2.astype(np.float32), b2=np.float32([b2]), activation=np.array(activation))
    assert Network.load(path).dtype == np.float32


def test_saved_activations_are_json(tmp_path):
    net = Network.random([2, 3, 3, 1], seed=0, activation=[Activation("prelu", weight=[0.1, 0.2, 0.3]), "relu6"])
    net.save(tmp_path / "n.npz")
    with np.load(tmp_path / "n.npz") as data:
        acts = [json.loads(s) for s in json.loads(str(data["activations"]))]
    assert acts == [{"name": "prelu", "weight": [0.1, 0.2, 0.3]}, {"name": "relu6"}]


# ---------------------------------------------------------------------------------------
# the classic names on deep networks


@pytest.mark.parametrize("widths", [[1, 4, 4, 1], [2, 4, 1], [1, 4, 2]])
@pytest.mark.parametrize("name", ["w1", "b1", "w2", "b2"])
def test_classic_names_refused_on_other_networks(widths, name):
    net = Network.random(widths, seed=0)
    with pytest.raises(ValueError, match=rf"{name} is defined for one-hidden-layer networks of a scalar.*widths \({', '.join(map(str, widths))}\).*net\.layers"):
        getattr(net, name)


def test_alpha_and_activation_of_deep_networks():
    net = Network.random([1, 4, 4, 1], seed=0, activation=["relu", "leaky_relu"])
    with pytest.raises(ValueError, match="different activations: use net.activations"):
        net.activation
    with pytest.raises(ValueError, match="use net.activations"):
        net.alpha
    assert Network.random([1, 4, 4, 1], seed=0, activation="relu6").activation == "relu6"


# ---------------------------------------------------------------------------------------
# along


def _three_input_net():
    return Network.random([3, 8, 8, 2], seed=2)


@pytest.mark.parametrize(
    "along, error, match",
    [
        (([0.0, 0.0], [1.0, 1.0, 1.0]), ValueError, r"along's x0 must have 3 entries"),
        (([0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]), ValueError, r"along's x1 must have 3 entries"),
        (([0.0, np.nan, 0.0], [1.0, 1.0, 1.0]), ValueError, r"along's x0 must be finite"),
        (([0.0, 0.0, 0.0], [1.0, 1.0, np.inf]), ValueError, r"along's x1 must be finite"),
        (([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), ValueError, r"along: x0 and x1 are the same point"),
        (([-1e308, 0.0, 0.0], [1e308, 0.0, 0.0]), ValueError, r"along: x1 - x0 overflows"),
        (([[0.0, 0.0, 0.0]], [1.0, 1.0, 1.0]), ValueError, r"along's x0"),
        (([0.0, 0.0, 0.0],), TypeError, r"along must be a pair"),
        (([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]), TypeError, r"along must be a pair"),
        ("ab", TypeError, r"along must be a pair"),
        (3.0, TypeError, r"along must be a pair"),
        ((["a", "b", "c"], [1.0, 1.0, 1.0]), TypeError, r"along's x0 must hold real numbers"),
    ],
)
def test_along_errors_name_along(along, error, match):
    net = _three_input_net()
    with pytest.raises(error, match=match):
        fastrelu.sweep(net, along=along, num=5, backend="numpy")
    if isinstance(along, tuple) and len(along) == 2:
        with pytest.raises(error, match=match):
            net.along(*along)


def test_along_overflowing_the_first_layer_is_named():
    net = Network.random([2, 4, 1], seed=0, dtype="float32")
    with pytest.raises(ValueError, match="along: the first layer's pre-activations on this line overflow float32"):
        net.along([0.0, 0.0], [1e39, 1e39])


def test_several_inputs_need_along():
    net = _three_input_net()
    with pytest.raises(ValueError, match=r"takes 3 inputs: give along=\(x0, x1\)"):
        fastrelu.sweep(net, num=5, backend="numpy")
    with pytest.raises(ValueError, match="along"):
        fastrelu.sweep(net, -1.0, 1.0, num=5)


def test_along_folds_the_line_into_the_first_layer():
    net = _three_input_net()
    x0, x1 = np.array([1.0, -2.0, 0.5]), np.array([-1.0, 3.0, 2.0])
    line = net.along(x0, x1)
    assert line.widths == (1, 8, 8, 2) and line.activations == net.activations
    w, b = net.layers[0]
    np.testing.assert_array_equal(line.layers[0].weight[:, 0], w @ (x1 - x0))
    np.testing.assert_array_equal(line.layers[0].bias, w @ x0 + b)
    assert all(np.array_equal(p, q) for la, lb in zip(line.layers[1:], net.layers[1:]) for p, q in zip(la, lb))
    t = np.linspace(-0.5, 1.5, 9)
    xs = x0 + t[:, None] * (x1 - x0)
    bound = forward_bound(net, np.abs(x0) + np.abs(t)[:, None] * np.abs(x1 - x0)) * 2
    assert (np.abs(line(t) - net(xs)) <= bound).all()
    res = fastrelu.sweep(net, x=t, along=(x0, x1), backend="numpy")
    assert res.network == line
    np.testing.assert_array_equal(res.along[0], x0)
    np.testing.assert_array_equal(res.along[1], x1)
    np.testing.assert_array_equal(res.x, t)
    assert (np.abs(res.y - net(xs)) <= bound).all()
    default = fastrelu.sweep(net, along=(x0, x1), backend="numpy")
    assert len(default) == 20_001 and default.x[0] == 0.0 and default.x[-1] == 1.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("widths", [[1, 40, 1], [1, 8, 8, 1], [1, 6, 3]], ids=["classic", "deep", "several-outputs"])
def test_along_unit_line_equals_sweeping_x(widths, backend):
    """A network of a scalar swept along (0, 1) is the network itself: the same result."""
    net = Network.random(widths, seed=4)
    for grid in ({"start": 0.0, "stop": 1.0, "num": 101}, {"start": -3.0, "stop": 2.0, "step": 0.25}, {"x": np.array([0.5, -2.0, 7.0, 0.0])}):
        direct = fastrelu.sweep(net, backend=backend, **grid)
        lined = fastrelu.sweep(net, along=([0.0], [1.0]), backend=backend, **grid)
        assert lined.network == net and lined.along is not None and direct.along is None
        for field in ("x", "y", "slope", "negative", "negative_by_layer"):
            np.testing.assert_array_equal(getattr(lined, field), getattr(direct, field), err_msg=field)
        assert lined.backend == direct.backend == backend
    # and a scalar along=(0, 1) works as well as one-element vectors
    np.testing.assert_array_equal(fastrelu.sweep(net, along=(0.0, 1.0), num=11, backend=backend).y, fastrelu.sweep(net, 0.0, 1.0, num=11, backend=backend).y)
