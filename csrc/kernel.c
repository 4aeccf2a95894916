/* fastrelu C kernels, built by cffi (csrc/build_ckernel.py) with OpenMP.
 * The loops live in sweep_kernel.inc, instantiated here once per dtype. */
#include <stdint.h>
#include <omp.h>

/* Tile sizes: keep equal to TILE, HBLOCK and CHUNK_TILES in src/fastrelu/_config.py
 * (tests/test_kernels.py checks it through the constants below). */
#define TILE 64
#define HBLOCK 4096
#define CHUNK_TILES 16

const int FASTRELU_TILE = TILE;
const int FASTRELU_HBLOCK = HBLOCK;
const int FASTRELU_CHUNK_TILES = CHUNK_TILES;

/* The hot loop is compiled for AVX-512, AVX2 and baseline x86-64 and the loader
 * picks one at run time (GCC ifunc), so one portable build is fast everywhere.
 * FASTRELU_MARCH_NATIVE=1 at build time compiles for the build machine instead. */
#if defined(FASTRELU_NATIVE) || !defined(__x86_64__) || !defined(__GNUC__) || defined(__clang__)
#define FASTRELU_CLONES
#else
#define FASTRELU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

#define REAL double
#define SFX f64
#include "sweep_kernel.inc"
#undef REAL
#undef SFX

#define REAL float
#define SFX f32
#include "sweep_kernel.inc"
#undef REAL
#undef SFX

int get_num_threads(void) { return omp_get_max_threads(); }
void set_num_threads(int n) { omp_set_num_threads(n); }
