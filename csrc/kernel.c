/* fastrelu C kernels, built by cffi (csrc/build_ckernel.py) with OpenMP.
 * The loops live in sweep_kernel.inc, instantiated here once per dtype. */
#include <stdint.h>
#include <stdlib.h>
#include <omp.h>

/* Tile sizes: keep equal to TILE, HBLOCK and CHUNK_TILES in src/fastrelu/_config.py
 * (tests/test_kernels.py checks it through the constants below). */
#define TILE 64
#define HBLOCK 4096
#define CHUNK_TILES 16

const int FASTRELU_TILE = TILE;
const int FASTRELU_HBLOCK = HBLOCK;
const int FASTRELU_CHUNK_TILES = CHUNK_TILES;

/* The deep kernel's tiling: keep equal to the DEEP_* constants in _config.py (same test). */
#define DEEP_TILE 64
#define DEEP_VECTOR 32
#define DEEP_ROWS 6
#define DEEP_KBLOCK 128
#define DEEP_MBLOCK 96
#define DEEP_CHUNK_TILES 4

const int FASTRELU_DEEP_TILE = DEEP_TILE;
const int FASTRELU_DEEP_VECTOR = DEEP_VECTOR;
const int FASTRELU_DEEP_ROWS = DEEP_ROWS;
const int FASTRELU_DEEP_KBLOCK = DEEP_KBLOCK;
const int FASTRELU_DEEP_MBLOCK = DEEP_MBLOCK;
const int FASTRELU_DEEP_CHUNK_TILES = DEEP_CHUNK_TILES;

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
