/* The exact backend's kernels in C: the twin of src/fastrelu/kernels/exact_numba.py.
 *
 * Read it line by line against the Python file: same functions in the same order,
 * same arguments in the same order (these also take the lengths, each after the
 * last array it counts), same loops and names (a Numba function _name is name
 * here, exact_name when exported through kernels.h).  The algorithm, and the numpy
 * steps between these functions (the quotients t = -b1/w1, the integer sort of the
 * packed keys), are in src/fastrelu/kernels/exact.py, which calls this twin
 * whenever the build has it: it needs no JIT compile and no Numba.  The two twins
 * agree bit for bit (tests/test_exact_twins.py).
 *
 * The per-dtype evaluation loop is in exact_c_evaluate.inc, included below for
 * float64 and float32 grids.
 */
#include <math.h>
#include <stdint.h>

#include "kernels.h"

/* Double-double arithmetic is exact only if every operation is rounded as written.
 * No reassociation: there is no -ffast-math.  No contraction except the explicit
 * fma() calls: the build passes -ffp-contract=fast (for the brute-force kernels),
 * so switch it off for this file.  GCC ignores the standard pragma, and clang obeys
 * -ffp-contract=fast over any pragma; in both, what keeps the result exact even
 * under contraction is the code itself: every product that feeds a sum is an
 * explicit fma(), and the other products have several uses, which neither GCC nor
 * LLVM (on x86) fuses.  The Numba twin is written the same way. */
#include "rounded.h" /* no contraction in this file: every operation rounded as written */

#include "eft.h" /* after the pragmas: its sums are rounded as written too */

/* Grid points per unit of parallel work, set in src/fastrelu/utils/config.py (which
 * exact_numba.py reads too) and passed to the compiler as a macro by csrc/build_c.py;
 * exported again for tests/test_exact_twins.py to check. */
#ifndef EXACT_CHUNK
#error "EXACT_CHUNK is set in src/fastrelu/utils/config.py: build with csrc/build_c.py, which passes it"
#endif

const int FASTRELU_EXACT_CHUNK = EXACT_CHUNK;

/* Double-double onoff * (w2*w1) and onoff * (w2*b1): a unit's slope and intercept terms. */
static inline void unit_terms(double w1, double b1, double w2, double onoff, dd *c, dd *d)
{
    dd ch = two_prod(w2, w1);
    dd dh = two_prod(w2, b1);
    *c = dd_scale(onoff, ch.hi, ch.lo);
    *d = dd_scale(onoff, dh.hi, dh.lo);
}

/* Sort keys for the switch points whose float64 bit patterns are u: unsigned order
 * made numeric order (negatives flipped, positives with the sign bit set), the low
 * bits bits replaced by the point's position (see the twin). */
void exact_pack_keys(const uint64_t *u, int64_t n, int64_t bits, uint64_t *keys)
{
    const uint64_t top = (uint64_t)1 << 63;
    const uint64_t sh = (uint64_t)bits;
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = u[i];
        v = v & top ? ~v : v | top;
        keys[i] = ((v >> sh) << sh) | (uint64_t)i;
    }
}

/* Positions and switch points in sorted order; 0 if finishing the sort was too
 * costly (an insertion pass over the points that shared their kept high bits). */
int exact_unpack_keys(const uint64_t *keys, int64_t m, int64_t bits, const double *t,
                      int64_t *pos, double *ts)
{
    const uint64_t mask = ((uint64_t)1 << (uint64_t)bits) - (uint64_t)1;
    int64_t budget = 8 * m + 64;
    for (int64_t k = 0; k < m; k++) {
        int64_t i = (int64_t)(keys[k] & mask);
        double v = t[i];
        int64_t q = k;
        while (q > 0 && ts[q - 1] > v) {
            ts[q] = ts[q - 1];
            pos[q] = pos[q - 1];
            q -= 1;
            budget -= 1;
        }
        if (budget < 0)
            return 0;
        ts[q] = v;
        pos[q] = i;
    }
    return 1;
}

/* Gather the switching units' weights in sorted order and fill the prefix states.
 * units (m, 3) holds the switching units' w1, b1, w2 side by side; state is
 * (nstate, 4), nstate == 0 when no lines are wanted. */
