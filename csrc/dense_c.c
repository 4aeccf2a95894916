/* fastrelu C kernels, built by cffi (csrc/build_c.py) with OpenMP.
 * The loops live in dense_c_sweep.inc, instantiated here once per dtype. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The blocking of the one-layer kernel (HBLOCK, CHUNK) and the deep kernel's tiling
 * (DEEP_*) are set in one place, src/fastrelu/utils/config.py, which the Numba twin
 * reads too: csrc/build_c.py passes each to the compiler as a macro.  They are
 * exported again below so that tests/test_kernels.py can check the build used the
 * config's values.  The register block is chosen per CPU, see register_points; the
 * Numba twin sizes its stack arrays for the largest, config.MAX_RBLOCK. */
#if !defined(HBLOCK) || !defined(CHUNK) || !defined(DEEP_TILE) || !defined(DEEP_VECTOR) \
    || !defined(DEEP_ROWS) || !defined(DEEP_KBLOCK) || !defined(DEEP_MBLOCK) || !defined(DEEP_CHUNK_TILES)
#error "HBLOCK, CHUNK and DEEP_* are set in src/fastrelu/utils/config.py: build with csrc/build_c.py, which passes them"
#endif

const int FASTRELU_HBLOCK = HBLOCK;
const int FASTRELU_CHUNK = CHUNK;
const int FASTRELU_DEEP_TILE = DEEP_TILE;
const int FASTRELU_DEEP_VECTOR = DEEP_VECTOR;
const int FASTRELU_DEEP_ROWS = DEEP_ROWS;
const int FASTRELU_DEEP_KBLOCK = DEEP_KBLOCK;
const int FASTRELU_DEEP_MBLOCK = DEEP_MBLOCK;
const int FASTRELU_DEEP_CHUNK_TILES = DEEP_CHUNK_TILES;

/* The hot loop is compiled for AVX-512, AVX2 and baseline x86-64 and the loader
 * picks one at run time (GCC ifunc), so one portable build is fast everywhere.
 * GCC 12 names the levels x86-64-v4/v3; GCC 11 gets the same instruction sets by
 * the names of their first CPUs.  Clang, musl (no ifunc) and other CPUs get one
 * portable build (baseline: no FMA, so not bit-identical to the Numba twin, see
 * tests/test_kernels.py).  FASTRELU_MARCH_NATIVE=1 at build time compiles for the
 * build machine instead. */
#if defined(FASTRELU_NATIVE)
#define FASTRELU_CLONES
#define BUILD_KIND 2
#elif !defined(__x86_64__) || !defined(__GNUC__) || defined(__clang__) || !defined(__GLIBC__) || __GNUC__ < 11
#define FASTRELU_CLONES
#define BUILD_KIND 0
#elif __GNUC__ < 12
#define FASTRELU_CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#define BUILD_KIND 1
#else
#define FASTRELU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define BUILD_KIND 1
#endif
/* 0: one portable build; 1: clones picked at run time; 2: -march=native.  The
 * twin test (tests/test_kernels.py) reads it: builds 1 and 2 fuse multiply-adds on
 * a CPU with FMA, as the Numba twin does, and must give the same bits. */
const int FASTRELU_BUILD_KIND = BUILD_KIND;

/* Whether a parallel region has run with more than one thread.  GNU OpenMP cannot
 * start its threads again in a process forked after that, so fastrelu runs the C
 * kernels on one thread there (src/fastrelu/kernels/threads.py). */
static int team_started = 0;

void note_openmp_team(void)
{
#ifdef _OPENMP
    if (omp_in_parallel()) {
        #pragma omp atomic write
        team_started = 1;
    }
#endif
}

int openmp_started(void) { return team_started; }

static int forced_vector_bytes = 0;

/* For the tests: run the one-layer kernel as if the vectors were this wide (16, 32
 * or 64 bytes; 0, or any other number, goes back to the CPU's), so that every
 * width's code runs on any CPU.  The bits do not change, only the speed (see
 * dense_c_vec.inc). */
void set_vector_bytes(int bytes) { forced_vector_bytes = bytes == 16 || bytes == 32 || bytes == 64 ? bytes : 0; }

/* The widest vector register the running code uses, in bytes: the rule the Numba
 * twin applies to its compile target (dense_numba.target_vector_bytes).  The clones pick
 * x86-64-v4 code on a CPU with AVX-512 (F, VL, BW, DQ), x86-64-v3 code with AVX2 and
 * FMA; -march=native code uses what the build machine has; a portable build has
 * baseline x86-64's SSE2, or what the compiler targets by default elsewhere. */
static int vector_bytes(void)
{
    if (forced_vector_bytes)
        return forced_vector_bytes;
#if BUILD_KIND == 1
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return 64;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 32;
    return 16;
#elif defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
    return 64;
#elif defined(__AVX2__) && defined(__FMA__)
    return 32;
#else
    return 16;
#endif
}

/* Points in the one-layer kernel's register block: two vector registers of them. */
int register_points(int itemsize) { return 2 * vector_bytes() / itemsize; }

/* The deep kernel's vectors, in bytes: AVX-512's 64 where the running code has them
 * (the FMA units are as wide: twice the flops of AVX2's vectors per instruction), else
 * DEEP_VECTOR, AVX2's (baseline x86-64 runs them as pairs).  The Numba twin applies the
 * same rule to its compile target (dense_numba.deep_vector_bytes); set_vector_bytes
 * moves both kernels, so that the tests run either width on any CPU. */
static int deep_vector_bytes(void) { return vector_bytes() >= 64 ? 64 : DEEP_VECTOR; }

#define REAL double
#define IREAL int64_t
#define SFX f64
#include "dense_c_sweep.inc"
#undef REAL
#undef IREAL
#undef SFX

#define REAL float
#define IREAL int32_t
#define SFX f32
#include "dense_c_sweep.inc"
#undef REAL
#undef IREAL
#undef SFX

/* Without OpenMP (a compiler that lacks it) the kernels run on one thread. */
#ifdef _OPENMP
const int FASTRELU_OPENMP = 1;
int get_num_threads(void) { return omp_get_max_threads(); }
void set_num_threads(int n) { omp_set_num_threads(n); }
#else
const int FASTRELU_OPENMP = 0;
int get_num_threads(void) { return 1; }
void set_num_threads(int n) { (void)n; }
#endif
