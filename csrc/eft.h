/* Error-free transformations and double-double sums: the twin of
 * src/fastrelu/kernels/eft.py, shared by the exact walks' C kernels (exact_c.c, walk_c.c).
 *
 * Each is exact only if every operation is rounded as written: a file that includes
 * this header switches contraction off first (its own pragmas, before the include), and
 * the one product that must be fused is the explicit fma() of two_prod.  A value hi + lo
 * is returned as a struct, as the Numba twins return a tuple.  Also the sorted-array
 * searches both exact walks read their switch points with.
 */
#ifndef FASTRELU_EFT_H
#define FASTRELU_EFT_H

#include <math.h>
#include <stdint.h>

/* A double-double value hi + lo. */
typedef struct {
    double hi, lo;
} dd;

/* a*b == p + e exactly. */
static inline dd two_prod(double a, double b)
{
    double p = a * b;
    dd r = {p, fma(a, b, -p)};
    return r;
}

/* a + b == s + e exactly (Knuth; no ordering needed). */
static inline dd two_sum(double a, double b)
{
    double s = a + b;
    double bb = s - a;
    dd r = {s, (a - (s - bb)) + (b - bb)};
    return r;
}

/* Double-double sum, renormalised so that hi == hi + lo in float64. */
static inline dd dd_add(double ah, double al, double bh, double bl)
{
    dd se = two_sum(ah, bh);
    double s = se.hi, e = se.lo;
    e += al + bl;
    double h = s + e;
    dd r = {h, e - (h - s)};
    return r;
}

/* a * (h + lo) in double-double. */
static inline dd dd_scale(double a, double h, double lo)
{
    dd pe = two_prod(a, h);
    double p = pe.hi, e = pe.lo;
    e = fma(a, lo, e);
    double s = p + e;
    dd r = {s, e - (s - p)};
    return r;
}

/* Number of switch points < x (binary search; exact_numba.py's _count_below). */
static inline int64_t count_below(const double *ts, int64_t m, double x)
{
    int64_t lo = 0, hi = m;
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if (ts[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Number of switch points < x, from k, that of the previous point: a merge walk
 * where the points ascend (k only grows), else a binary search (twin: _locate). */
static inline int64_t locate(const double *ts, int64_t m, int64_t k, double x, int ascending)
{
    if (!ascending)
        return count_below(ts, m, x);
    while (k < m && ts[k] < x)
        k += 1;
    return k;
}

#endif
