"""fastrelu.Network: construction, initialisation, immutability, persistence."""

import numpy as np
import pytest

import fastrelu
from fastrelu import Network


def test_arrays_are_read_only_copies():
    w1 = np.array([1.0, 2.0])
    net = Network(w1, [0.0, 1.0], [1.0, -1.0], b2=0.5)
    w1[0] = 99.0
    assert net.w1.tolist() == [1.0, 2.0]
    for a in (net.w1, net.b1, net.w2):
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 3.0
    with pytest.raises(AttributeError):
        net.w1 = w1
    assert (net.hidden, net.b2, net.activation, net.dtype) == (2, 0.5, "relu", np.float64)
    assert net.layers[0].weight.shape == (2, 1) and net.layers[1].weight.shape == (1, 2)


def test_random_matches_pytorch_initialisation_bounds():
    h = 10_000
    net = Network.random(h, seed=0)
    assert np.abs(net.w1).max() <= 1 and np.abs(net.b1).max() <= 1
    assert np.abs(net.w2).max() <= 1 / np.sqrt(h) and abs(net.b2) <= 1 / np.sqrt(h)
    # uniform, not normal: the extremes come close to the bounds
    assert np.abs(net.w1).max() > 0.999 and np.abs(net.w2).max() > 0.999 / np.sqrt(h)
    assert Network.random(h, seed=0) == net and Network.random(h, seed=1) != net
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(net.w1, rng.uniform(-1, 1, h))


def test_random_float32_and_linear():
    net = Network.random(5, seed=2, dtype="float32", activation="linear")
    assert net.dtype == np.float32 and net.activation == "linear"
    assert net.linear() is not net and net.linear().activation == "linear"


def test_linear_twin_is_a_straight_line():
    net = Network.random(100, seed=3)
    twin = net.linear()
    np.testing.assert_array_equal(twin.w1, net.w1)
    x = np.linspace(-10, 10, 101)
    y = twin(x)
    expected = (net.w1 * net.w2).sum() * x + (net.b1 * net.w2).sum() + net.b2
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12 * np.abs(net.w2).sum() * 10)


def test_call_evaluates_the_reference():
    net = Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0], b2=0.5)
    assert net(2.0) == 0.5 + 4.0
    np.testing.assert_array_equal(net(np.array([[-1.0], [0.0]])), [[0.5 + 6.0], [0.5 + 3.0]])


def test_calling_a_network_out_of_range_speaks_of_x_not_of_a_grid():
    with pytest.raises(ValueError, match=r"could overflow float64 at these x \(\|x\| up to 2\); use smaller weights or smaller x$") as info:
        Network([1e300], [0.0], [1e300])([1.0, 2.0])
    assert "grid" not in str(info.value)
    with pytest.raises(ValueError, match=r"^x reaches \|x\| = 1e\+308, beyond the range of float64; use smaller x$"):
        Network([1.0], [0.0], [1.0])(1e308)
    # several inputs: the first layer's sum may overflow (no RuntimeWarning), still told of x
    with pytest.raises(ValueError, match=r"^x reaches \|x\| = 1e\+308, beyond the range of float64; use smaller x$"):
        Network.random([2, 4, 1], seed=0)([[1e308, 1e308]])


def test_save_load_round_trip(tmp_path):
    net = Network.random(7, seed=4, dtype="float32", activation="linear")
    net.save(tmp_path / "net.npz")
    back = Network.load(tmp_path / "net.npz")
    assert back == net and back.dtype == np.float32 and back.activation == "linear"


def test_load_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        Network.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a fastrelu network"):
        Network.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ValueError, match="not a fastrelu network"):
        Network.load(tmp_path / "other.npz")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_load_a_truncated_file_names_it(tmp_path, keep):
    Network.random([2, 5, 1], seed=0).save(tmp_path / "net.npz")
    whole = (tmp_path / "net.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(ValueError, match=r"cut\.npz' is truncated or damaged, or not a fastrelu network \(\.npz\) file"):
        Network.load(tmp_path / "cut.npz")


def test_load_a_single_npy_array_named_npz(tmp_path):
    with open(tmp_path / "one.npz", "wb") as f:
        np.save(f, np.arange(3.0))
    with pytest.raises(ValueError, match=r"one\.npz' is not a fastrelu network \(\.npz\) file: it holds a single \.npy array"):
        Network.load(tmp_path / "one.npz")


@pytest.mark.parametrize("b2", [np.zeros(0), np.zeros(2)])
def test_load_an_old_format_file_without_one_output_bias(tmp_path, b2):
    # format /1 (w1, b1, w2, b2, activation): b2 must be one number
    np.savez(tmp_path / "old.npz", w1=[1.0], b1=[0.0], w2=[1.0], b2=b2, activation=np.array("relu"))
    with pytest.raises(ValueError, match=r"old\.npz is not a readable fastrelu network: its 'b2' array must hold one number, got shape"):
        Network.load(tmp_path / "old.npz")
    np.savez(tmp_path / "old.npz", w1=[1.0], b1=[0.0], w2=[1.0], b2=[[0.5]], activation=np.array("relu"))
    assert Network.load(tmp_path / "old.npz").b2 == 0.5


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([1.0, np.nan], [0, 0], [1, 1]), {}, ValueError, r"w1 must be finite, but w1\[1\] is nan"),
        (([1.0], [np.inf], [1]), {}, ValueError, r"b1 must be finite"),
        (([1.0], [0.0], [1.0]), {"b2": np.nan}, ValueError, "b2 must be finite"),
        (([1.0, 2.0], [0.0], [1.0, 1.0]), {}, ValueError, "same length, got 2, 1 and 2"),
        (([[1.0]], [0.0], [1.0]), {}, ValueError, r"w1 must be 1-D, got shape \(1, 1\)"),
        (([], [], []), {}, ValueError, "at least one hidden unit"),
        ((["a"], [0.0], [1.0]), {}, TypeError, "w1 must hold real numbers"),
        (([1j], [0.0], [1.0]), {}, TypeError, "w1 must hold real numbers"),
        (([1.0], [0.0], [1.0]), {"activation": "tanh"}, ValueError, "activation must be one of"),
        (([1.0], [0.0], [1.0]), {"b2": "1"}, TypeError, "b2 must be a real number"),
    ],
)
def test_bad_construction(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        Network(*args, **kwargs)


def test_float32_overflow_is_named():
    with pytest.raises(ValueError, match=r"w2\[0\] = 1e\+300 overflows float32"):
        Network(np.float32([1.0]), [0.0], [1e300])


@pytest.mark.parametrize("hidden, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_random(hidden, error):
    with pytest.raises(error, match="hidden"):
        Network.random(hidden)
    with pytest.raises(ValueError, match="dtype must be float64 or float32"):
        Network.random(3, dtype="int8")


def test_repr():
    assert repr(Network.random(3, seed=0)) == "Network(hidden=3, activation='relu', dtype=float64)"
    assert "hidden=3" in repr(fastrelu.sweep(Network.random(3, seed=0), num=2))
