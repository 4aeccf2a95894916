/* The exact deep walk's kernels in C: the twin of src/fastrelu/kernels/walk_numba.py.
 *
 * Read it line by line against the Python file: same functions in the same order,
 * same arguments in the same order (these also take the lengths: a 1-D array's after
 * the last array it counts, a 2-D array's number of columns, ld..., right after it),
 * same loops and names (a Numba function _name is walk_name here).  The walk itself,
 * and the numpy steps between these functions (the sort of the crossings, the
 * matrix-matrix products), are in src/fastrelu/kernels/walk.py, which calls this twin
 * whenever the build has it: no JIT compile, no Numba.  The two twins agree bit for
 * bit (tests/test_walk_twins.py).  Neither uses threads of its own: walk.py runs
 * _evaluate's chunks on fastrelu's threads (cffi releases the GIL as Numba's nogil does).
 */
#include <math.h>
#include <stdint.h>

#include "kernels.h"
#include "walk_c.h"

/* As in exact_c.c: the double-double sums of fill and prefix are exact only if every
 * operation is rounded as written, so no contraction in this file (the build passes
 * -ffp-contract=fast for the brute-force kernels).  The Numba twin compiles fill and
 * prefix with jit(exact=True); its other kernels have no product that feeds a sum
 * except _evaluate's y = s*x + c, which Numba contracts (fastmath "contract", an FMA
 * CPU): written here as the fma() it becomes there. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
/* no-trapping-math: the scan's branch-free loop compares quotients that may be NaN, and
 * GCC keeps such comparisons (which may raise the invalid flag) behind branches unless
 * told that no one reads the flags (LLVM, so Numba, assumes it): then the loop
 * vectorises.  Values are the same; only the floating-point exception flags may differ. */
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#else
#pragma STDC FP_CONTRACT OFF
#endif

#include "eft.h" /* the double-double primitives of eft.py, and the one-layer twin's searches */

/* The loops are compiled for AVX-512, AVX2 and baseline x86-64 and the loader picks
 * one at run time, as dense_c.c does (its FASTRELU_CLONES, same conditions): without
 * it the baseline build has no FMA instruction, so every fma() of the double-double
 * sums is a library call and the prefix sums run at half the Numba twin's speed.
 * Rounding is the same in every clone (no contraction, no reassociation). */
#if defined(FASTRELU_NATIVE) || !defined(__x86_64__) || !defined(__GNUC__) || defined(__clang__) || \
    !defined(__GLIBC__) || __GNUC__ < 11
#define WALK_CLONES
#elif __GNUC__ < 12
#define WALK_CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#else
#define WALK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

/* grid points per unit of parallel work, points on an edge remembered per chunk:
 * WALK_CHUNK and WALK_HITS of src/fastrelu/utils/config.py (macros given by build_c.py),
 * walk_numba.py's _CHUNK and _HITS */
const int FASTRELU_WALK_CHUNK = WALK_CHUNK;
const int FASTRELU_WALK_HITS = WALK_HITS;


#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* ---------------------------------------------------------------------------------
 * the walk of a layer */

/* One piece: each unit's region at the piece's start (r0s), whether it needs a closer
 * look (flag), the carried region of the units that do not.  Branch-free. */
