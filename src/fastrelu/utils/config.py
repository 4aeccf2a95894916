"""Compile-time and run-time settings shared by every backend, named once.

Environment variables
---------------------
FASTRELU_BACKEND
    The backend used when ``backend="auto"`` (the default) is asked for.
FASTRELU_NUMBA_CACHE
    ``0`` switches Numba's on-disk cache off (a stale or read-only cache is a known
    source of crashes); anything else, or unset, keeps it on.
"""

import os
import sys
import threading
import time

# csrc/build_c.py runs this file by its path, before fastrelu is installed, to read the
# numbers below: it must import nothing but the standard library.

VERSION = "0.1.0"  # pyproject.toml's version (tests/test_release.py checks they agree)

# The numbers the C twins are compiled with, named once: csrc/build_c.py passes each to
# the C compiler as a macro of the same name (the C files hold no copy), so that the
# Numba and C twins block their loops identically.  The build exports each again as
# FASTRELU_<name>, which the tests compare with these.
C_CONSTANTS = (
    "HBLOCK",
    "CHUNK",
    "DEEP_TILE",
    "DEEP_VECTOR",
    "DEEP_ROWS",
    "DEEP_KBLOCK",
    "DEEP_MBLOCK",
    "DEEP_CHUNK_TILES",
    "EXACT_CHUNK",
    "WALK_CHUNK",
    "WALK_HITS",
    "GRAPH_TILE",
    "GRAPH_CHUNK_TILES",
    "GRAPH_FIELDS",
)

# Blocking of the one-layer kernel (``sweep_kernel`` in both twins).  Within a
# chunk, a register block of points (two vector registers, so chosen per CPU by each
# twin: see csrc/dense_c_vec.inc) holds its running sums while hidden units stream past.
# Each point sums its units in order and adds the output bias last, so no block size
# changes the bits.
HBLOCK = 4096  # hidden units per block: their parameters stay in cache
CHUNK = 1024  # points per unit of parallel work
MAX_RBLOCK = 32  # the largest register block: two 64-byte vectors of float32

# Tiling of the deep kernel (``sweep_deep`` in both twins).
# A tile of points goes through every layer together, each layer one small matrix
# product of the weights with the tile's values and tangents, computed in register
# blocks of DEEP_ROWS units x one vector of values and one of tangents.
DEEP_TILE = 64  # points per tile, carried through every layer with their tangents
DEEP_VECTOR = 32  # bytes per vector register of the deep kernel on CPUs without AVX-512 (AVX2's); with AVX-512 both twins use 64 (deep_vector_bytes)
DEEP_ROWS = 6  # units per register block: 6 x 2 accumulators + 2 loads + 1 broadcast fill AVX2's 16 registers
DEEP_KBLOCK = 128  # inputs per pass over a layer: the tile's slice of activations stays in L1/L2
DEEP_MBLOCK = 96  # units per pass: their weights for DEEP_KBLOCK inputs (96 KiB in float64) stay in L2
DEEP_CHUNK_TILES = 4  # tiles per unit of parallel work

# Grid points per unit of parallel work in the exact backend's evaluation (both twins:
# kernels/exact_numba.py and csrc/exact_c_evaluate.inc): big enough that a chunk's
# binary search for its first point is negligible, small enough (512 KiB of float64)
# to stay in L2 while the chunk is checked for sortedness and then evaluated.
EXACT_CHUNK = 1 << 16

# The deep exact walk's sweep (``_evaluate`` in kernels/walk_numba.py and csrc/walk_c.c):
# grid points per unit of parallel work, and points lying on an edge remembered per chunk
# (a chunk with more is searched again).
WALK_CHUNK = 1 << 16
WALK_HITS = 64
# One line's walk in segments of a layer's pieces on the threads (kernels/walk.py): at most
# this many segments per thread (on a shared machine a thread that falls behind leaves
# the rest to the others), each of at least this many pieces x units (below that a
# segment's threads cost more than its work saves).
WALK_SEGMENTS_PER_THREAD = 2
# about 9 ns of fill and prefix sums per piece x unit (784 -> [1024] x 8 -> 10, one
# thread): 1.2 ms a segment, against some 30 us to hand a range to another thread
WALK_SEGMENT_WORK = 1 << 17

# The graph twins' per-point sweep (kernels/graph_numba.py and csrc/graph_c.c): points per
# tile (every node of a tile holds each unit's value and tangents for these points side by
# side, so that each operation's innermost loop runs over them), tiles per unit of parallel
# work, and int64 fields per node of a graph's program (kernels/params.py, graph_program).
GRAPH_TILE = 8
GRAPH_CHUNK_TILES = 4
GRAPH_FIELDS = 24

# Only fused multiply-add is allowed to change rounding.  Never "nnan"/"ninf":
# NaN and inf must keep their meaning, and "reassoc" would change summation order
# (the twins sum every point's units in order j = 0..H-1, as the C build does).
FASTMATH = frozenset({"contract"})

