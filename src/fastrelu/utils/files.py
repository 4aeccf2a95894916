"""``.npz`` files opened for reading and writing, with one clear error for anything wrong."""

import contextlib
import os
import zipfile
import zlib

import numpy as np


def open_for_writing(path):
    """``path`` opened for writing as it is named (``numpy.savez`` given a name would add ``.npz``
    to ``R.NPZ``), with one clear error for a bad one."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    try:
        return open(path, "wb")
    except OSError as exc:
        raise ValueError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def open_npz(path, what):
    """Open an ``.npz`` file for reading (a context manager yielding it), with one clear
    ``ValueError`` naming the file for anything wrong with it.

    A truncated or damaged file is a zip whose directory or member cannot be read:
    ``zipfile`` says so with ``BadZipFile`` (or ``EOFError``, ``zlib.error``), which
    names no file, whether opening it or reading an array from it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    name = os.fspath(path)
    damaged = (zipfile.BadZipFile, EOFError, zlib.error)
    try:
        # opened here, not by numpy.load, which leaves its file open when the zip is bad
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {name!r}") from None
    except OSError as exc:
        raise ValueError(f"{name!r} is not a fastrelu {what} (.npz) file: {exc}") from None
    with f:
        try:
            data = np.load(f, allow_pickle=False)
        except damaged as exc:
            raise ValueError(f"{name!r} is truncated or damaged, or not a fastrelu {what} (.npz) file: {exc}") from None
        except (ValueError, OSError) as exc:
            raise ValueError(f"{name!r} is not a fastrelu {what} (.npz) file: {exc}") from None
        if not isinstance(data, np.lib.npyio.NpzFile):  # one .npy array, whatever its name says
            raise ValueError(f"{name!r} is not a fastrelu {what} (.npz) file: it holds a single .npy array")
        with data:
            try:
                yield data
            except damaged as exc:
                raise ValueError(f"{name!r} is truncated or damaged: {exc}") from None