WALK_CLONES
int walk_scan_pass(const double *te, const double *restrict S, const double *restrict C, int64_t ldS,
                   const double *bps, int64_t nb, int64_t p, int first, int8_t *restrict carried,
                   int8_t *restrict r0s, uint8_t *restrict flag)
{
    const int64_t w = ldS;
    const double tl = te[p];
    const double tr = te[p + 1];
    int anyf = 0;
    if (nb == 1 && bps[0] == 0.0) {
        int64_t nf = 0;
        for (int64_t j = 0; j < w; j++) {
            double s = S[p * ldS + j];
            double c = C[p * ldS + j];
            double ts = -c / s;
            int up = s > 0.0;
            int down = s < 0.0;
            int pos = (s == 0.0) & (c > 0.0);
            int8_t r0 = (int8_t)((up & (ts <= tl)) | (down & (ts > tl)) | pos);
            int8_t rf = (int8_t)((up & (ts < tr)) | (down & (ts >= tr)) | pos);
            int inside = (tl < ts) & (ts < tr);
            int8_t cj = carried[j];
            cj = first ? r0 : cj;
            int f = inside | (r0 != cj);
            r0s[j] = r0;
            flag[j] = (uint8_t)f;
            nf += (int8_t)f;
            carried[j] = f ? cj : rf;
        }
        return nf != 0;
    }
    for (int64_t j = 0; j < w; j++) {
        double s = S[p * ldS + j];
        double c = C[p * ldS + j];
        int up = s > 0.0;
        int down = s < 0.0;
        int flat = s == 0.0;
        int64_t r0 = 0;
        int64_t rf = 0;
        int inside = 0;
        for (int64_t i = 0; i < nb; i++) {
            double b = bps[i];
            double ts = (b - c) / s;
            r0 += (up & (ts <= tl)) | (down & (ts > tl)) | (flat & (c > b));
            rf += (up & (ts < tr)) | (down & (ts >= tr)) | (flat & (c > b));
            inside |= (tl < ts) & (ts < tr);
        }
        int64_t cj = first ? r0 : carried[j];
        int f = inside | (r0 != cj);
        r0s[j] = (int8_t)r0;
        flag[j] = (uint8_t)f;
        anyf |= f;
        carried[j] = (int8_t)(f ? cj : rf);
    }
    return anyf;
}

/* The breakpoint of a unit's first crossing inside (tl, tr) in the direction of its
 * slope (-1: none). */
int64_t walk_first_crossing(const double *bps, int64_t nb, double s, double c, double tl, double tr)
{
    for (int64_t ii = 0; ii < nb; ii++) {
        int64_t i = s > 0.0 ? ii : nb - 1 - ii;
        double ts = (bps[i] - c) / s;
        if (tl < ts && ts < tr)
            return i;
    }
    return -1;
}

/* The crossings on piece p, regions carried along (see walk_scan).  sc[0] counts the
 * crossings in ev_* so far (-1 once they do not fit), sc[1] the suppressed pairs.  On
 * piece 0 the regions are written into first. */
WALK_CLONES
void walk_scan_piece(const double *te, const double *S, const double *C, int64_t ldS, const double *bps,
                     int64_t nb, int64_t p, int8_t *first, int8_t *carried, uint8_t *flag, int8_t *r0s,
                     int64_t *sc, int64_t *ev_p, double *ev_t, int64_t *ev_j, int8_t *ev_r, int64_t cap)
{
    const int64_t w = ldS;
    int64_t n = sc[0];
    if (n < 0)
        return;
    const double tl = te[p];
    const double tr = te[p + 1];
    int anyf = walk_scan_pass(te, S, C, ldS, bps, nb, p, p == 0, carried, r0s, flag);
    if (p == 0) {
        for (int64_t j = 0; j < w; j++)
            first[j] = r0s[j];
    }
    if (!anyf)
        return;
    for (int64_t j = 0; j < w; j++) {
        if (!flag[j])
            continue;
        double s = S[p * ldS + j];
        double c = C[p * ldS + j];
        int64_t r0 = r0s[j];
        int64_t rc = carried[j];
        int64_t cur = r0;
        int64_t skip = -1;
        int64_t i_first = walk_first_crossing(bps, nb, s, c, tl, tr);
        if (r0 != rc) {
            int64_t nr_first = i_first >= 0 ? (s > 0.0 ? i_first + 1 : i_first) : -1;
            if (i_first >= 0 && nr_first == rc) {
                sc[1] += 1;
                cur = rc;
                skip = i_first;
            } else {
                if (n >= cap) {
                    sc[0] = -1;
                    return;
                }
                ev_p[n] = p, ev_t[n] = tl, ev_j[n] = j, ev_r[n] = (int8_t)r0;
                n += 1;
            }
        }
        for (int64_t ii = 0; ii < nb; ii++) {
            int64_t i = s > 0.0 ? ii : nb - 1 - ii;
            double ts = (bps[i] - c) / s;
            if (!(tl < ts && ts < tr) || i == skip)
                continue;
            int64_t nr = s > 0.0 ? i + 1 : i;
            if (nr != cur) {
                if (n >= cap) {
                    sc[0] = -1;
                    return;
                }
                ev_p[n] = p, ev_t[n] = ts, ev_j[n] = j, ev_r[n] = (int8_t)nr;
                n += 1;
                cur = nr;
            }
        }
        carried[j] = (int8_t)cur;
    }
    sc[0] = n;
}

