"""``SweepResult``: what a sweep returns, and its ``.npz`` form."""

import numpy as np

from .model.network import Network, _open_npz
from ._validate import readonly

_FORMAT = "fastrelu.SweepResult/1"


class SweepResult:
    """Output, slope and negative-unit count of a network at every grid point.

    Attributes
    ----------
    x, y, slope : ndarray, shape (N,)
        Grid points, output and slope dy/dx, all of one float dtype.
    negative : ndarray of int32, shape (N,)
        Number of hidden units with pre-activation ``<= 0``.
    network : Network
        The network that was swept.
    backend : str
        Name of the backend that computed the result.

    Notes
    -----
    The arrays are read-only.  At a kink the slope is that of the side where the
    switching unit is off: a ReLU unit counts as active only where its
    pre-activation is ``> 0`` (ReLU's derivative at 0 is taken as 0, as PyTorch does).

    Examples
    --------
    >>> import fastrelu
    >>> res = fastrelu.sweep(fastrelu.Network([1.0], [0.0], [1.0]), -1.0, 1.0, 1.0)
    >>> res.x, res.slope, res.negative
    (array([-1.,  0.,  1.]), array([0., 0., 1.]), array([1, 1, 0], dtype=int32))
    """

    __slots__ = ("x", "y", "slope", "negative", "network", "backend", "_slope_changes")

    def __init__(self, x, y, slope, negative, *, network, backend):
        self.x, self.y, self.slope = (readonly(np.asarray(a)) for a in (x, y, slope))
        self.negative = readonly(np.asarray(negative, np.int32))
        if not (self.x.shape == self.y.shape == self.slope.shape == self.negative.shape) or self.x.ndim != 1:
            raise ValueError("x, y, slope and negative must be 1-D arrays of one length")
        self.network, self.backend = network, backend
        self._slope_changes = None

    @property
    def dtype(self):
        """The float dtype of ``x``, ``y`` and ``slope``."""
        return self.y.dtype

    @property
    def active(self):
        """Number of hidden units with pre-activation ``> 0`` (``H - negative``), int32."""
        return (self.network.hidden - self.negative).astype(np.int32)

    @property
    def slope_changes(self):
        """Boolean mask: the slope differs from the previous point's (False at the first)."""
        if self._slope_changes is None:
            mask = np.zeros(len(self), bool)
            np.not_equal(self.slope[1:], self.slope[:-1], out=mask[1:])
            self._slope_changes = readonly(mask)
        return self._slope_changes

    def __len__(self):
        return self.x.shape[0]

    def __repr__(self):
        return f"SweepResult(points={len(self)}, hidden={self.network.hidden}, dtype={self.dtype.name}, backend={self.backend!r})"

    def plot(self, **kwargs):
        """A figure of this result: ``fastrelu.plot.sweep_figure(self, **kwargs)``.

        Examples
        --------
        >>> import fastrelu
        >>> res = fastrelu.sweep(fastrelu.Network.random(20, seed=0), -5, 5, 0.01)
        >>> fig = res.plot(seed=0, kinks=True)
        >>> fig.savefig("sweep.png")  # doctest: +SKIP
        """
        from .plot import sweep_figure  # matplotlib only when a figure is asked for

        return sweep_figure(self, **kwargs)

    def save(self, path):
        """Save to a ``.npz`` file with its network; ``SweepResult.load`` reads it back.

        Examples
        --------
        >>> import fastrelu, tempfile, os
        >>> res = fastrelu.sweep(fastrelu.Network.random(4, seed=0), num=5)
        >>> path = os.path.join(tempfile.mkdtemp(), "res.npz")
        >>> res.save(path)
        >>> bool((fastrelu.SweepResult.load(path).y == res.y).all())
        True
        """
        net = {"network_" + k: v for k, v in self.network._arrays().items()}
        np.savez(path, format=np.array(_FORMAT), x=self.x, y=self.y, slope=self.slope, negative=self.negative, backend=np.array(self.backend), **net)

    @classmethod
    def load(cls, path):
        """Load a result saved by ``SweepResult.save``."""
        with _open_npz(path, "result") as data:
            if "format" not in data or str(data["format"]) != _FORMAT:
                raise ValueError(f"{str(path)!r} is not a fastrelu result (.npz) file")
            network = Network._from_npz(data, str(path), prefix="network_")
            return cls(data["x"], data["y"], data["slope"], data["negative"], network=network, backend=str(data["backend"]))
