"""The bottom layer: what every other layer may use, importing nothing of fastrelu above it.

- ``validation``: the one module of argument checks (types, dtypes, shapes, finiteness).
- ``config``: compile-time and run-time settings shared by the twins, named once.
- ``memory``: how much memory a request may use (host, capped by a cgroup).
- ``files``: ``.npz`` files opened for reading and writing with clear errors.
- ``plugins``: functions an upper layer lends to a lower one (figures, pages, stores).
"""