/* Crossings of every unit on every piece, regions carried along (see the twin). */
WALK_CLONES
void walk_scan(const double *te, const double *S, const double *C, int64_t P, int64_t ldS, const double *bps,
               int64_t nb, int8_t *first, int8_t *carried, uint8_t *flag, int8_t *r0s, int64_t *sc,
               int64_t *ev_p, double *ev_t, int64_t *ev_j, int8_t *ev_r, int64_t cap)
{
    for (int64_t p = 0; p < P; p++)
        walk_scan_piece(te, S, C, ldS, bps, nb, p, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r, cap);
}

/* New edges and pieces, the kind of each new edge, and the rows of the product (see
 * the twin for the kinds).  Returns the number of new pieces; the rows in *nrow_out. */
int64_t walk_plan(const double *te, int64_t P, const int64_t *ev_p, const double *ev_t, const int64_t *order,
                  int64_t n, const int8_t *ekind_old, int64_t K, double *te_new, int64_t *par, int8_t *src,
                  int64_t *e_old, int64_t *e_ev, int64_t *e_n, int64_t *row, int64_t *arow, int64_t *nrow_out)
{
    int64_t i = 0;
    int64_t k = 0;
    int64_t nrow = 0;
    int64_t last = 0;
    for (int64_t p = 0; p < P; p++) {
        int64_t k0 = k;
        while (k < n && ev_p[order[k]] == p && ev_t[order[k]] == te[p])
            k += 1;
        if (p > 0) {
            int64_t e = i - 1;
            int8_t kind = k > k0 ? 1 : 0;
            src[e] = kind;
            e_old[e] = p - 1;
            e_ev[e] = k0;
            e_n[e] = k - k0;
            row[e] = nrow;
            nrow += 1;
            int cx = kind == 1 || ekind_old[p - 1] == 1;
            if (cx || i - last >= K) {
                arow[i] = nrow;
                nrow += 2;
                last = i;
            } else {
                arow[i] = -1;
            }
        } else {
            arow[0] = nrow;
            nrow += 2;
        }
        te_new[i] = te[p];
        par[i] = p;
        i += 1;
        while (k < n && ev_p[order[k]] == p) {
            double t = ev_t[order[k]];
            k0 = k;
            while (k < n && ev_p[order[k]] == p && ev_t[order[k]] == t)
                k += 1;
            int64_t e = i - 1;
            e_old[e] = -1;
            e_ev[e] = k0;
            e_n[e] = k - k0;
            if (k - k0 == 1) {
                src[e] = 2;
                row[e] = -1;
            } else {
                src[e] = 3;
                row[e] = nrow;
                nrow += 1;
            }
            if (src[e] == 3 || i - last >= K) {
                arow[i] = nrow;
                nrow += 2;
                last = i;
            } else {
                arow[i] = -1;
            }
            te_new[i] = t;
            par[i] = p;
            i += 1;
        }
    }
    te_new[i] = te[P];
    *nrow_out = nrow;
    return i;
}

/* Rows of the product, walking the pieces with the running regions of this layer, and
 * the liveness rows (see the twin). */
