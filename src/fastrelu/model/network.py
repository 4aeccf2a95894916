"""``Network``: a scalar-in, scalar-out network with one hidden layer."""

import os
from typing import NamedTuple

import numpy as np

from .._validate import as_dtype, as_finite_scalar, as_float_array, as_positive_int

# The slope of each activation on the negative side (z <= 0); the positive side
# has slope 1.  This is what the kernels take, so a new piecewise-linear
# activation (leaky ReLU, say) is one more entry here.
ACTIVATIONS = {"relu": 0.0, "linear": 1.0}

_FORMAT = "fastrelu.Network/1"


class Layer(NamedTuple):
    """One dense layer, stored as PyTorch stores ``nn.Linear``: ``weight`` is (out, in)."""

    weight: np.ndarray
    bias: np.ndarray


def _frozen_copy(a):
    # the copy itself is read-only (not a view of a writable one), so backends can
    # tell a network's arrays never change and cache what they derive from them
    a = a.copy()
    a.flags.writeable = False
    return a


class Network:
    """A scalar ReLU network ``y = b2 + sum_j w2[j] * act(w1[j] * x + b1[j])``.

    Parameters
    ----------
    w1, b1, w2 : array_like, shape (H,)
        Input weights, hidden biases and output weights of the H hidden units.
        Copied; float32 stays float32, anything else becomes float64.
    b2 : float, default 0.0
        Output bias.
    activation : {"relu", "linear"}, default "relu"
        ``"linear"`` is the identity: the network is then a straight line.

    Notes
    -----
    A network is immutable: its arrays are read-only copies.  The layers are kept
    as a tuple (``net.layers``) in PyTorch's ``nn.Linear`` layout so that deeper
    networks can be added later without changing this interface.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0], b2=0.5)
    >>> net.hidden
    2
    >>> float(net(2.0))  # 0.5 + 2*relu(2) + 3*relu(-1)
    4.5
    """

    __slots__ = ("_layers", "_activation")

    def __init__(self, w1, b1, w2, b2=0.0, activation="relu"):
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        w1 = as_float_array(w1, "w1")
        dtype = w1.dtype
        b1 = as_float_array(b1, "b1", dtype)
        w2 = as_float_array(w2, "w2", dtype)
        if not (w1.shape == b1.shape == w2.shape):
            raise ValueError(f"w1, b1 and w2 must have the same length, got {w1.shape[0]}, {b1.shape[0]} and {w2.shape[0]}")
        if w1.shape[0] == 0:
            raise ValueError("a network needs at least one hidden unit; w1, b1 and w2 are empty")
        b2 = as_finite_scalar(b2.item() if isinstance(b2, np.ndarray) and b2.size == 1 else b2, "b2")
        b2 = np.asarray([b2], dtype)
        if not np.isfinite(b2).all():
            raise ValueError(f"b2 = {b2!r} overflows {dtype}")
        self._layers = (
            Layer(_frozen_copy(w1[:, None]), _frozen_copy(b1)),
            Layer(_frozen_copy(w2[None, :]), _frozen_copy(b2)),
        )
        self._activation = activation

    @classmethod
    def random(cls, hidden, *, seed=None, activation="relu", dtype="float64"):
        """A network initialised as a fresh PyTorch ``nn.Sequential(nn.Linear(1, H), nn.ReLU(), nn.Linear(H, 1))``.

        Each layer's weights and biases are uniform in ``+-1/sqrt(fan_in)``: ``U(-1, 1)``
        for the hidden layer, ``U(-1/sqrt(H), 1/sqrt(H))`` for the output layer, drawn
        in float64 from ``numpy.random.default_rng(seed)`` in the order w1, b1, w2, b2.

        Parameters
        ----------
        hidden : int
            Number of hidden units H (>= 1).
        seed : None, int or numpy.random.Generator
            Seed for ``numpy.random.default_rng``.
        activation : {"relu", "linear"}
        dtype : {"float64", "float32"}

        Examples
        --------
        >>> net = Network.random(1000, seed=0)
        >>> net.hidden, net.dtype
        (1000, dtype('float64'))
        """
        hidden = as_positive_int(hidden, "hidden")
        dtype = as_dtype(dtype)
        rng = np.random.default_rng(seed)
        bound2 = 1.0 / np.sqrt(hidden)
        w1 = rng.uniform(-1.0, 1.0, hidden)
        b1 = rng.uniform(-1.0, 1.0, hidden)
        w2 = rng.uniform(-bound2, bound2, hidden)
        b2 = rng.uniform(-bound2, bound2)
        return cls(w1.astype(dtype), b1.astype(dtype), w2.astype(dtype), float(dtype.type(b2)), activation)

    # -- the constructor's arguments, read-only ------------------------------------
    @property
    def w1(self):
        """Input weights, shape (H,)."""
        return self._layers[0].weight[:, 0]

    @property
    def b1(self):
        """Hidden biases, shape (H,)."""
        return self._layers[0].bias

    @property
    def w2(self):
        """Output weights, shape (H,)."""
        return self._layers[1].weight[0]

    @property
    def b2(self):
        """Output bias, a float."""
        return float(self._layers[1].bias[0])

    @property
    def activation(self):
        """``"relu"`` or ``"linear"``."""
        return self._activation

    @property
    def layers(self):
        """The layers as a tuple of ``Layer(weight, bias)``, weight shaped (out, in)."""
        return self._layers

    @property
    def hidden(self):
        """Number of hidden units H."""
        return self._layers[0].bias.shape[0]

    @property
    def dtype(self):
        """The dtype of the weights (float64 or float32)."""
        return self._layers[0].bias.dtype

    @property
    def alpha(self):
        """The activation's slope for pre-activations <= 0 (0 for ReLU, 1 for linear)."""
        return ACTIVATIONS[self._activation]

    def _kernel_params(self, dtype):
        """The kernels' parameters ``(w1, b1, w2, b2, c, alpha)`` in ``dtype``.

        ``c = w2 * w1`` is each unit's contribution to the slope when active.
        """
        w1, b1, w2 = (np.ascontiguousarray(a, dtype) for a in (self.w1, self.b1, self.w2))
        return w1, b1, w2, dtype.type(self.b2), w2 * w1, dtype.type(self.alpha)

    def linear(self):
        """The same weights with the identity activation: the network's straight-line twin.

        Examples
        --------
        >>> net = Network([1.0], [0.0], [1.0])
        >>> float(net(-2.0)), float(net.linear()(-2.0))
        (0.0, -2.0)
        """
        return self.with_activation("linear")

    def with_activation(self, activation):
        """The same weights with another activation."""
        return Network(self.w1, self.b1, self.w2, self.b2, activation)

    def astype(self, dtype):
        """The same network with weights converted to ``dtype`` (float64 or float32)."""
        dtype = as_dtype(dtype)
        if dtype == self.dtype:
            return self
        return Network(self.w1.astype(dtype), self.b1.astype(dtype), self.w2.astype(dtype), self.b2, self._activation)

    def __call__(self, x):
        """The output at ``x`` (scalar or array), computed by the numpy reference.

        Examples
        --------
        >>> Network([1.0], [0.0], [1.0])([-1.0, 3.0])
        array([0., 3.])
        """
        from ..backends.reference import forward

        x = np.asarray(x)
        flat = as_float_array(x.reshape(-1), "x", self.dtype)
        return forward(self, flat).reshape(x.shape)

    # -- persistence ---------------------------------------------------------------
    def _arrays(self):
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self._layers[1].bias, "activation": np.array(self._activation)}

    def save(self, path):
        """Save to a ``.npz`` file (no pickles); ``Network.load`` reads it back.

        Examples
        --------
        >>> import tempfile, os
        >>> net = Network.random(3, seed=1)
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> net.save(path)
        >>> Network.load(path) == net
        True
        """
        np.savez(path, format=np.array(_FORMAT), **self._arrays())

    @classmethod
    def load(cls, path):
        """Load a network saved by ``Network.save`` (or a result's network from ``SweepResult.save``)."""
        with _open_npz(path, "network") as data:
            prefix = "network_" if "w1" not in data and "network_w1" in data else ""
            return cls._from_npz(data, str(path), prefix)

    @classmethod
    def _from_npz(cls, data, where, prefix=""):
        try:
            fields = {k: data[prefix + k] for k in ("w1", "b1", "w2", "b2", "activation")}
        except KeyError as exc:
            raise ValueError(f"{where} is not a fastrelu network: no {exc.args[0]!r} array") from None
        return cls(fields["w1"], fields["b1"], fields["w2"], fields["b2"].reshape(-1)[0].item(), str(fields["activation"]))

    # -- comparison and display ----------------------------------------------------
    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        return self._activation == other._activation and all(
            a.dtype == b.dtype and np.array_equal(a, b) for la, lb in zip(self._layers, other._layers) for a, b in zip(la, lb)
        )

    __hash__ = None

    def __repr__(self):
        return f"Network(hidden={self.hidden}, activation={self._activation!r}, dtype={self.dtype.name})"


def _open_npz(path, what):
    """Open an ``.npz`` file for reading with one clear error for anything wrong with it."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}") from None
    except (ValueError, OSError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a fastrelu {what} (.npz) file: {exc}") from None