void exact_build(const double *w1, const double *b1, const double *w2, int64_t h, double b2,
                 double alpha, const double *units, const int64_t *pos, int64_t m, double *sw1,
                 double *sb1, double *sw2, double *state, int64_t nstate, int32_t *neg)
{
    double gain = 1.0 - alpha; /* what turning on adds, as a multiple of the unit's line */
    for (int64_t k = 0; k < m; k++) {
        int64_t j = pos[k];
        sw1[k] = units[j * 3 + 0], sb1[k] = units[j * 3 + 1], sw2[k] = units[j * 3 + 2];
    }
    if (nstate == 0) /* kinks() needs no lines */
        return;
    /* state at x = -inf: b2, units with w1 > 0 off, w1 < 0 on, w1 == 0 on iff b1 > 0 */
    dd a = {0.0, 0.0}, b = {b2, 0.0}, c, d;
    int64_t off = 0;
    for (int64_t j = 0; j < h; j++) {
        int on = w1[j] == 0.0 ? b1[j] > 0.0 : w1[j] < 0.0;
        if (!on)
            off += 1;
        unit_terms(w1[j], b1[j], w2[j], on ? 1.0 : alpha, &c, &d);
        a = dd_add(a.hi, a.lo, c.hi, c.lo);
        b = dd_add(b.hi, b.lo, d.hi, d.lo);
    }
    state[0] = a.hi, state[1] = a.lo, state[2] = b.hi, state[3] = b.lo;
    neg[0] = (int32_t)off;
    for (int64_t k = 0; k < m; k++) {
        int turns_on = sw1[k] > 0.0;
        unit_terms(sw1[k], sb1[k], sw2[k], turns_on ? gain : -gain, &c, &d);
        a = dd_add(a.hi, a.lo, c.hi, c.lo);
        b = dd_add(b.hi, b.lo, d.hi, d.lo);
        off += turns_on ? -1 : 1;
        double *s = state + (k + 1) * 4;
        s[0] = a.hi, s[1] = a.lo, s[2] = b.hi, s[3] = b.lo;
        neg[k + 1] = (int32_t)off;
    }
}

/* The state at xi == ts[k]: the units switching exactly there are not yet applied
 * in state[k]; apply those that the exact sign of w1*xi + b1 says have switched
 * (w1 > 0: on iff > 0; w1 < 0: off iff <= 0). */
static void at_switch(int64_t k, double xi, const double *ts, int64_t m, const double *sw1,
                      const double *sb1, const double *sw2, const double *state,
                      const int32_t *neg, double alpha, dd *a, dd *b, int64_t *off)
{
    *a = (dd){state[k * 4 + 0], state[k * 4 + 1]};
    *b = (dd){state[k * 4 + 2], state[k * 4 + 3]};
    *off = neg[k];
    double gain = 1.0 - alpha;
    dd c, d;
    int64_t j = k;
    while (j < m && ts[j] == xi) {
        double u1 = sw1[j];
        if ((u1 > 0.0) == (fma(u1, xi, sb1[j]) > 0.0)) {
            unit_terms(u1, sb1[j], sw2[j], u1 > 0.0 ? gain : -gain, &c, &d);
            *a = dd_add(a->hi, a->lo, c.hi, c.lo);
            *b = dd_add(b->hi, b->lo, d.hi, d.lo);
            *off += u1 > 0.0 ? -1 : 1;
        }
        j += 1;
    }
}

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

#define REAL double
#define SFX f64
#include "exact_c_evaluate.inc"
#undef REAL
#undef SFX

#define REAL float
#define SFX f32
#include "exact_c_evaluate.inc"
#undef REAL
#undef SFX

#undef CAT
#undef CAT_

/* Group equal switch points; return the number of groups.  starts[g] is the first
 * event of group g and change[g] the slope change there, summed in double-double
 * so that exactly cancelling switches give 0. */
int64_t exact_groups(const double *ts, int64_t m, const double *sw1, const double *sw2,
                     double alpha, int64_t *starts, double *change)
{
    double gain = 1.0 - alpha;
    int64_t g = 0;
    int64_t k = 0;
    while (k < m) {
        starts[g] = k;
        dd s = {0.0, 0.0};
        int64_t j = k;
        while (j < m && ts[j] == ts[k]) {
            /* w1 > 0 turns on (+gain*c), w1 < 0 turns off (-gain*c): gain*|w1|*w2 either way */
            dd c = two_prod(sw2[j], sw1[j]);
            c = dd_scale(sw1[j] > 0.0 ? gain : -gain, c.hi, c.lo);
            s = dd_add(s.hi, s.lo, c.hi, c.lo);
            j += 1;
        }
        change[g] = s.hi; /* renormalised: hi == 0 only if the exact sum is 0 */
        g += 1;
        k = j;
    }
    return g;
}