WALK_CLONES
void walk_fill(int64_t i0, int64_t i1, int8_t *cur, int64_t w, double *G, double *O, double *gl, int64_t *mark,
               const double *gain, const double *offs, int64_t ldg, int64_t idx0, const double *S,
               const double *C, int64_t ldS, const int64_t *par, const int8_t *src, const int64_t *e_old,
               const int64_t *e_ev, const int64_t *e_n, const int64_t *row, const int64_t *arow,
               const int64_t *order, const int64_t *ev_j, const int8_t *ev_r, const double *Yo, int64_t ldYo,
               const int64_t *rowo, const double *WTo, int64_t ldWTo, const int64_t *colo, const int8_t *srco,
               const int8_t *ekind_old, const double *eds_old, const double *edc_old, double *X, int64_t ldX,
               int32_t *nneg, int64_t *ecol, double *eds, double *edc, int8_t *ekind, const int64_t *aidx,
               double *XL, int64_t ldXL, int8_t *elive)
{
    int64_t neg = 0;
    for (int64_t j = 0; j < w; j++) {
        G[j] = gain[cur[j] * ldg + j];
        O[j] = offs[cur[j] * ldg + j];
        neg += cur[j] <= idx0;
        mark[j] = -1;
    }
    for (int64_t i = i0; i < i1; i++) {
        int64_t p = par[i];
        if (i > 0) {
            int64_t e = i - 1;
            int8_t kind = src[e];
            int64_t k0 = e_ev[e];
            int64_t k1 = k0 + e_n[e];
            int64_t r = row[e];
            int64_t eo = e_old[e];
            elive[2 * e] = 0;
            elive[2 * e + 1] = 0;
            if (kind == 0) {
                const double *v = srco[eo] == 2 ? WTo + colo[eo] * ldWTo : Yo + rowo[eo] * ldYo;
                for (int64_t j = 0; j < w; j++)
                    X[r * ldX + j] = G[j] * v[j];
                ekind[e] = ekind_old[eo];
                eds[e] = eds_old[eo];
                edc[e] = edc_old[eo];
            } else {
                if (kind != 2) { /* the gains on the left of the units that cross (once per unit) */
                    for (int64_t kk = k0; kk < k1; kk++) {
                        int64_t j = ev_j[order[kk]];
                        if (mark[j] != e) {
                            mark[j] = e;
                            gl[j] = G[j];
                        }
                    }
                }
                if (kind == 2) {
                    int64_t q = order[k0];
                    int64_t j = ev_j[q];
                    int64_t rn = ev_r[q];
                    double gB = gain[rn * ldg + j];
                    double oB = offs[rn * ldg + j];
                    ecol[e] = j;
                    ekind[e] = 0;
                    eds[e] = (gB - G[j]) * S[p * ldS + j];
                    edc[e] = fma(gB - G[j], C[p * ldS + j], oB - O[j]);
                    elive[2 * e] = (int8_t)((int8_t)((gB != 0.0) | (oB != 0.0)) - (int8_t)((G[j] != 0.0) | (O[j] != 0.0)));
                    elive[2 * e + 1] = (int8_t)((int8_t)(gB != 0.0) - (int8_t)(G[j] != 0.0));
                }
                for (int64_t kk = k0; kk < k1; kk++) {
                    int64_t q = order[kk];
                    int64_t j = ev_j[q];
                    int64_t rn = ev_r[q];
                    neg += (int64_t)(rn <= idx0) - (int64_t)(cur[j] <= idx0);
                    cur[j] = (int8_t)rn;
                    G[j] = gain[rn * ldg + j];
                    O[j] = offs[rn * ldg + j];
                }
                if (kind == 1) {
                    double f = ekind_old[eo] == 0 ? eds_old[eo] : 1.0;
                    int64_t pl = par[i - 1];
                    const double *v = srco[eo] == 2 ? WTo + colo[eo] * ldWTo : Yo + rowo[eo] * ldYo;
                    for (int64_t j = 0; j < w; j++)
                        X[r * ldX + j] = G[j] * (v[j] * f);
                    for (int64_t kk = k0; kk < k1; kk++) {
                        int64_t j = ev_j[order[kk]];
                        X[r * ldX + j] = G[j] * (v[j] * f) + (G[j] - gl[j]) * S[pl * ldS + j];
                    }
                } else if (kind == 3) {
                    for (int64_t j = 0; j < w; j++)
                        X[r * ldX + j] = 0.0;
                    for (int64_t kk = k0; kk < k1; kk++) {
                        int64_t j = ev_j[order[kk]];
                        X[r * ldX + j] = (G[j] - gl[j]) * S[p * ldS + j];
                    }
                }
                if (kind != 2) {
                    ekind[e] = 1;
                    eds[e] = 1.0;
                    edc[e] = 0.0;
                }
            }
        }
        nneg[i] = (int32_t)neg;
        int64_t a = arow[i];
        if (a >= 0) {
            int64_t ai = aidx[i];
            for (int64_t j = 0; j < w; j++) {
                X[a * ldX + j] = G[j] * S[p * ldS + j];
                X[(a + 1) * ldX + j] = fma(G[j], C[p * ldS + j], O[j]);
                XL[2 * ai * ldXL + j] = (G[j] != 0.0) | (O[j] != 0.0) ? 1.0 : 0.0;
                XL[(2 * ai + 1) * ldXL + j] = G[j] != 0.0 ? 1.0 : 0.0;
            }
        }
    }
}

