"""numpy backend: the reference every other backend is tested against.

Plain and obviously correct: the pre-activations of a block of points against all
hidden units as one 2-D array, then masks and sums.  Blocks of points keep the
temporaries near ``_BLOCK_ELEMENTS`` elements whatever the grid size.
Same arguments as the kernels (``fastrelu.backends.numba_kernel.sweep_kernel``).
"""

import numpy as np

_BLOCK_ELEMENTS = 1 << 18


def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    rows = max(1, _BLOCK_ELEMENTS // w1.shape[0])
    for i0 in range(0, x.shape[0], rows):
        z = np.multiply.outer(x[i0 : i0 + rows], w1) + b1
        on = z > 0
        # ReLU counts as active only where z > 0: at a kink the slope is the off side's
        y[i0 : i0 + rows] = b2 + np.where(on, w2 * z, (alpha * w2) * z).sum(axis=1)
        slope[i0 : i0 + rows] = np.where(on, c, alpha * c).sum(axis=1)
        negative[i0 : i0 + rows] = np.count_nonzero(~on, axis=1)


def get_num_threads():
    return 1


def set_num_threads(n):
    """The reference is single-threaded; a thread count is accepted and ignored."""


def forward(net, x):
    """The output of ``net`` at the 1-D array ``x`` (in ``x``'s dtype)."""
    w1, b1, w2, b2, c, alpha = net._kernel_params(x.dtype)
    y, slope = np.empty_like(x), np.empty_like(x)
    sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, np.empty(x.shape, np.int32))
    return y
