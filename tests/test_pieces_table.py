"""Pieces for a researcher: each piece's activation pattern, its hash, its gradient in
input space and the table export, checked against PyTorch (forward hooks and autograd)."""

import builtins

import numpy as np
import pytest
import torch

import fastrelu

EPS = np.finfo(np.float64).eps


def _model(widths, act=torch.nn.ReLU, seed=0):
    torch.manual_seed(seed)
    mods = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        mods.append(torch.nn.Linear(a, b))
        if k < len(widths) - 2:
            mods.append(act())
    return torch.nn.Sequential(*mods).double()


def _torch_at(model, x):
    """Each activation's input (pre-activation) at ``x`` through forward hooks, and the
    output's Jacobian by autograd: ``(pre-activations per layer, (out, in))``."""
    zs = []
    hooks = [m.register_forward_hook(lambda m, i, o: zs.append(i[0].detach().numpy().copy()))
             for m in model if not isinstance(m, torch.nn.Linear)]
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    try:
        jac = torch.autograd.functional.jacobian(model, xt)
    finally:
        for h in hooks:
            h.remove()
    return zs[: len(hooks)], jac.numpy()


def _inside(r, i):
    lo, hi = r.lo[i], r.hi[i]
    return (lo + hi) / 2 if np.isfinite(lo) and np.isfinite(hi) else (hi - 1 if np.isfinite(hi) else lo + 1)


def _bound(net, slopes):
    """A rounding bound on the Jacobian: both sides sum products of the same weights, each
    layer's sums of at most n terms within gamma_n of the product of absolute values."""
    g = np.abs(net.layers[-1].weight)
    for k in range(net.depth - 1, -1, -1):
        g = (g * np.abs(slopes[k])) @ np.abs(net.layers[k].weight)
    n = sum(net.widths)
    return 2 * n * EPS / (1 - n * EPS) * g


@pytest.mark.parametrize("act", [torch.nn.ReLU, lambda: torch.nn.LeakyReLU(0.1)], ids=["relu", "leaky_relu"])
def test_patterns_and_gradients_are_pytorchs(act):
    model = _model([5, 16, 12, 3], act)
    net = fastrelu.Network.from_torch(model)
    x0, x1 = np.random.default_rng(1).standard_normal((2, 5)) * 3
    r = fastrelu.regions(net, along=(x0, x1), boundaries=True)
    assert len(r) > 10 and (r.negative >= 0).all()
    g = r.gradient
    assert g.shape == (len(r), 3, 5)
    for i in range(len(r)):
        x = x0 + _inside(r, i) * (x1 - x0)
        zs, jac = _torch_at(model, x)
        pattern = r.pattern(i)
        assert [p.dtype for p in pattern] == [np.bool_, np.bool_]
        for p, z in zip(pattern, zs):
            np.testing.assert_array_equal(p, z > 0)
        slopes = [np.where(z > 0, 1.0, net.activations[k].kernel_form(z.shape[0])[0]) for k, z in enumerate(zs)]
        assert (np.abs(g[i] - jac) <= _bound(net, slopes)).all()
    # the gradient along the line is the piece's slope in t
    np.testing.assert_allclose(g @ (x1 - x0), r.slope, rtol=1e-12, atol=1e-12 * np.abs(r.slope).max())


def test_one_output_gives_a_gradient_per_input_and_a_scalar_network_its_slope():
    net = fastrelu.Network.random([4, 8, 8, 1], seed=2)
    r = fastrelu.regions(net, along=([0, 0, 0, 0], [1, -1, 2, 0.5]), boundaries=True)
    assert r.gradient.shape == (len(r), 4)
    scalar = fastrelu.Network.random(30, seed=3)
    s = fastrelu.regions(scalar, -5, 5)
    # one layer of a scalar: the slope (summed exactly) within the gradient's rounding
    bound = [_bound(scalar, [s.pattern(i)[0].astype(float)])[0, 0] for i in range(len(s))]
    assert (np.abs(s.gradient[:, 0] - s.slope) <= bound).all()


def test_a_piece_without_one_pattern_says_so():
    # unit 1 switches at x = 1 but feeds nothing: a boundary inside the one piece
    net = fastrelu.Network([1.0, 1.0], [0.0, -1.0], [2.0, 0.0])
    r = fastrelu.regions(net, -5, 5)
    assert r.negative.tolist() == [2, -1]
    with pytest.raises(ValueError, match="boundaries=True"):
        r.pattern(1)
    with pytest.raises(IndexError):
        r.pattern(2)
    assert r.pattern_hash[1] == 0 and r.pattern_hash[0] != 0
    assert np.isnan(r.gradient[1]).all() and r.gradient[0].tolist() == [0.0]
    split = fastrelu.regions(net, -5, 5, boundaries=True)
    assert [p[0].tolist() for p in map(split.pattern, range(3))] == [[False, False], [True, False], [True, True]]


def test_the_pattern_hash_is_the_region_maps_for_the_same_pattern():
    net = fastrelu.Network.random([2, 12, 12, 1], seed=4)
    m = fastrelu.regions(net, bounds=((-2, 2), (-2, 2)))
    r = fastrelu.regions(net, along=([-2, -1.5], [2, 1.0]), boundaries=True)
    mids = np.array([[-2, -1.5]]) + np.array([_inside(r, i) for i in range(len(r))])[:, None] * np.array([[4, 2.5]])
    faces = m.locate(mids)
    np.testing.assert_array_equal(r.pattern_hash, m.pattern_hash[faces])
    # and patterns that differ hash apart here
    assert np.unique(r.pattern_hash).size == np.unique(m.pattern[faces], axis=0).shape[0]


def test_to_csv_and_to_pandas_hold_the_pieces(tmp_path):
    import pandas as pd  # a test dependency: missing, the test fails
    net = fastrelu.Network.random([3, 8, 8, 2], seed=5)
    r = fastrelu.regions(net, -np.inf, np.inf, along=([0, 0, 0], [1, 1, 1]))
    df = r.to_pandas()
    assert list(df.columns) == ["lo", "hi", "slope_0", "slope_1", "intercept_0", "intercept_1", "negative",
                                "negative_0", "negative_1", "pattern_hash"]
    np.testing.assert_array_equal(df["lo"], r.lo)
    np.testing.assert_array_equal(df[["slope_0", "slope_1"]].to_numpy(), r.slope)
    r.to_csv(tmp_path / "pieces.csv")
    back = pd.read_csv(tmp_path / "pieces.csv", dtype={"pattern_hash": np.uint64})
    assert list(back.columns) == list(df.columns)
    for name in df.columns:  # every number read back exactly, infinite ends included
        np.testing.assert_array_equal(back[name].to_numpy(), df[name].to_numpy())
    assert back["lo"].iloc[0] == -np.inf and back["hi"].iloc[-1] == np.inf


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch):
    real = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    r = fastrelu.regions(fastrelu.Network([1.0], [0.0], [1.0]), -1, 1)
    with pytest.raises(ImportError, match="pip install pandas"):
        r.to_pandas()