/* The maps of every piece by prefix sums in double-double, the exact zeros, and the
 * next layer's scan of each piece while its maps are in cache (see the twin). */
WALK_CLONES
void walk_prefix(int64_t i0, int64_t i1, const double *Y, int64_t ldY, const double *b, const double *WT,
                 int64_t ldWT, const int8_t *src, const int64_t *row, const int64_t *arow, const int64_t *ecol,
                 const double *eds, const double *edc, double *restrict sh, double *restrict sl, double *restrict ch, double *restrict cl,
                 double *restrict S2, double *restrict C2, int64_t w2, const int64_t *aidx, const double *YL, int64_t ldYL,
                 const int8_t *elive, int64_t *restrict live, int64_t *restrict moving, int scan, const double *te,
                 const double *bps, int64_t nb, int8_t *first, int8_t *carried, uint8_t *flag, int8_t *r0s,
                 int64_t *sc, int64_t *ev_p, double *ev_t, int64_t *ev_j, int8_t *ev_r, int64_t cap)
{
    int64_t still = 0; /* units with no moving input (a superset of those with no live one) */
    for (int64_t i = i0; i < i1; i++) {
        int64_t a = arow[i];
        if (a >= 0) {
            int64_t ai = aidx[i];
            still = 0;
            for (int64_t j = 0; j < w2; j++) {
                live[j] = (int64_t)YL[2 * ai * ldYL + j];
                moving[j] = (int64_t)YL[(2 * ai + 1) * ldYL + j];
                still += moving[j] == 0;
            }
            for (int64_t j = 0; j < w2; j++) {
                sh[j] = Y[a * ldY + j];
                sl[j] = 0.0;
                double x = Y[(a + 1) * ldY + j];
                double y = b[j];
                double h = x + y;
                double bb = h - x;
                double lo = (x - (h - bb)) + (y - bb);
                double hh = h + lo;
                ch[j] = hh;
                cl[j] = lo - (hh - h);
            }
        } else {
            int64_t e = i - 1;
            const double *q = src[e] == 2 ? WT + ecol[e] * ldWT : Y + row[e] * ldY;
            double ds = eds[e];
            double dc = edc[e];
            if (src[e] == 2 && (elive[2 * e] != 0 || elive[2 * e + 1] != 0)) {
                int64_t d0 = elive[2 * e];
                int64_t d1 = elive[2 * e + 1];
                still = 0;
                for (int64_t j = 0; j < w2; j++) {
                    int64_t nz = q[j] != 0.0;
                    live[j] += d0 * nz;
                    moving[j] += d1 * nz;
                    still += moving[j] == 0;
                }
            }
            for (int64_t j = 0; j < w2; j++) {
                double qj = q[j];
                /* slopes and intercepts: (hi, lo) + q*ds and + q*dc, the products exact */
                dd p = two_prod(qj, ds);
                dd hl = dd_add(sh[j], sl[j], p.hi, p.lo);
                sh[j] = hl.hi, sl[j] = hl.lo;
                p = two_prod(qj, dc);
                hl = dd_add(ch[j], cl[j], p.hi, p.lo);
                ch[j] = hl.hi, cl[j] = hl.lo;
            }
        }
        if (still) {
            for (int64_t j = 0; j < w2; j++) {
                int dead = live[j] == 0;
                int flat = moving[j] == 0;
                sh[j] = flat ? 0.0 : sh[j];
                sl[j] = flat ? 0.0 : sl[j];
                ch[j] = dead ? b[j] : ch[j];
                cl[j] = dead ? 0.0 : cl[j];
            }
        }
        for (int64_t j = 0; j < w2; j++) {
            S2[i * w2 + j] = sh[j];
            C2[i * w2 + j] = ch[j];
        }
        if (scan) /* the next layer's scan of this piece, while its maps are in cache */
            walk_scan_piece(te, S2, C2, w2, bps, nb, i, first, carried, flag, r0s, sc, ev_p, ev_t, ev_j, ev_r, cap);
    }
}

