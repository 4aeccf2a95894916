"""Which outputs of a network a figure or a page draws."""

import numpy as np

#: At most this many outputs are drawn by default (``outputs=`` picks others).
MAX_OUTPUTS = 10


def shown_outputs(net, outputs):
    """Indices of the outputs to draw, or None for a network of one output.

    ``outputs`` is None (the first ``MAX_OUTPUTS``) or output indices, negative ones
    counted from the end; anything else raises ``ValueError`` before anything is drawn.

    Examples
    --------
    >>> import fastrelu
    >>> net = fastrelu.Network.random([1, 4, 12], seed=0)
    >>> shown_outputs(net, None) == list(range(10)), shown_outputs(net, [0, -1])
    (True, [0, 11])
    """
    out = net.out_features
    if outputs is None:
        return None if out == 1 else list(range(min(out, MAX_OUTPUTS)))
    picked = np.atleast_1d(np.asarray(outputs))
    if picked.ndim != 1 or picked.size == 0 or not np.issubdtype(picked.dtype, np.integer):
        raise ValueError(f"outputs must be output indices (ints), got {outputs!r}")
    if picked.min() < -out or picked.max() >= out:
        raise ValueError(f"outputs must be indices of the network's {out} outputs, got {outputs!r}")
    picked = [int(k) % out for k in picked]
    if len(set(picked)) != len(picked):
        raise ValueError(f"outputs has repeats: {outputs!r}")
    return None if out == 1 else picked


def pick(v, shown):
    """The ``shown`` columns of ``v`` (N, out); ``v`` itself when it is 1-D or ``shown`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> pick(np.arange(6).reshape(2, 3), [2, 0])
    array([[2, 0],
           [5, 3]])
    """
    return v if shown is None or v.ndim == 1 else v[:, shown]
