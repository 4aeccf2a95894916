"""Where the package root and the command line import a stored sweep's reader from.

The store lives by concern beside this module: ``format`` (the layout, fingerprint
and checks), ``write`` (``sweep_to_store``, locally or on Dask) and ``read``
(``StoredResult``, ``open_result``).
"""

from .read import StoredResult, open_result

__all__ = ["StoredResult", "open_result"]
