"""Error-free transformations: the double-double arithmetic of the exact backends.

``two_prod`` and ``two_sum`` split a product or a sum into its rounded value and its
exact error, and ``dd_add`` / ``dd_scale`` keep a (hi, lo) pair whose error does not
grow with the number of terms.  They are correct only as written: every caller is
compiled with ``jit(exact=True)``, no fastmath at all, so nothing is contracted or
reassociated.  The C twin (csrc/exact_c.c) writes the same operations with
``fma()`` from <math.h>.
"""

from fractions import Fraction

import numba
from numba import types
from numba.extending import intrinsic

from ..utils.config import jit

__all__ = ["fma", "two_prod", "two_sum", "dd_add", "dd_scale"]


@intrinsic
def _fma_llvm(typingctx, a, b, c):
    """``a*b + c`` with one rounding (LLVM's fma; a single instruction on any CPU with FMA)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


def _fma_python(a, b, c):
    """The same in plain Python, for NUMBA_DISABLE_JIT=1 (coverage runs): exact, then rounded once."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


fma = _fma_python if numba.config.DISABLE_JIT else _fma_llvm


@jit(exact=True)
def two_prod(a, b):
    """``a*b == p + e`` exactly."""
    p = a * b
    return p, fma(a, b, -p)


@jit(exact=True)
def two_sum(a, b):
    """``a + b == s + e`` exactly (Knuth; no ordering needed)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@jit(exact=True)
def dd_add(ah, al, bh, bl):
    """Double-double sum, renormalised so that ``hi == hi + lo`` in float64."""
    s, e = two_sum(ah, bh)
    e += al + bl
    h = s + e
    return h, e - (h - s)


@jit(exact=True)
def dd_scale(a, h, lo):
    """``a * (h + lo)`` in double-double."""
    p, e = two_prod(a, h)
    e = fma(a, lo, e)  # written out, as the C twin writes it: the same bits whether or not a compiler fuses
    s = p + e
    return s, e - (s - p)