NUMBA_CACHE = os.environ.get("FASTRELU_NUMBA_CACHE", "1").strip() not in ("0", "false", "no", "off")


# Numba compiles a kernel at its first call with new argument types, unless its on-disk
# cache holds it: seconds of silence on a default path.  A listener on Numba's compile
# events (fired for cache misses only) says so on stderr, once per process, and adds up
# the compile time so that callers can report it apart from the computation's.
_COMPILES = {"seconds": 0.0, "depth": 0, "start": 0.0, "announced": False, "listening": False}
_COMPILE_LOCK = threading.RLock()


def compile_seconds():
    """Seconds this process has spent compiling fastrelu's Numba kernels (cache loads do
    not count): read it before and after a call to report the compile apart.

    Examples
    --------
    >>> before = compile_seconds()
    >>> compile_seconds() - before
    0.0
    """
    with _COMPILE_LOCK:
        extra = time.perf_counter() - _COMPILES["start"] if _COMPILES["depth"] else 0.0
        return _COMPILES["seconds"] + extra


def _compile_started(name):
    with _COMPILE_LOCK:
        _COMPILES["depth"] += 1
        if _COMPILES["depth"] > 1:  # a kernel's callee, compiled within it: one span
            return
        _COMPILES["start"] = time.perf_counter()
        if not _COMPILES["announced"]:
            _COMPILES["announced"] = True
            after = "cached for next time" if NUMBA_CACHE else "not cached: FASTRELU_NUMBA_CACHE=0"
            print(f"fastrelu: compiling the Numba kernels ({name}, ...) once, a few seconds; {after}",
                  file=sys.stderr, flush=True)


def _compile_ended():
    with _COMPILE_LOCK:
        _COMPILES["depth"] -= 1
        if _COMPILES["depth"] == 0:
            _COMPILES["seconds"] += time.perf_counter() - _COMPILES["start"]


def _listen(numba_event):
    """Install the compile listener once (Numba's compiles are serialised by its lock)."""

    class _Compiles(numba_event.Listener):
        @staticmethod
        def _ours(event):
            func = getattr((event.data or {}).get("dispatcher"), "py_func", None)
            return func is not None and func.__module__.startswith("fastrelu.")

        def on_start(self, event):
            if self._ours(event):
                func = event.data["dispatcher"].py_func
                _compile_started(f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}")

        def on_end(self, event):
            if self._ours(event):
                _compile_ended()

    with _COMPILE_LOCK:
        if not _COMPILES["listening"]:
            numba_event.register("numba:compile", _Compiles())
            _COMPILES["listening"] = True


def jit(*, exact=False):
    """Return the project's ``numba.njit`` decorator.

    One place for the compile options every Numba kernel uses: on-disk cache
    (unless ``FASTRELU_NUMBA_CACHE=0``), the fastmath flags above (none at all with
    ``exact=True``: error-free transformations such as double-double sums must not
    be contracted), numpy's error model (no exceptions from the hot loop) and no GIL,
    so that fastrelu's threads run the kernels at once (never ``parallel=True``: see
    ``fastrelu.kernels.threads`` for why).  A compile (a cache miss) is announced on
    stderr, once per process, and timed apart (``compile_seconds``).
    """
    import numba  # only the Numba backend pays for the import
    from numba.core import event

    _listen(event)
    return numba.njit(
        cache=NUMBA_CACHE,
        fastmath=set() if exact else set(FASTMATH),
        error_model="numpy",
        nogil=True,
    )


# Region maps of a plane (analysis/plane_walk.py): by default a map is cut into tiles, one
# per thread, only for networks with a hidden layer at least this wide; a narrower map is
# one tile whose dense products the threads share.  Since the rounds of cuts became kernels,
# two tiles against one are within the noise from 64 to 256 wide (two runs, 2026-12-06,
# benchmarks/README.md: 0.036 / 0.029 s and 0.036 / 0.041 s at 64 wide, 1.17 / 1.24 s and
# 1.33 / 1.33 s at 256): below this width the cut edges and the merge are not repaid.
PLANE_TILE_MIN_WIDTH = 512

# The exact walk of a graph network along a line (kernels/graph_walk.py) goes in blocks of
# pieces.  A block is split in two, at one of its edges, when its next activation or
# max-pool node would hold more than its share of memory: at most GRAPH_WALK_BYTES, and a
# share of what is available (the blocks on the threads and the halves waiting).  A block
# of fewer than GRAPH_WALK_MIN_PIECES pieces is not worth its Python between the nodes: a
# walk that cannot fit blocks that large is refused before it starts.  The maps go through
# a node's matrix products in runs of a fixed number of maps (about GRAPH_WALK_RUN numbers
# of input each, the last run padded), so that every map meets the same BLAS call however
# the pieces are blocked: OpenBLAS rounds a row of a small product differently with the
# number of rows (measured here), never with the row's place in a call of one shape.
GRAPH_WALK_BYTES = 1 << 30
GRAPH_WALK_MIN_PIECES = 16
GRAPH_WALK_RUN = 1 << 16
