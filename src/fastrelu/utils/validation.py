"""Argument checks shared by the public functions: one clear error, naming the argument."""

import operator
import os

import numpy as np

DTYPES = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}


def as_dtype(dtype, name="dtype"):
    """Return ``numpy.float64`` or ``numpy.float32`` for anything naming one of them."""
    try:
        dt = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        dt = None
    # (np.dtype compares equal to None, hence the explicit identity test)
    if dt is None or dt not in DTYPES.values():
        raise ValueError(f"{name} must be float64 or float32, got {dtype!r}")
    return dt


def as_float_array(a, name, dtype=None, ndim=1):
    """A finite float array with ``ndim`` dimensions (a fresh copy is not promised)."""
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if dtype is None:
        dtype = arr.dtype if arr.dtype in DTYPES.values() else np.dtype(np.float64)
    with np.errstate(over="ignore"):
        out = arr.astype(dtype, copy=False)
    finite = np.isfinite(out)
    if not finite.all():
        i = int(np.flatnonzero(~finite.ravel())[0])
        orig = arr.ravel()[i]
        if np.isfinite(orig):
            raise ValueError(f"{name}[{i}] = {orig.item()!r} overflows {dtype}")
        raise ValueError(f"{name} must be finite, but {name}[{i}] is {orig.item()}")
    return out


def as_finite_scalar(v, name):
    """A finite Python float."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def as_positive_int(v, name):
    """An int >= 1."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}") from None
    if v < 1:
        raise ValueError(f"{name} must be >= 1, got {v}")
    return v


def as_interval(start, stop, *, open_ends=False):
    """``(start, stop)`` as floats with ``start <= stop``; else a clear error naming both.

    The one check of an interval, for grids (``sweep``) and the exact analysis
    (``kinks``, ``regions``).  With ``open_ends``, None means no limit on that side and
    infinities are allowed (``start < +inf``, ``stop > -inf``); without, both must be
    finite numbers.

    Examples
    --------
    >>> as_interval(-1, 2)
    (-1.0, 2.0)
    >>> as_interval(None, 3, open_ends=True)
    (-inf, 3.0)
    """
    if open_ends:
        start, stop = (_open_end(v, name, default) for v, name, default in ((start, "start", -np.inf), (stop, "stop", np.inf)))
        if start == np.inf or stop == -np.inf:
            raise ValueError(f"start must be < +inf and stop > -inf, got start={start} and stop={stop}")
    else:
        start, stop = as_finite_scalar(start, "start"), as_finite_scalar(stop, "stop")
    if stop < start:
        raise ValueError(f"stop must be >= start, got start={start} and stop={stop}")
    return start, stop


def _open_end(v, name, default):
    """``None`` -> ``default``; otherwise a real number, infinities allowed (an open end)."""
    if v is None:
        return default
    if isinstance(v, (float, np.floating)) and np.isinf(v):
        return float(v)
    return as_finite_scalar(v, name)


def existing_folder(path):
    """``path`` as a str, refused unless the folder a file of that name would go into exists
    (checked before any work, so that a long computation is not lost at the end)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{path!r}: no such folder {folder!r}")
    return path


def frozen_copy(a, dtype=None):
    """A fresh C-contiguous copy of ``a`` that is itself read-only (not a view of a
    writable array): caches of what kernels derive from a network key on such arrays,
    since nothing can change them."""
    a = np.array(a, dtype=dtype, copy=True, order="C")
    a.flags.writeable = False
    return a


def readonly(a):
    """A read-only view of ``a`` (results and networks are immutable); ``a`` itself,
    which may be the caller's array, stays as it was."""
    view = np.asarray(a).view()
    view.flags.writeable = False
    return view