/* Rows j0 <= j < j1 of WT = W.T, in blocks of 8 x 8 (small, so that rows a power of
 * two apart do not evict one another from L1). */
WALK_CLONES
void walk_transpose(const double *W, int64_t m, int64_t ldW, double *WT, int64_t ldWT, int64_t j0, int64_t j1)
{
    for (int64_t jb = j0; jb < j1; jb += 8) {
        int64_t je = MIN(j1, jb + 8);
        for (int64_t ib = 0; ib < m; ib += 8) {
            int64_t ie = MIN(m, ib + 8);
            for (int64_t j = jb; j < je; j++)
                for (int64_t i = ib; i < ie; i++)
                    WT[j * ldWT + i] = W[i * ldW + j];
        }
    }
}

/* ---------------------------------------------------------------------------------
 * the sweep: chunks c0..c1-1 of WALK_CHUNK points, each read off its piece (run by
 * threads.run), for a float64 and a float32 grid */

#define WALK_EVALUATE(SFX, REAL)                                                                      \
    /* whether x[i0:i1] never decreases (the one-layer twin's _ascending) */                           \
    static inline int ascending_##SFX(const REAL *x, int64_t i0, int64_t i1)                           \
    {                                                                                                  \
        for (int64_t i = i0 + 1; i < i1; i++)                                                          \
            if (x[i] < x[i - 1])                                                                       \
                return 0;                                                                              \
        return 1;                                                                                      \
    }                                                                                                  \
    WALK_CLONES void walk_evaluate_##SFX(int64_t c0, int64_t c1, const REAL *t, int64_t n, const double *edges,    \
                             int64_t m, const double *slope, const double *icpt, int64_t out,          \
                             const int32_t *neg, int64_t depth, REAL *y, REAL *sl, int32_t *negative,  \
                             int64_t *hits, int64_t *nhits)                                            \
    {                                                                                                  \
        for (int64_t c = c0; c < c1; c++) {                                                            \
            int64_t i0 = c * (int64_t)WALK_CHUNK;                                                              \
            int64_t i1 = MIN(n, i0 + (int64_t)WALK_CHUNK);                                                     \
            int ascending = ascending_##SFX(t, i0, i1);                                                \
            int64_t k = count_below(edges, m, (double)t[i0]);                                          \
            int64_t cnt = 0;                                                                           \
            for (int64_t i = i0; i < i1; i++) {                                                        \
                double x = (double)t[i];                                                               \
                k = locate(edges, m, k, x, ascending);                                                 \
                if (k == 0 || k >= m || edges[k] == x || x != x) {                                     \
                    /* on an edge (or outside, or NaN): evaluated directly afterwards */               \
                    if (cnt < WALK_HITS)                                                                       \
                        hits[c * WALK_HITS + cnt] = i;                                                         \
                    cnt += 1;                                                                          \
                    continue;                                                                          \
                }                                                                                      \
                int64_t p = k - 1;                                                                     \
                for (int64_t o = 0; o < out; o++) {                                                    \
                    double s = slope[p * out + o];                                                     \
                    y[i * out + o] = (REAL)fma(s, x, icpt[p * out + o]);                               \
                    sl[i * out + o] = (REAL)s;                                                         \
                }                                                                                      \
                for (int64_t q = 0; q < depth; q++)                                                    \
                    negative[i * depth + q] = neg[p * depth + q];                                      \
            }                                                                                          \
            nhits[c] = cnt;                                                                            \
        }                                                                                              \
    }

WALK_EVALUATE(f64, double)
WALK_EVALUATE(f32, float)
