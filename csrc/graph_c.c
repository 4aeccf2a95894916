/* A graph network's per-point sweep in C: the twin of src/fastrelu/kernels/graph_numba.py.
 *
 * Read it line by line against the Python file: same functions in the same order, same
 * arguments in the same order (these also take the lengths, each after the last array it
 * counts), same loops and names (a Numba function name is name_f64 or name_f32 here).  The
 * graph comes as its program (src/fastrelu/kernels/params.py, graph_program): one row of
 * GRAPH_FIELDS int64 per node, the reals and the indices.  The loops live in
 * graph_c_sweep.inc, instantiated here once per dtype; the two twins agree bit for bit
 * where both fuse multiply-adds (tests/test_graph_twins.py).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "graph_c.h"

#if !defined(GRAPH_TILE) || !defined(GRAPH_CHUNK_TILES) || !defined(GRAPH_FIELDS)
#error "GRAPH_* are set in src/fastrelu/utils/config.py: build with csrc/build_c.py, which passes them"
#endif

const int FASTRELU_GRAPH_TILE = GRAPH_TILE;
const int FASTRELU_GRAPH_CHUNK_TILES = GRAPH_CHUNK_TILES;
const int FASTRELU_GRAPH_FIELDS = GRAPH_FIELDS;

/* The tile's loop is compiled for AVX-512, AVX2 and baseline x86-64 and the loader picks
 * one at run time, on the conditions of dense_c.c's FASTRELU_CLONES; every operation is
 * inlined into it, so each clone has its own. */
#if defined(FASTRELU_NATIVE) || !defined(__x86_64__) || !defined(__GNUC__) || defined(__clang__) || \
    !defined(__GLIBC__) || __GNUC__ < 11
#define GRAPH_CLONES
#elif __GNUC__ < 12
#define GRAPH_CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#else
#define GRAPH_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#if defined(__GNUC__)
#define GRAPH_INLINE static inline __attribute__((always_inline))
#else
#define GRAPH_INLINE static inline
#endif

/* the fields of a node's row, and the ops (graph_numba.py's OP, ..., MAXPOOL) */
enum { OP, OUT, SIZE, PR, PI, SRC, A };
enum { INPUT, DENSE, CONV, AVGPOOL, SCALE, GATHER, ADD, ACT, MAXPOOL };
#define MAX_TANGENTS 2
/* an operation's sums, local (its registers, once its loops are unrolled) */
#define LANES ((1 + MAX_TANGENTS) * GRAPH_TILE)

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

/* Every multiply-add is written as the fma() it becomes in the Numba twin, which contracts
 * each product that feeds a sum (fastmath "contract", an FMA CPU): GCC's own contraction
 * left some of them apart once the loops were unrolled into registers, and the twins'
 * bits differed.  On a CPU without FMA the clone's fma() is a library call: the same bits,
 * slower. */
#define REAL double
#define SFX f64
#define FMA fma
#include "graph_c_sweep.inc"
#undef REAL
#undef SFX
#undef FMA

#define REAL float
#define SFX f32
#define FMA fmaf
#include "graph_c_sweep.inc"
#undef REAL
#undef SFX
#undef FMA
