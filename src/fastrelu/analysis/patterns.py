"""Activation patterns of linear pieces: each unit's region there, and a stable hash of it.

A unit's *region* is the number of its activation's breakpoints strictly below its
pre-activation ``z`` (ReLU: 0 where ``z <= 0``, 1 where ``z > 0``; Hardtanh(-1, 1): 0 to 3),
so that ``z <= 0`` is off, as everywhere in fastrelu.  A max-pool window's region is its
argmax (the first of equals, as PyTorch's).  The pieces of a line (``Regions``) and the
faces of a plane (``RegionMap``) hold patterns in this form and hash them with
``pattern_hashes``, so the same pattern gets the same hash on a line and on a plane of
the same network.

Every network is read through its graph (``Network.graph``; a dense chain's is built from
its layers): its *piecewise nodes* (activations and max-pools) in order, which
``node_states`` evaluates with the one forward, ``fastrelu.model.forward.propagate_graph``.
"""

from typing import NamedTuple

import numpy as np

from ..model.forward import activate, propagate_graph, tangent
from ..model.graph import PIECEWISE, act_form, maxpool_windows

__all__ = ["Layout", "PackedPatterns", "State", "graph64", "layout", "node_states", "pattern_hashes"]

HASH_SEED = 0x9E3779B97F4A7C15  # the golden ratio in 64 bits: any fixed odd constant would do
_HASH_BLOCK = 1 << 22  # pattern entries per block of the hash: bounded temporaries


