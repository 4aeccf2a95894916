"""The exact deep walk's scratch memory, kept between walks, and the guard that refuses a
layer of the walk that would not fit in memory.

A layer of the walk (``walk.py``) holds a few ``pieces x widest layer`` float64
matrices: the rows of the product, the product, the maps of the pieces, ``W.T``.  They
are taken from a ``Scratch`` kept per thread between walks, so that neither each layer
nor each walk pays the page faults of fresh memory (in a process whose allocator hands
large blocks back to the system, those cost as much as the arithmetic).  At most
``_KEEP`` bytes are kept.  Before a layer allocates, ``ensure_fits`` compares what it
needs with the memory available, read here (``available_memory``).
"""

import math
import threading

import numpy as np

from ..utils.memory import available_memory

__all__ = ["Scratch", "borrow", "ensure_fits", "give_back"]

_KEEP = 1 << 27
_scratch = threading.local()  # .kept: this thread's Scratch between walks (or None)


class Scratch:
    """Named float64 buffers that only grow; ``take`` views the first elements of one.

    Examples
    --------
    >>> s = Scratch()
    >>> x = s.take("X", (3, 4))
    >>> x.shape, np.shares_memory(x, s.take("X", (2, 2)))  # the same buffer, viewed again
    ((3, 4), True)
    """

    def __init__(self):
        self.bufs = {}

    def take(self, name, shape):
        """A float64 view of ``shape`` on the buffer ``name`` (grown first when too small)."""
        n = math.prod(shape)
        buf = self.bufs.get(name)
        if buf is None or buf.shape[0] < n:
            buf = np.empty(max(n, 2 * buf.shape[0] if buf is not None else n, 1 << 14))
            self.bufs[name] = buf
        return buf[:n].reshape(shape)

    def nbytes(self):
        """Bytes held by all the buffers."""
        return sum(b.nbytes for b in self.bufs.values())


def borrow():
    """This thread's kept scratch (or a new one), the caller's own until ``give_back``.

    Examples
    --------
    >>> s = borrow()
    >>> give_back(s)
    >>> borrow() is s
    True
    """
    scratch = getattr(_scratch, "kept", None) or Scratch()
    _scratch.kept = None  # a walk's own until it returns
    return scratch


def give_back(scratch):
    """Keep ``scratch`` for this thread's next walk, unless it holds more than ``_KEEP`` bytes.

    Examples
    --------
    >>> give_back(Scratch())
    """
    if scratch.nbytes() <= _KEEP:
        _scratch.kept = scratch


def ensure_fits(need, scratch, k, P, w, start, stop):
    """Refuse, before allocating, a layer of the walk that would not fit in memory.

    Parameters
    ----------
    need : int
        Bytes the layer allocates (the walk counts them before it allocates any).
    scratch : Scratch
        The walk's scratch: its buffers are reused, so they count as available.
    k, P, w : int
        The hidden layer, its pieces and the widest of its layers, for the message.
    start, stop : float
        The walk's interval, for the message.

    Raises
    ------
    ValueError
        When ``need`` exceeds the memory available plus the scratch (memory that cannot
        be read refuses nothing).

    Examples
    --------
    >>> ensure_fits(8, Scratch(), 0, 1, 1, -1.0, 1.0)  # 8 bytes fit
    """
    available = available_memory()
    if available is not None and need > available + scratch.nbytes():
        raise ValueError(
            f"the exact walk over [{start:g}, {stop:g}] needs {need / 2**30:,.1f} GiB at hidden layer {k} "
            f"({P:,} pieces, {w:,} units wide), but only {available / 2**30:,.1f} GiB of memory is available; "
            "walk a shorter interval (start/stop), or sweep with a per-point backend (backend='cffi')"
        )
