"""Activation patterns of linear pieces: each unit's region there, and a stable hash of it.

A unit's *region* is the number of its activation's breakpoints strictly below its
pre-activation ``z`` (ReLU: 0 where ``z <= 0``, 1 where ``z > 0``; Hardtanh(-1, 1): 0 to 3),
so that ``z <= 0`` is off, as everywhere in fastrelu.  The pieces of a line
(``Regions``) and the faces of a plane (``RegionMap``) hold patterns in this form and hash
them with ``pattern_hashes``, so the same pattern gets the same hash on a line and on a
plane of the same network.
"""

import numpy as np

from ..model.forward import activate, activation_forms, tangent

__all__ = ["layer_states", "pattern_hashes"]

HASH_SEED = 0x9E3779B97F4A7C15  # the golden ratio in 64 bits: any fixed odd constant would do
_HASH_BLOCK = 1 << 22  # pattern entries per block of the hash: bounded temporaries


def splitmix(x):
    """SplitMix64's finaliser on uint64 arrays: every input bit reaches every output bit."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def pattern_hashes(pattern):
    """A 64-bit hash of each row of ``pattern`` (int, ``(F, hidden)``: each unit's region).

    The hash depends on the row and the number of units alone: the same pattern hashes
    the same in any map or list of pieces of a network of the same widths.

    Examples
    --------
    >>> h = pattern_hashes(np.array([[0, 1, 1], [0, 1, 1], [1, 1, 0]], np.int8))
    >>> bool(h[0] == h[1] != h[2]), h.dtype
    (True, dtype('uint64'))
    """
    pattern = np.asarray(pattern)
    n = pattern.shape[1]
    keys = splitmix(np.uint64(HASH_SEED) * (np.arange(1, n + 1, dtype=np.uint64)))
    out = np.zeros(pattern.shape[0], np.uint64)
    rows = max(1, _HASH_BLOCK // max(n, 1))
    with np.errstate(over="ignore"):
        for i0 in range(0, pattern.shape[0], rows):
            block = pattern[i0 : i0 + rows].astype(np.uint64) + np.uint64(1)
            out[i0 : i0 + rows] = (block * keys).sum(axis=1, dtype=np.uint64)
    return splitmix(out ^ np.uint64(n))


def layer_states(net, x):
    """Per hidden layer, ``(region, on, slope)`` of every unit at the inputs ``x`` (rows, in), in float64.

    ``region`` (int8) as above, ``on`` is ``z > 0`` and ``slope`` the activation's
    derivative there (PyTorch's at a breakpoint: ``fastrelu.model.forward.tangent``).
    Each layer is the forward pass's own step (``activate``).

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0])
    >>> [(r.tolist(), s.tolist()) for r, _, s in layer_states(net, np.array([[0.5]]))]
    [([[1, 1]], [[1.0, 1.0]])]
    """
    alpha, lo, hi = activation_forms(net, np.float64)
    a = np.asarray(x, np.float64)
    states, u0 = [], 0
    for k, act in enumerate(net.activations):
        w, b = net.layers[k]
        z = a @ w.astype(np.float64).T + b.astype(np.float64)
        al = alpha[u0 : u0 + w.shape[0]]
        u0 += w.shape[0]
        a, on, inside = activate(z, al, lo[k], hi[k])
        region = (z[..., None] > np.asarray(act.breakpoints, np.float64)).sum(axis=-1, dtype=np.int8)
        states.append((region, on, tangent(np.ones_like(z), al, on, inside)))
    return states
