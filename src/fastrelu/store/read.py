"""Reading a store: ``StoredResult`` holds a stored sweep's fields as ``StoredArray``
objects, which read only the rows a key selects and refuse rows of a chunk never
written; ``open_result`` opens a store, or an ``.npz`` file, by its path.
"""

import operator
import os

import numpy as np

from ..sweeps.result import SweepResult
from ..sweeps.sweep import is_npz
from .format import FORMAT, _check, _fields, _plane_from, _swept_path_from, _zarr


class StoredArray:
    """One array of a store, read lazily, that refuses to read chunks never written.

    Indexing reads just the rows the key selects and checks, before reading them, the
    ``done`` flag of every chunk they lie in: an interrupted sweep's unwritten points
    raise ValueError instead of reading as the store's zero fill.  Every key numpy
    accepts works, with numpy's meaning and errors (``res.y[5]``, ``res.y[::-10]``,
    ``res.y[mask]``, ``res.y[[3, 1]]``, ``res.y[..., 0]``, ``res.y[None]``,
    ``res.y[()]``): the rows are worked out from the key's first-axis part by numpy's
    rules, exactly those rows are read from the store (nothing else ever is), and numpy
    then applies the key to them.  A key that reads every row (``()``, ``...``,
    ``None``, a scalar bool, even ``False``) is checked against every chunk.
    ``shape``, ``dtype``, ``len()`` and ``np.asarray()`` work as for an array;
    ``.zarr`` is the underlying ``zarr.Array`` (unchecked).
    """

    __slots__ = ("zarr", "_done", "_chunk", "_path")

    def __init__(self, array, done, chunk, path):
        self.zarr, self._done, self._chunk, self._path = array, done, chunk, path

    @property
    def shape(self):
        return self.zarr.shape

    @property
    def dtype(self):
        return np.dtype(self.zarr.dtype)

    @property
    def ndim(self):
        return len(self.zarr.shape)

    def __len__(self):
        return self.zarr.shape[0]

    def _rows(self, key):
        """The rows ``key`` reads (a range of positive step, or sorted unique row
        numbers) and the key that gives the same result on just those rows."""
        n = len(self)
        key = key if isinstance(key, tuple) else (key,)
        # the axes each item indexes, by numpy's rules: None and scalar bools none, a
        # k-D boolean mask k, Ellipsis those no other item takes, anything else one
        taken = [0 if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)) else _mask_ndim(item) for item in key]
        if sum(item is Ellipsis for item in key) > 1:  # (not key.count: it compares arrays with ==)
            raise IndexError("an index can only have a single ellipsis ('...')")
        first = None  # the position of the item indexing the first axis; None: all rows are read
        for j, item in enumerate(key):
            if item is Ellipsis and self.ndim > sum(taken):
                break
            if taken[j]:
                first = j
                break
        if first is None:
            return range(n), key
        item, swap = key[first], lambda new: key[:first] + (new,) + key[first + 1 :]
        if isinstance(item, slice):
            rows = range(n)[item]
            return (rows, swap(slice(None))) if rows.step > 0 else (rows[::-1], swap(slice(None, None, -1)))
        if isinstance(item, (int, np.integer)) or (hasattr(item, "__index__") and not isinstance(item, np.ndarray)):
            i = operator.index(item)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis 0 with size {n}")
            return range(i % n, i % n + 1), swap(0)
        a = _index_array(item)
        if a.dtype == bool:
            if a.shape[0] != n:
                raise IndexError(
                    f"boolean index did not match indexed array along axis 0; size of axis is {n} "
                    f"but size of corresponding boolean axis is {a.shape[0]}"
                )
            rows = np.flatnonzero(a.any(axis=tuple(range(1, a.ndim))))
            return rows, swap(a[rows])
        if a.size and (a.min() < -n or a.max() >= n):
            bad = a.ravel()[np.flatnonzero((a.ravel() < -n) | (a.ravel() >= n))[0]]
            raise IndexError(f"index {bad} is out of bounds for axis 0 with size {n}")
        rows, inverse = np.unique(np.where(a < 0, a + n, a), return_inverse=True)
        return rows, swap(inverse.reshape(a.shape))

    def _read(self, rows):
        """Rows ``rows`` of the store (see ``_rows``), once their chunks are known to be written."""
        n, c = len(self), self._chunk
        if not len(rows):
            return np.empty((0, *self.shape[1:]), self.dtype)
        if isinstance(rows, range) and rows.step <= c:  # no array of 10**9 row numbers
            chunks = np.arange(rows[0] // c, rows[-1] // c + 1)
        else:
            chunks = np.unique(np.asarray(rows) // c)
        missing = chunks[~self._done[:][chunks]]
        if missing.size:
            k = int(missing[0])
            raise ValueError(
                f"{self._path!r} is incomplete: points {k * c:,} to {min((k + 1) * c, n) - 1:,} "
                "were never written; run the same sweep again to finish it"
            )
        if isinstance(rows, range):
            return self.zarr[rows[0] : rows[-1] + 1 : rows.step]
        return self.zarr.get_orthogonal_selection((rows,))

    def __getitem__(self, key):
        rows, key = self._rows(key)
        # numpy checks the rest of the key on a stand-in before anything is read, so that
        # a wrong key is numpy's IndexError whether or not the store is complete (a view,
        # or for an advanced key one byte per element of the result)
        np.broadcast_to(np.zeros((), bool), (len(rows), *self.shape[1:]))[key]
        return self._read(rows)[key]

    def __array__(self, dtype=None, copy=None):
        a = self[:]
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        return f"StoredArray(shape={self.shape}, dtype={self.dtype.name})"


def _index_array(item):
    """``item`` as an integer or boolean index array, or numpy's IndexError."""
    try:
        a = np.asarray(item)
    except ValueError:  # ragged
        a = None
    if a is not None and a.dtype == float and a.size == 0 and not isinstance(item, np.ndarray):
        a = a.astype(np.intp)  # numpy reads [] as an empty list of row numbers
    if a is None or a.dtype.kind not in "biu":
        raise IndexError(
            "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean arrays are valid indices"
        )
    return a


def _mask_ndim(item):
    """How many axes a key item other than None, Ellipsis and a scalar bool indexes:
    a boolean mask its number of dimensions, anything else one."""
    if isinstance(item, (slice, int, np.integer)):
        return 1
    try:
        a = np.asarray(item)
    except ValueError:
        return 1  # numpy refuses it once the key is applied
    return a.ndim if a.dtype == bool else 1


class StoredResult:
    """A sweep held in a Zarr store: the fields of ``SweepResult``, read lazily.

    ``x``, ``y``, ``slope``, ``negative`` and ``negative_by_layer`` are ``StoredArray`` objects: index them
    (``res.y[:1000]``) to read just that part.  ``load()`` reads everything into a
    ``SweepResult``; ``chunks()`` yields it piece by piece.

    A plane's store (``sweep(net, plane=..., out=...)``) holds ``y``, ``slope``,
    ``negative`` and ``negative_by_layer`` shaped as the in-memory result's, rows of
    pixels first, read by rows and tiles of rows; ``u``, ``v`` (arrays), ``plane`` and
    ``bounds`` as in ``SweepResult``, and ``x`` is None.

    Examples
    --------
    >>> import fastrelu, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "res.zarr")
    >>> res = fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=1000, out=path, chunk=300)
    >>> len(res), res.y[:3].shape
    (1000, (3,))
    >>> bool((res.load().y == fastrelu.sweep(res.network, num=1000, backend=res.backend).y).all())
    True
    """

    def __init__(self, path):
        zarr = _zarr()
        try:
            root = zarr.open_group(os.fspath(path), mode="r")
            attrs = dict(root.attrs)
        except Exception as exc:
            raise ValueError(f"{os.fspath(path)!r} is not a fastrelu result store: {exc}") from None
        if attrs.get("format") != FORMAT:
            raise ValueError(f"{os.fspath(path)!r} is not a fastrelu result store")
        self.path, self._root = os.fspath(path), root
        if attrs.get("fingerprint") is None:
            raise ValueError(f"{self.path!r} holds no result: its creation was interrupted; sweep into it again to replace it")
        attrs, self.network, self.along = _check(root, self.path)
        self.plane = _plane_from(root)
        self.vertices, self.swept_path = _swept_path_from(root, self.path)
        self.x = self.u = self.v = None
        for name in _fields(self.plane):
            setattr(self, name, StoredArray(root[name], root["done"], attrs["chunk"], self.path))
        if self.plane is not None:
            self.u, self.v = root["u"][:], root["v"][:]
        self.backend, self.chunk = attrs["backend"], attrs["chunk"]
        self.computed = ()

    @property
    def dtype(self):
        return np.dtype(self.y.dtype)

    @property
    def complete(self):
        """Whether every chunk has been written."""
        return bool(self._root["done"][:].all())

    @property
    def bounds(self):
        """The swept rectangle of a plane's store (None for a line's)."""
        return None if self.plane is None else self.plane.bounds

    def __len__(self):
        """Points of a line; pixels of a plane."""
        return self.x.shape[0] if self.plane is None else self.u.shape[0] * self.v.shape[0]

    def __repr__(self):
        on = "" if self.plane is None else f", on a plane of {self.v.shape[0]} x {self.u.shape[0]} pixels"
        return (f"StoredResult({self.path!r}, points={len(self)}, hidden={self.network.hidden}, dtype={self.dtype.name}, "
                f"backend={self.backend!r}{on})")

    # The same figure as an in-memory result's, with the same options (help() and IDEs show
    # them): sweep_figure reads a stored sweep chunk by chunk through its reduction.
    plot = SweepResult.plot

    def chunks(self):
        """Yield the stored sweep as in-memory ``SweepResult`` pieces, one per chunk.

        Raises ValueError, before yielding it, at a chunk that was never written (an
        interrupted sweep): unwritten points are never handed out as zeros.
        """
        done = self._root["done"][:]
        rows, what = (len(self), "points") if self.plane is None else (self.v.shape[0], "rows of pixels")
        for k, lo in enumerate(range(0, rows, self.chunk)):
            if not done[k]:
                raise ValueError(
                    f"{self.path!r} is incomplete: {what} {lo:,} to {min(lo + self.chunk, rows) - 1:,} were never "
                    "written; run the same sweep again to finish it"
                )
            yield self._result(slice(lo, lo + self.chunk))

    def _result(self, sl):
        if self.plane is not None:  # a tile of rows of pixels, or all of them
            return SweepResult(
                None, self.y[sl], self.slope[sl], self.negative[sl], network=self.network, backend=self.backend,
                negative_by_layer=self.negative_by_layer[sl], plane=self.plane, u=self.u, v=self.v[sl],
            )
        return SweepResult(
            self.x[sl], self.y[sl], self.slope[sl], self.negative[sl], network=self.network, backend=self.backend,
            negative_by_layer=self.negative_by_layer[sl], along=self.along,
        )

    def load(self):
        """Read the whole sweep into memory as a ``SweepResult``."""
        if not self.complete:
            raise ValueError(f"{self.path!r} is incomplete: run the same sweep again to finish it")
        return self._result(slice(None))


def open_result(path):
    """Open a saved sweep: a Zarr store as a lazy ``StoredResult``, an ``.npz`` file as a ``SweepResult``.

    Examples
    --------
    >>> import fastrelu, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "res.npz")
    >>> _ = fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=50, out=path)
    >>> len(fastrelu.open_result(path))
    50
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")

    if is_npz(path):
        return SweepResult.load(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file or store: {os.fspath(path)!r}")
    return StoredResult(path)