def splitmix(x):
    """SplitMix64's finaliser on uint64 arrays: every input bit reaches every output bit."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def unit_keys(start, n):
    """The hash keys of units ``start`` to ``start + n - 1`` of a pattern (``pattern_hashes``)."""
    with np.errstate(over="ignore"):
        return splitmix(np.uint64(HASH_SEED) * np.arange(start + 1, start + n + 1, dtype=np.uint64))


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
    keys = unit_keys(0, n)
    out = np.zeros(pattern.shape[0], np.uint64)
    rows = max(1, _HASH_BLOCK // max(n, 1))
    with np.errstate(over="ignore"):
        for i0 in range(0, pattern.shape[0], rows):
            block = pattern[i0 : i0 + rows].astype(np.uint64) + np.uint64(1)
            out[i0 : i0 + rows] = (block * keys).sum(axis=1, dtype=np.uint64)
    return splitmix(out ^ np.uint64(n))


_PACK_ROWS = 1 << 16  # rows per block when packing and unpacking: bounded temporaries


class PackedPatterns:
    """The regions of one layer's units on many faces, ``bits`` bits a unit, packed in bytes.

    A region map keeps a pattern row per face and layer; on wide networks those rows are
    most of its memory (784 -> [1024] x 4 -> 10: 4.6 million faces of 4,096 units).  A
    ReLU unit's region is 0 or 1 and takes one bit (a Hardtanh's, 0 to 3, two; a max-pool
    window's argmax, as many as its inputs need), so a row of 1,024 ReLU units takes 128
    bytes instead of 1,024.  Rows are compared, sorted and merged as bytes (equal rows,
    equal bytes: the padding bits are 0), and unpacked to ``int8`` only where read.

    Parameters
    ----------
    data : ndarray of uint8, shape (F, nbytes)
        The packed rows (``numpy.packbits`` of each unit's bits, lowest bit first).
    width : int
        Units in a row.
    bits : int
        Bits a unit.

    Examples
    --------
    >>> r = np.array([[0, 1, 1], [3, 0, 2]], np.int8)
    >>> p = PackedPatterns.pack(r, bits=2)
    >>> p.shape, p.data.shape
    ((2, 3), (2, 1))
    >>> p.rows().tolist()
    [[0, 1, 1], [3, 0, 2]]
    """

    __slots__ = ("bits", "data", "width")

    def __init__(self, data, width, bits):
        self.data = np.ascontiguousarray(data, np.uint8)
        self.width = int(width)
        self.bits = int(bits)
        if self.data.ndim != 2 or self.data.shape[1] != (self.width * self.bits + 7) // 8:
            raise ValueError(f"packed rows of {self.width} units of {self.bits} bits take "
                             f"{(self.width * self.bits + 7) // 8} bytes, got an array {self.data.shape}")

    @classmethod
    def pack(cls, regions, bits=None):
        """Pack ``regions`` (ints ``(F, width)`` from 0 to ``2**bits - 1``; ``bits`` None: as
        many as the largest needs)."""
        regions = np.asarray(regions)
        F, width = regions.shape
        top = int(regions.max()) if regions.size else 0
        if regions.size and int(regions.min()) < 0:
            raise ValueError("a region is negative: nothing to pack")
        bits = max(1, top.bit_length()) if bits is None else int(bits)
        if top >= 1 << bits:
            raise ValueError(f"a region of {top} does not fit in {bits} bits")
        data = np.empty((F, (width * bits + 7) // 8), np.uint8)
        shifts = np.arange(bits, dtype=np.uint8)
        for i0 in range(0, F, _PACK_ROWS):
            block = regions[i0 : i0 + _PACK_ROWS].astype(np.uint8)
            if bits > 1:
                block = ((block[:, :, None] >> shifts) & 1).reshape(block.shape[0], width * bits)
            data[i0 : i0 + _PACK_ROWS] = np.packbits(block, axis=1)
        return cls(data, width, bits)

    @property
    def shape(self):
        """``(F, width)``: the shape of the rows unpacked."""
        return (self.data.shape[0], self.width)

    def __len__(self):
        return self.data.shape[0]

    def rows(self, index=None):
        """The rows ``index`` (any numpy index of faces; None: all) unpacked, int8 ``(n, width)``."""
        data = self.data if index is None else self.data[index]
        if data.ndim == 1:
            data = data[None]
        out = np.empty((data.shape[0], self.width), np.int8)
        weights = (1 << np.arange(self.bits)).astype(np.uint8)
        for i0 in range(0, data.shape[0], _PACK_ROWS):
            b = np.unpackbits(data[i0 : i0 + _PACK_ROWS], axis=1, count=self.width * self.bits)
            if self.bits > 1:
                b = (b.reshape(b.shape[0], self.width, self.bits) * weights).sum(axis=2, dtype=np.uint8)
            out[i0 : i0 + _PACK_ROWS] = b.view(np.int8)
        return out

    def take(self, index):
        """The rows ``index``, still packed."""
        return PackedPatterns(self.data[index], self.width, self.bits)

    def count_at_most(self, r):
        """Units of region ``<= r`` in each row (int64 ``(F,)``), a block of rows at a time."""
        out = np.empty(self.data.shape[0], np.int64)
        for i0 in range(0, out.shape[0], _PACK_ROWS):
            out[i0 : i0 + _PACK_ROWS] = np.count_nonzero(self.rows(slice(i0, i0 + _PACK_ROWS)) <= r, axis=1)
        return out

    def hash_sums(self, start):
        """Each row's share of ``pattern_hashes`` of the patterns it is part of, these units
        being ``start`` to ``start + width - 1`` of the pattern: ``sum((r_i + 1) * key_i)``
        modulo 2**64, read off the packed bytes.

        The sum is linear in each bit of a region (``r = sum(2**j * bit_j)``), so it is a sum
        over the row's bits, and each byte's share is looked up in a table of its 256
        values: a byte a step, where unpacking would take a unit (8 times the work of a
        ReLU row, and its memory).

        Examples
        --------
        >>> r = np.array([[0, 1, 1], [3, 0, 2]], np.int8)
        >>> p = PackedPatterns.pack(r, bits=2)
        >>> bool((splitmix(p.hash_sums(0) ^ np.uint64(3)) == pattern_hashes(r)).all())
        True
        """
        keys = unit_keys(start, self.width)
        nbits = 8 * self.data.shape[1]
        # the weight of each bit of a row: bit j of unit i weighs 2**j * key_i (the padding, 0)
        weight = np.zeros(nbits, np.uint64)
        unit, j = np.divmod(np.arange(self.width * self.bits), self.bits)
        with np.errstate(over="ignore"):
            weight[: self.width * self.bits] = keys[unit] * (np.uint64(1) << j.astype(np.uint64))
            # table[b, v]: the share of byte b holding v (numpy.packbits: its first bit is the high one)
            vbits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.uint64)  # (256, 8)
            table = (vbits[None, :, :] * weight.reshape(-1, 1, 8)).sum(axis=2, dtype=np.uint64)  # (nbytes, 256)
            out = np.full(self.data.shape[0], keys.sum(dtype=np.uint64), np.uint64)  # the + 1 of every unit
            for b in range(self.data.shape[1]):
                out += table[b][self.data[:, b]]
        return out

    def __reduce__(self):  # (slots: pickled for Dask tasks by its three fields)
        return (PackedPatterns, (self.data, self.width, self.bits))


class Layout(NamedTuple):
    """The piecewise nodes of a network, as patterns, counts and crossings name them.

    ``nodes``: the ``Node``s of kind ``act`` or ``maxpool``, in order; ``labels``: what
    ``switching`` and ``boundary_distance`` call each (a dense chain's hidden layer, a
    graph's index in ``net.nodes``); ``offsets``: the first unit of each in a pattern's
    concatenated units (a max-pool's units are its windows).
    """

    nodes: tuple
    labels: np.ndarray
    offsets: np.ndarray

    @property
    def units(self):
        return int(self.offsets[-1])

    def names(self, net):
        """Column names: ``layer0``, ... of a dense chain, the node names of a graph."""
        return [n.name for n in self.nodes] if net.is_graph else [f"layer{k}" for k in range(len(self.nodes))]

    def split(self, u):
        """``(label, unit)`` arrays of the concatenated units ``u``."""
        k = np.searchsorted(self.offsets, np.asarray(u, np.int64), side="right") - 1
        return self.labels[k], np.asarray(u, np.int64) - self.offsets[k]


def layout(net):
    """The ``Layout`` of ``net`` (worked out once per network).

    Examples
    --------
    >>> import fastrelu
    >>> lay = layout(fastrelu.Network.random([2, 3, 4, 1], seed=0))
    >>> lay.labels.tolist(), lay.offsets.tolist()
    ([0, 1], [0, 3, 7])
    """
    if "layout" not in net._derived:
        g = net.graph
        nodes = tuple(n for n in g.nodes if n.kind in PIECEWISE)
        labels = np.array([g.index[n.name] for n in nodes] if net.is_graph else range(len(nodes)), np.int64)
        net._derived["layout"] = Layout(nodes, labels, np.cumsum([0, *(n.size for n in nodes)]).astype(np.int64))
    return net._derived["layout"]


def graph64(net):
    """``net``'s graph in float64 (worked out once per network): what patterns are read on.

    Examples
    --------
    >>> import fastrelu
    >>> [n.kind for n in graph64(fastrelu.Network.random([2, 3, 1], seed=0, dtype="float32")).nodes]
    ['input', 'dense', 'act', 'dense']
    """
    if "graph64" not in net._derived:
        net._derived["graph64"] = net.graph.astype(np.float64)
    return net._derived["graph64"]


class State(NamedTuple):
    """A piecewise node's state at some points, each array ``(rows, units)``.

    ``region``: each unit's region (an activation's breakpoints below ``z``, a max-pool
    window's argmax); ``on``: ``z > 0`` (None for a max-pool); ``slope``: the activation's
    derivative, PyTorch's at a breakpoint (None for a max-pool).
    """

    node: object
    region: np.ndarray
    on: object
    slope: object


def _act_state(node, z):
    """The ``State`` of an activation node at its inputs ``z`` (rows, *shape): the forward
    pass's own step (``activate``)."""
    alpha, lo, hi = act_form(node, np.float64)
    z = z.reshape(z.shape[0], -1)
    alpha = alpha.reshape(-1)
    _, on, inside = activate(z, alpha, lo, hi)
    region = (z[..., None] > np.asarray(node.params["act"].breakpoints, np.float64)).sum(axis=-1, dtype=np.int8)
    return State(node, region, on, tangent(np.ones_like(z), alpha, on, inside))


def node_states(graph, x, dx=None):
    """Every piecewise node's ``State`` at the inputs ``x`` (rows, *input_shape) of the
    float64 ``graph``, in order; and with tangents ``dx`` (rows, k, *input_shape) the
    output's tangents (rows, k, *output_shape), else None.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network([1.0, -1.0], [0.0, 1.0], [2.0, 3.0])
    >>> [(s.region.tolist(), s.slope.tolist()) for s in node_states(graph64(net), np.array([[0.5]]))[0]]
    [([[1, 1]], [[1.0, 1.0]])]
    """
    states = []

    def visit(node, z, dz):
        if node.kind == "act":
            states.append(_act_state(node, z))
        else:
            arg = np.argmax(maxpool_windows(node, z, -np.inf), axis=-1)
            states.append(State(node, arg.reshape(arg.shape[0], -1), None, None))

    _, dy = propagate_graph(graph, np.asarray(x, np.float64).reshape((-1, *graph.input_shape)), dx, visit=visit)
    return states, dy
