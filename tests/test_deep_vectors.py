"""The Numba deep kernel's register block is compiled as its C twin's: vectors of
DEEP_VECTOR bytes, multiply-adds fused, accumulators in registers.

Read off the optimised LLVM IR of ``dense_numba.deep_block`` (not the machine code:
it is the same on every CPU LLVM targets).  Written as scalar loops for LLVM's SLP
pass, the block came out in the loop vectoriser's form on Numba 0.68 (a run-time column
count, accumulators in memory: a fifth of the C twin's speed on AVX-512), or, with a
constant count, in vectors of 40 lanes shuffled between registers.
"""

import re

import numba
import numpy as np
import pytest

from fastrelu.kernels import dense_numba
from fastrelu.utils.config import DEEP_ROWS, DEEP_VECTOR

LLVM_TYPES = {np.dtype(np.float64): ("double", "f64"), np.dtype(np.float32): ("float", "f32")}


def _body(dtype):
    """The optimised LLVM IR of deep_block's own function for arrays of ``dtype``.

    Compiled afresh with the kernel's own options, but no disk cache (a function loaded
    from the cache has no IR to show), on a line (nk = 1) and a plane: both branches.
    """
    options = {**dense_numba.deep_block.targetoptions, "cache": False}
    options.pop("nopython", None)  # implied by njit
    block = numba.njit(**options)(dense_numba.deep_block.py_func)
    points = DEEP_VECTOR // np.dtype(dtype).itemsize
    kc = 5
    for nk in (1, 2):
        wp = np.linspace(-1, 1, DEEP_ROWS * kc).astype(dtype)
        pin = np.linspace(-1, 1, kc * (1 + nk) * points).astype(dtype)
        o = np.zeros(DEEP_ROWS * (1 + nk) * points, dtype)
        block(wp, pin, kc, o, True, nk)
        # the block's sums (the IR is only worth reading if it runs), within the rounding
        # bound of a dot product of kc terms, gamma_kc |W| |a| with gamma_kc <= kc eps
        w, a = wp.reshape(DEEP_ROWS, kc).astype(np.float64), pin.reshape(kc, -1).astype(np.float64)
        bound = kc * np.finfo(dtype).eps * (np.abs(w) @ np.abs(a))
        assert np.all(np.abs(o.reshape(DEEP_ROWS, -1) - w @ a) <= bound)
    (ir,) = block.inspect_llvm().values()
    # the function itself, not its Python or C-callable wrappers
    start = re.search(r"^define [^\n]*@_ZN[^\n]*deep_block", ir, re.MULTILINE).start()
    return ir[start : ir.index("\n}\n", start)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_register_block_is_vectors_of_deep_vector_bytes(dtype):
    body = _body(dtype)
    name, suffix = LLVM_TYPES[np.dtype(dtype)]
    points = DEEP_VECTOR // np.dtype(dtype).itemsize
    # every floating-point vector is one register of DEEP_VECTOR bytes, as C's dvec
    assert set(re.findall(rf"<(\d+) x {name}>", body)) == {str(points)}
    # the multiply-adds fused, on whole vectors: a line's 2 and a plane's 3 vectors a unit
    fmas = re.findall(rf"call [^\n]*@llvm\.fma\.v(\d+){suffix}\(", body)
    assert fmas and set(fmas) == {str(points)}
    assert len(fmas) >= DEEP_ROWS * (2 + 3)
    assert not re.search(rf"call [^\n]*@llvm\.fma\.{suffix}\(", body)  # no scalar one left over
    assert not re.search(rf"fmul [^\n]*{name}", body)  # nor a product rounded on its own
    # the accumulators live in registers: no stack array survives optimisation
    assert "alloca" not in body
