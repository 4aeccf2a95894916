/* The plane walk's rounds of cuts in C, one call per layer: the twin of ``cut`` and
 * ``exact_sides`` in src/fastrelu/kernels/plane_numba.py (read the two side by side: same
 * functions, same arguments in the same order, these also taking the lengths after the
 * arrays they count; same loops and names).  What they compute, and why, is said there
 * and in src/fastrelu/analysis/plane_walk.py ("One layer of the walk").
 *
 * Every operation is rounded as written, as in the Numba twin (compiled without
 * fastmath): no contraction in this file, whatever the build's -ffp-contract says, so
 * that the two twins agree bit for bit; the one fused product is the explicit fma() of
 * two_prod (eft.h), exact in both twins.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rounded.h" /* no contraction in this file: every operation rounded as written */

#include "eft.h"
#include "plane_c.h"

/* columns of the workspaces (the Numba twin's names) */
enum { LE_GID, LE_U, LE_V, LE_L, LE_R, LE_PAIR, LE_N };
enum { RC_E, RC_F, RC_A, RC_B, RC_RIGHT, RC_P, RC_SA, RC_SB, RC_N };
enum { C_GID, C_CUR, C_HASP, C_HASQ, C_INCID, C_POST, C_START, C_COUNT, C_X1, C_X2, C_FOL1, C_NEW, C_N };

/* e[0:m] + b into e (an expansion, smallest first, no zeros), exactly; returns its length. */
static int64_t grow(double *e, int64_t m, double b)
{
    double q = b;
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++) {
        dd sh = two_sum(q, e[i]);
        q = sh.hi;
        if (sh.lo != 0.0) {
            e[k] = sh.lo;
            k += 1;
        }
    }
    if (q != 0.0 || k == 0) {
        e[k] = q;
        k += 1;
    }
    return k;
}

/* x*y*z (times sgn, +1 or -1) added into the expansion e[0:m], exactly; returns its length. */
static int64_t grow3(double *e, int64_t m, double x, double y, double z, double sgn)
{
    dd pe = two_prod(x, y);
    dd a = two_prod(z, pe.hi);
    dd b = two_prod(z, pe.lo);
    m = grow(e, m, sgn * a.hi);
    m = grow(e, m, sgn * a.lo);
    m = grow(e, m, sgn * b.hi);
    m = grow(e, m, sgn * b.lo);
    return m;
}

/* The row r scaled by a power of two to its largest magnitude in [0.5, 1) (exactly); 0 when
 * some nonzero entry would then be below 2**-300, where a product of three could underflow. */
static int scale_row(const double *r, double *out)
{
    double big = fabs(r[0]);
    big = fabs(r[1]) > big ? fabs(r[1]) : big;
    big = fabs(r[2]) > big ? fabs(r[2]) : big;
    int ex = 0;
    if (big > 0.0)
        frexp(big, &ex);
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        out[i] = ldexp(r[i], -ex);
        if (out[i] != 0.0 && fabs(out[i]) < 0x1p-300)
            ok = 0;
    }
    return ok;
}

/* The side (1, -1, 0) of the line (a, b, c) at the exact point where the two lines of meet
 * (2, 3) cross: the sign of a 3x3 determinant of float64 coefficients, exactly (products
 * by two_prod into an expansion).  2: the two lines are parallel (no point); 3: undecided
 * (coefficients of one line more than 2**300 apart). */
static int64_t exact_side(const double *meet, const double *line)
{
    /* the line is one of the two, or its negation: on it, where the two truly cross */
    double det = meet[0] * meet[4] - meet[3] * meet[1];
    double size = fabs(meet[0] * meet[4]) + fabs(meet[3] * meet[1]);
    int same = 0;
    for (int64_t r = 0; r < 2; r++) {
        if (meet[3 * r] == line[0] && meet[3 * r + 1] == line[1] && meet[3 * r + 2] == line[2])
            same = 1;
        if (meet[3 * r] == -line[0] && meet[3 * r + 1] == -line[1] && meet[3 * r + 2] == -line[2])
            same = 1;
    }
    if (same && fabs(det) > 4.0 * 0x1p-52 * size)
        return 0;
    double m1[3], m2[3], l3[3];
    int ok = scale_row(meet, m1);
    ok = scale_row(meet + 3, m2) && ok;
    ok = scale_row(line, l3) && ok;
    if (!ok)
        return 3;
    double e[32];
    int64_t m = 0;
    m = grow3(e, m, m1[0], m2[1], 1.0, 1.0);
    m = grow3(e, m, m2[0], m1[1], 1.0, -1.0);
    double d = e[m - 1];
    if (d == 0.0)
        return 2;
    m = 0;
    m = grow3(e, m, l3[0], m1[1], m2[2], 1.0);
    m = grow3(e, m, l3[0], m2[1], m1[2], -1.0);
    m = grow3(e, m, l3[1], m2[0], m1[2], 1.0);
    m = grow3(e, m, l3[1], m1[0], m2[2], -1.0);
    m = grow3(e, m, l3[2], m1[0], m2[1], 1.0);
    m = grow3(e, m, l3[2], m2[0], m1[1], -1.0);
    double num = e[m - 1];
    if (num == 0.0)
        return 0;
    return ((num > 0.0) == (d > 0.0)) ? 1 : -1;
}

/* meet (n, 2, 3), line (n, 3), out (n). */
void plane_exact_sides(const double *meet, const double *line, int64_t n, int64_t *out)
{
    for (int64_t k = 0; k < n; k++)
        out[k] = exact_side(meet + 6 * k, line + 3 * k);
}

/* Side (1, -1, 0) of vertex v on the pair q's line: the bits below V1, else 0 on a line it
 * was made on, else the line's map at P[v], and within rounding of 0 the exact side of
 * the point where its two lines meet (state[6] counts those exact_side leaves undecided). */
static int64_t vside(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, int64_t V1, int64_t v, int64_t q,
                     const int64_t *lines, const double *coefs, const double *P, const int64_t *on, const double *meet,
                     int64_t *state)
{
    int64_t line = lines[q];
    if (v < V1) {
        int sh = 7 - (int)(line & 7);
        int64_t up = (pos[v * nbytes + (line >> 3)] >> sh) & 1;
        int64_t down = (neg[v * nbytes + (line >> 3)] >> sh) & 1;
        return up - down;
    }
    if (on[2 * v] == line || on[2 * v + 1] == line)
        return 0;
    double t1 = coefs[3 * q] * P[2 * v];
    double t2 = coefs[3 * q + 1] * P[2 * v + 1];
    double z = t1 + t2;
    z = z + coefs[3 * q + 2];
    double size = fabs(t1) + fabs(t2);
    size = size + fabs(coefs[3 * q + 2]);
    int64_t s = 0;
    if (z > 0.0)
        s = 1;
    else if (z < 0.0)
        s = -1;
    if (fabs(z) <= 0x1p-30 * size) {
        int64_t x = exact_side(meet + 6 * v, coefs + 3 * q);
        if (x == 3)
            state[6] += 1;
        if (x < 2)
            s = x;
    }
    return s;
}

/* The point where the line cl crosses the edge pa-pb (on the line ec): their intersection
 * (an edge on an axis keeps its coordinate exactly), or, where rounding puts it outside
 * the edge's box, the zero of the line's map (za at pa, zb at pb) interpolated along the edge. */
static void cross_point(const double *ec, const double *cl, const double *pa, const double *pb, double za, double zb,
                        double *X)
{
    double a1 = ec[0], b1 = ec[1], c1 = ec[2];
    double a2 = cl[0], b2 = cl[1], c2 = cl[2];
    double det = a1 * b2 - a2 * b1;
    double x = (b1 * c2 - b2 * c1) / det;
    double y = (a2 * c1 - a1 * c2) / det;
    if (b1 == 0.0) {
        double xv = -c1 / a1;
        x = xv;
        y = -(a2 * xv + c2) / b2;
    } else if (a1 == 0.0) {
        double yh = -c1 / b1;
        x = -(b2 * yh + c2) / a2;
        y = yh;
    }
    double lo0 = pa[0] < pb[0] ? pa[0] : pb[0];
    double hi0 = pa[0] > pb[0] ? pa[0] : pb[0];
    double lo1 = pa[1] < pb[1] ? pa[1] : pb[1];
    double hi1 = pa[1] > pb[1] ? pa[1] : pb[1];
    int ok = isfinite(x) && isfinite(y) && x >= lo0 && y >= lo1 && x <= hi0 && y <= hi1;
    if (!ok) {
        double t = za / (za - zb);
        if (isnan(t))
            t = 0.5;
        t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
        x = pa[0] + t * (pb[0] - pa[0]);
        y = pa[1] + t * (pb[1] - pa[1]);
    }
    X[0] = x;
    X[1] = y;
}

int64_t plane_cut(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, int64_t V1, const int64_t *pp, int64_t F,
                  const int64_t *lines, const double *coefs, int64_t h, const int64_t *fptr, const int64_t *ts,
                  const int64_t *fe_ptr, const int64_t *fe, int64_t layer, double *P, int64_t *on, double *meet,
                  int64_t vcap, int64_t *eu, int64_t *ev, int64_t *eL, int64_t *eR, int64_t *eoL, int64_t *eoR,
                  int64_t *epair, int32_t *elayer, int32_t *eunit, double *ecoef, int64_t ecap, int64_t e0,
                  int8_t *reg, int64_t *orig, int64_t fcap, int64_t *vkey, int64_t *ekey, int64_t *fkey,
                  int64_t *le, int64_t wcap, int64_t *rec, int64_t rcap, int64_t *rpos, int64_t *wc, int64_t ccap,
                  int64_t *pend, int64_t pcap, double *wd, int8_t *wreg, int64_t *state)
{
    for (int64_t f = state[0]; f < F; f++) {
        int64_t np0 = pp[f + 1] - pp[f];
        if (np0 == 0) {
            state[0] = f + 1;
            continue;
        }
        int64_t nv = state[1], ne = state[2], nf = state[3], amb = 0, need = 0;
        for (int64_t j = 0; j < h; j++)
            wreg[j] = reg[f * h + j];
        /* the face's edges, in the order of their ids; its one cell, with all its lines */
        int64_t nle = 0;
        for (int64_t t = fe_ptr[f]; t < fe_ptr[f + 1]; t++) {
            int64_t g = fe[t];
            if (nle >= wcap) {
                need = 4;
                break;
            }
            le[LE_N * nle + LE_GID] = g;
            le[LE_N * nle + LE_U] = eu[g];
            le[LE_N * nle + LE_V] = ev[g];
            le[LE_N * nle + LE_L] = eL[g] == f ? 0 : -1;
            le[LE_N * nle + LE_R] = eR[g] == f ? 0 : -1;
            le[LE_N * nle + LE_PAIR] = -1;
            nle += 1;
        }
        int64_t ncell = 1;
        int64_t cur_buf = 0;
        if (need == 0 && np0 > pcap)
            need = 6;
        if (need == 0) {
            wc[C_GID] = f;
            wc[C_START] = 0;
            wc[C_COUNT] = np0;
            /* each line with a vertex of the face on either side (its witnesses) */
            for (int64_t k = 0; k < np0; k++) {
                int64_t q = pp[f] + k;
                int64_t line = lines[q];
                int sh = 7 - (int)(line & 7);
                int64_t wp = -1, wm = -1;
                for (int64_t t = fptr[f]; t < fptr[f + 1]; t++) {
                    int64_t r = ts[t];
                    if (wp < 0 && ((pos[r * nbytes + (line >> 3)] >> sh) & 1))
                        wp = r;
                    if (wm < 0 && ((neg[r * nbytes + (line >> 3)] >> sh) & 1))
                        wm = r;
                }
                pend[3 * k] = q;
                pend[3 * k + 1] = wp;
                pend[3 * k + 2] = wm;
            }
        }
        int64_t rnd = 0;
        while (need == 0) {
            int64_t *pa_ = pend + cur_buf * pcap * 3;      /* this round's lines */
            int64_t *pb_ = pend + (1 - cur_buf) * pcap * 3; /* the next round's */
            int64_t nact = 0;
            for (int64_t c = 0; c < ncell; c++) {
                wc[C_N * c + C_HASP] = 0;
                wc[C_N * c + C_HASQ] = 0;
                wc[C_N * c + C_INCID] = 0;
                wc[C_N * c + C_POST] = 0;
                wc[C_N * c + C_NEW] = -1;
                if (wc[C_N * c + C_COUNT] > 0) {
                    wc[C_N * c + C_CUR] = pa_[3 * wc[C_N * c + C_START]];
                    nact += 1;
                } else {
                    wc[C_N * c + C_CUR] = -1;
                }
            }
            if (nact == 0)
                break;
            /* records: each side of each edge of a cell of the round, left sides first */
            int64_t nrec = 0;
            for (int64_t side = 0; side < 2 && need == 0; side++) {
                for (int64_t i = 0; i < nle; i++) {
                    int64_t c = le[LE_N * i + (side == 0 ? LE_L : LE_R)];
                    rpos[4 * i + side] = -1;
                    if (c < 0 || wc[C_N * c + C_CUR] < 0)
                        continue;
                    if (nrec >= rcap) {
                        need = 7;
                        break;
                    }
                    int64_t *rr = rec + RC_N * nrec;
                    rr[RC_E] = i;
                    rr[RC_F] = c;
                    rr[RC_A] = le[LE_N * i + (side == 0 ? LE_U : LE_V)];
                    rr[RC_B] = le[LE_N * i + (side == 0 ? LE_V : LE_U)];
                    rr[RC_RIGHT] = side;
                    rr[RC_P] = wc[C_N * c + C_CUR];
                    rr[RC_SA] = vside(pos, neg, nbytes, V1, rr[RC_A], rr[RC_P], lines, coefs, P, on, meet, state);
                    rr[RC_SB] = vside(pos, neg, nbytes, V1, rr[RC_B], rr[RC_P], lines, coefs, P, on, meet, state);
                    rpos[4 * i + side] = nrec;
                    nrec += 1;
                }
            }
            if (need)
                break;
            /* an edge crossed by two different lines from its two cells: rounding; the higher cell waits */
            int64_t anypost = 0;
            for (int64_t i = 0; i < nle; i++) {
                int64_t il = rpos[4 * i], ir = rpos[4 * i + 1];
                if (il < 0 || ir < 0 || le[LE_N * i + LE_PAIR] < 0)
                    continue;
                int64_t *rl = rec + RC_N * il, *rr = rec + RC_N * ir;
                if (rl[RC_SA] * rl[RC_SB] < 0 && rr[RC_SA] * rr[RC_SB] < 0 && rl[RC_P] != rr[RC_P]) {
                    int64_t w = rl[RC_F] > rr[RC_F] ? rl[RC_F] : rr[RC_F];
                    wc[C_N * w + C_POST] = 1;
                    anypost = 1;
                }
            }
            if (anypost) {
                int64_t k = 0;
                for (int64_t r = 0; r < nrec; r++) {
                    int64_t *rr = rec + RC_N * r;
                    rpos[4 * rr[RC_E] + rr[RC_RIGHT]] = -1;
                    if (wc[C_N * rr[RC_F] + C_POST])
                        continue;
                    for (int64_t j = 0; j < RC_N; j++)
                        rec[RC_N * k + j] = rr[j];
                    rpos[4 * rec[RC_N * k + RC_E] + rec[RC_N * k + RC_RIGHT]] = k;
                    k += 1;
                }
                nrec = k;
            }
            /* each crossed edge, in order, gets a vertex where its first record's line crosses
             * it; both halves keep the edge's cells, and the edge's records are cut with it */
            int64_t nle0 = nle;
            int64_t ncut = 0;
            for (int64_t i = 0; i < nle0; i++) {
                int64_t il = rpos[4 * i], ir = rpos[4 * i + 1];
                int64_t first = -1;
                if (le[LE_N * i + LE_PAIR] < 0)
                    continue;
                if (il >= 0 && rec[RC_N * il + RC_SA] * rec[RC_N * il + RC_SB] < 0)
                    first = il;
                else if (ir >= 0 && rec[RC_N * ir + RC_SA] * rec[RC_N * ir + RC_SB] < 0)
                    first = ir;
                if (first < 0)
                    continue;
                rpos[4 * ncut + 2] = i;
                rpos[4 * ncut + 3] = rec[RC_N * first + RC_P];
                ncut += 1;
            }
            for (int64_t pass_ = 0; pass_ < 2 && need == 0; pass_++) {
                for (int64_t k = 0; k < ncut; k++) {
                    int64_t i = rpos[4 * k + 2], cp = rpos[4 * k + 3];
                    int64_t ni = nle0 + k; /* the edge's new half, X -> old v */
                    if (pass_ == 0) {
                        if (nle >= wcap) {
                            need = 4;
                            break;
                        }
                        if (nv >= vcap) {
                            need = 1;
                            break;
                        }
                        if (ne >= ecap) {
                            need = 2;
                            break;
                        }
                        int64_t ep = le[LE_N * i + LE_PAIR];
                        int64_t u = le[LE_N * i + LE_U], v = le[LE_N * i + LE_V];
                        const double *cl = coefs + 3 * cp;
                        double za = cl[0] * P[2 * u] + cl[1] * P[2 * u + 1];
                        za = za + cl[2];
                        double zb = cl[0] * P[2 * v] + cl[1] * P[2 * v + 1];
                        zb = zb + cl[2];
                        cross_point(coefs + 3 * ep, cl, P + 2 * u, P + 2 * v, za, zb, P + 2 * nv);
                        on[2 * nv] = lines[ep];
                        on[2 * nv + 1] = lines[cp];
                        for (int64_t j = 0; j < 3; j++) {
                            meet[6 * nv + j] = coefs[3 * ep + j];
                            meet[6 * nv + 3 + j] = coefs[3 * cp + j];
                        }
                        vkey[2 * (nv - V1)] = rnd;
                        vkey[2 * (nv - V1) + 1] = le[LE_N * i + LE_GID];
                        le[LE_N * ni + LE_GID] = ne;
                        le[LE_N * ni + LE_U] = nv;
                        le[LE_N * ni + LE_V] = v;
                        le[LE_N * ni + LE_L] = le[LE_N * i + LE_L];
                        le[LE_N * ni + LE_R] = le[LE_N * i + LE_R];
                        le[LE_N * ni + LE_PAIR] = ep;
                        ekey[3 * (ne - e0)] = rnd;
                        ekey[3 * (ne - e0) + 1] = 0;
                        ekey[3 * (ne - e0) + 2] = le[LE_N * i + LE_GID];
                        le[LE_N * i + LE_V] = nv;
                        nv += 1;
                        ne += 1;
                        nle += 1;
                    }
                    /* pass 0 cuts the left records, pass 1 the right ones (their new halves
                     * follow the left ones' among the records, as in the rounds) */
                    int64_t r = rpos[4 * i + pass_];
                    if (r < 0)
                        continue;
                    if (nrec >= rcap) {
                        need = 7;
                        break;
                    }
                    int64_t *rr = rec + RC_N * r;
                    int64_t x = le[LE_N * ni + LE_U], olv = le[LE_N * ni + LE_V];
                    /* the new vertex is on the cut line; on the record's own line it is where
                     * the edge's ends are (a point inside a segment cannot be on the other
                     * side of a line from both its ends, whatever its map says) */
                    int64_t ea = rr[RC_SA], eb = rr[RC_SB];
                    int64_t sx = ea != 0 ? ea : eb;
                    if (ea * eb < 0)
                        sx = vside(pos, neg, nbytes, V1, x, rr[RC_P], lines, coefs, P, on, meet, state);
                    if (rr[RC_P] == cp)
                        sx = 0;
                    int64_t *rn = rec + RC_N * nrec;
                    rn[RC_E] = ni;
                    rn[RC_F] = rr[RC_F];
                    rn[RC_RIGHT] = pass_;
                    rn[RC_P] = rr[RC_P];
                    if (pass_ == 0) { /* u -> v becomes u -> X, and X -> v is new */
                        rn[RC_A] = x;
                        rn[RC_B] = olv;
                        rn[RC_SA] = sx;
                        rn[RC_SB] = rr[RC_SB];
                        rr[RC_B] = x;
                        rr[RC_SB] = sx;
                    } else { /* v -> u becomes X -> u, and v -> X is new */
                        rn[RC_A] = olv;
                        rn[RC_B] = x;
                        rn[RC_SA] = rr[RC_SA];
                        rn[RC_SB] = sx;
                        rr[RC_A] = x;
                        rr[RC_SA] = sx;
                    }
                    nrec += 1;
                }
            }
            if (need)
                break;
            /* each cell of the round: vertices above, below, and on the line next to one above */
            for (int64_t r = 0; r < nrec; r++) {
                int64_t *rr = rec + RC_N * r;
                int64_t c = rr[RC_F], sa = rr[RC_SA], sb = rr[RC_SB];
                if (sa > 0 || sb > 0)
                    wc[C_N * c + C_HASP] = 1;
                if (sa < 0 || sb < 0)
                    wc[C_N * c + C_HASQ] = 1;
                int64_t inc_a = sa == 0 && sb > 0; /* on the line at a, the part above follows */
                int64_t inc_b = sb == 0 && sa > 0; /* on the line at b, the part above precedes */
                if (inc_a || inc_b) {
                    int64_t n = wc[C_N * c + C_INCID];
                    int64_t x = inc_a ? rr[RC_A] : rr[RC_B];
                    if (n == 0) {
                        wc[C_N * c + C_X1] = x;
                        wc[C_N * c + C_FOL1] = inc_a;
                    } else if (n == 1) {
                        wc[C_N * c + C_X2] = x;
                        /* one vertex has the part above after it, the other before */
                        if (wc[C_N * c + C_FOL1] == inc_a)
                            wc[C_N * c + C_FOL1] = -1;
                    }
                    wc[C_N * c + C_INCID] = n + 1;
                }
            }
            /* the split cells, in order: the part below the line is a new cell, its records
             * (no end above) and edges move to it, and a chord joins the two */
            int64_t ncell0 = ncell;
            for (int64_t c = 0; c < ncell0; c++) {
                if (wc[C_N * c + C_CUR] < 0 || wc[C_N * c + C_POST])
                    continue;
                if (!(wc[C_N * c + C_HASP] && wc[C_N * c + C_HASQ] && wc[C_N * c + C_INCID] == 2 &&
                      wc[C_N * c + C_FOL1] >= 0))
                    continue;
                if (ncell >= ccap) {
                    need = 5;
                    break;
                }
                if (nf >= fcap) {
                    need = 3;
                    break;
                }
                if (nle >= wcap) {
                    need = 4;
                    break;
                }
                if (ne >= ecap) {
                    need = 2;
                    break;
                }
                int64_t k1 = wc[C_N * c + C_CUR];
                int64_t g1 = wc[C_N * c + C_GID];
                int64_t nc = ncell;
                ncell += 1;
                wc[C_N * c + C_NEW] = nc;
                wc[C_N * nc + C_GID] = nf;
                wc[C_N * nc + C_CUR] = -1;
                wc[C_N * nc + C_COUNT] = 0;
                wc[C_N * nc + C_POST] = 0;
                fkey[2 * (nf - F)] = rnd;
                fkey[2 * (nf - F) + 1] = g1;
                orig[nf] = f;
                int64_t u1 = lines[k1] % h;
                for (int64_t j = 0; j < h; j++)
                    reg[nf * h + j] = reg[g1 * h + j];
                reg[g1 * h + u1] += 1;
                nf += 1;
                int64_t fol1 = wc[C_N * c + C_FOL1];
                int64_t x1 = wc[C_N * c + C_X1], x2 = wc[C_N * c + C_X2];
                le[LE_N * nle + LE_GID] = ne;
                le[LE_N * nle + LE_U] = fol1 ? x2 : x1;
                le[LE_N * nle + LE_V] = fol1 ? x1 : x2;
                le[LE_N * nle + LE_L] = c;
                le[LE_N * nle + LE_R] = nc;
                le[LE_N * nle + LE_PAIR] = k1;
                ekey[3 * (ne - e0)] = rnd;
                ekey[3 * (ne - e0) + 1] = 1;
                ekey[3 * (ne - e0) + 2] = g1;
                nle += 1;
                ne += 1;
            }
            if (need)
                break;
            for (int64_t r = 0; r < nrec; r++) {
                int64_t *rr = rec + RC_N * r;
                int64_t nc = wc[C_N * rr[RC_F] + C_NEW];
                if (nc < 0 || rr[RC_SA] > 0 || rr[RC_SB] > 0)
                    continue;
                rr[RC_F] = nc;
                le[LE_N * rr[RC_E] + (rr[RC_RIGHT] ? LE_R : LE_L)] = nc;
            }
            /* the cells not cut: the side of their vertices (on the line is below); rounding's
             * alternating cells: the side of their centre, from its face's map */
            for (int64_t c = 0; c < ncell0; c++) {
                wd[3 * c] = 0.0;
                wd[3 * c + 1] = 0.0;
                wd[3 * c + 2] = 0.0;
            }
            for (int64_t r = 0; r < nrec; r++) {
                int64_t *rr = rec + RC_N * r;
                int64_t c = rr[RC_F];
                if (c >= ncell0 || !(wc[C_N * c + C_HASP] && wc[C_N * c + C_HASQ]))
                    continue;
                int64_t a = rr[RC_A];
                if (wd[3 * c + 2] == 0.0) {
                    wd[3 * c] = P[2 * a];
                    wd[3 * c + 1] = P[2 * a + 1];
                } else {
                    wd[3 * c] = wd[3 * c] + P[2 * a];
                    wd[3 * c + 1] = wd[3 * c + 1] + P[2 * a + 1];
                }
                wd[3 * c + 2] = wd[3 * c + 2] + 1.0;
            }
            for (int64_t c = 0; c < ncell0; c++) {
                int64_t q = wc[C_N * c + C_CUR];
                if (q < 0 || wc[C_N * c + C_POST] || wc[C_N * c + C_NEW] >= 0)
                    continue;
                int64_t side = wc[C_N * c + C_HASP] && !wc[C_N * c + C_HASQ];
                if (wc[C_N * c + C_HASP] && wc[C_N * c + C_HASQ]) {
                    amb += 1;
                    double cu = wd[3 * c] / wd[3 * c + 2];
                    double cv = wd[3 * c + 1] / wd[3 * c + 2];
                    double z = coefs[3 * q] * cu + coefs[3 * q + 1] * cv;
                    z = z + coefs[3 * q + 2];
                    side = z > 0.0;
                }
                reg[wc[C_N * c + C_GID] * h + lines[q] % h] += (int8_t)side;
            }
            /* the next round's lines: a cut cell's two parts keep those of the lines after the
             * cut one that still cross them, with witnesses on both sides (plane_walk's
             * "children"); a cell not cut, those after its line; a waiting cell, all its own */
            int64_t nnext = 0;
            for (int64_t c = 0; c < ncell0 && need == 0; c++) {
                int64_t cnt = wc[C_N * c + C_COUNT];
                if (cnt == 0)
                    continue;
                int64_t st = wc[C_N * c + C_START];
                int64_t nc = wc[C_N * c + C_NEW];
                if (wc[C_N * c + C_POST]) {
                    if (nnext + cnt > pcap) {
                        need = 6;
                        break;
                    }
                    for (int64_t k = 0; k < cnt; k++)
                        for (int64_t j = 0; j < 3; j++)
                            pb_[3 * (nnext + k) + j] = pa_[3 * (st + k) + j];
                    wc[C_N * c + C_START] = nnext;
                    nnext += cnt;
                    continue;
                }
                if (nc < 0) {
                    if (nnext + cnt - 1 > pcap) {
                        need = 6;
                        break;
                    }
                    for (int64_t k = 1; k < cnt; k++)
                        for (int64_t j = 0; j < 3; j++)
                            pb_[3 * (nnext + k - 1) + j] = pa_[3 * (st + k) + j];
                    wc[C_N * c + C_START] = nnext;
                    wc[C_N * c + C_COUNT] = cnt - 1;
                    nnext += cnt - 1;
                    continue;
                }
                if (nnext + 2 * (cnt - 1) > pcap) {
                    need = 6;
                    break;
                }
                int64_t k1 = wc[C_N * c + C_CUR];
                int64_t x1 = wc[C_N * c + C_X1], x2 = wc[C_N * c + C_X2];
                int64_t g1 = wc[C_N * c + C_GID], gn = wc[C_N * nc + C_GID];
                /* the part above's lines from nnext, the part below's after room for all */
                int64_t nup = 0, ndn = 0;
                for (int64_t k = 1; k < cnt; k++) {
                    int64_t q = pa_[3 * (st + k)], wp = pa_[3 * (st + k) + 1], wm = pa_[3 * (st + k) + 2];
                    int64_t s1 = vside(pos, neg, nbytes, V1, x1, q, lines, coefs, P, on, meet, state);
                    int64_t s2 = vside(pos, neg, nbytes, V1, x2, q, lines, coefs, P, on, meet, state);
                    int64_t both = s1 * s2 < 0;
                    int64_t along = s1 == 0 && s2 == 0;
                    int64_t s = s1 != 0 ? s1 : s2; /* the ends' side, where they do not straddle the line */
                    int64_t far = s > 0 ? wm : wp;  /* the witness on the other side: in the part crossed */
                    int64_t cs = vside(pos, neg, nbytes, V1, along ? wp : far, k1, lines, coefs, P, on, meet, state);
                    int64_t one = !both && !along;
                    /* (cs == 0 only by rounding: both keep the line, a later round decides) */
                    int64_t keep_up = both || (one && cs >= 0);
                    int64_t keep_dn = both || (one && cs <= 0);
                    int64_t near = s1 == s ? x1 : x2; /* an end on the ends' side: in the part crossed */
                    int64_t wpn = both ? (s1 > 0 ? x1 : x2) : (s > 0 ? near : wp);
                    int64_t wmn = both ? (s1 < 0 ? x1 : x2) : (s < 0 ? near : wm);
                    /* a part the line does not cross lies on one side of it: in its regions */
                    if (keep_up) {
                        pb_[3 * (nnext + nup)] = q;
                        pb_[3 * (nnext + nup) + 1] = wpn;
                        pb_[3 * (nnext + nup) + 2] = wmn;
                        nup += 1;
                    } else {
                        reg[g1 * h + lines[q] % h] += (int8_t)(along ? cs > 0 : s > 0);
                    }
                    if (keep_dn) {
                        pb_[3 * (nnext + cnt - 1 + ndn)] = q;
                        pb_[3 * (nnext + cnt - 1 + ndn) + 1] = wpn;
                        pb_[3 * (nnext + cnt - 1 + ndn) + 2] = wmn;
                        ndn += 1;
                    } else {
                        reg[gn * h + lines[q] % h] += (int8_t)(along ? cs < 0 : s > 0);
                    }
                }
                for (int64_t k = 0; k < ndn; k++)
                    for (int64_t j = 0; j < 3; j++)
                        pb_[3 * (nnext + nup + k) + j] = pb_[3 * (nnext + cnt - 1 + k) + j];
                wc[C_N * c + C_START] = nnext;
                wc[C_N * nc + C_START] = nnext + nup;
                nnext += nup + ndn;
                wc[C_N * c + C_COUNT] = nup;
                wc[C_N * nc + C_COUNT] = ndn;
            }
            if (need)
                break;
            cur_buf = 1 - cur_buf;
            rnd += 1;
        }
        if (need) { /* out of room: this face again, after the caller grows the arrays */
            for (int64_t j = 0; j < h; j++)
                reg[f * h + j] = wreg[j];
            state[7] = need;
            return need;
        }
        /* the face done: its edges into the store */
        for (int64_t i = 0; i < nle; i++) {
            int64_t g = le[LE_N * i + LE_GID];
            int64_t lc = le[LE_N * i + LE_L], rc = le[LE_N * i + LE_R];
            if (g < e0) {
                if (lc >= 0)
                    eL[g] = wc[C_N * lc + C_GID];
                if (rc >= 0)
                    eR[g] = wc[C_N * rc + C_GID];
                continue;
            }
            int64_t q = le[LE_N * i + LE_PAIR];
            eu[g] = le[LE_N * i + LE_U];
            ev[g] = le[LE_N * i + LE_V];
            eL[g] = wc[C_N * lc + C_GID];
            eR[g] = wc[C_N * rc + C_GID];
            eoL[g] = f;
            eoR[g] = f;
            epair[g] = q;
            elayer[g] = (int32_t)layer;
            eunit[g] = (int32_t)(lines[q] % h);
            for (int64_t j = 0; j < 3; j++)
                ecoef[3 * g + j] = coefs[3 * q + j];
        }
        state[0] = f + 1;
        state[1] = nv;
        state[2] = ne;
        state[3] = nf;
        state[4] += amb;
        state[5] = rnd > state[5] ? rnd : state[5];
    }
    state[7] = 0;
    return 0;
}

/* The end of a counting sort: ptr[1..n] ran from each bucket's start to its end (the next
 * bucket's start) as the rows were placed; moved back, ptr[k] is bucket k's start again. */
static inline void starts_back(int64_t *ptr, int64_t n)
{
    for (int64_t k = n; k > 0; k--)
        ptr[k] = ptr[k - 1];
    ptr[0] = 0;
}

/* u, v, L, R (n): the edges (faces -1 outside); owner, vptr (V + 1), vface, fptr (F + 1),
 * fvert: the smallest face around each vertex, the faces around each vertex (edge order),
 * and each face's vertices in the order of their ids. */
void plane_incidence(const int64_t *u, const int64_t *v, const int64_t *L, const int64_t *R, int64_t n, int64_t *owner,
                     int64_t V, int64_t *vptr, int64_t *vface, int64_t *fptr, int64_t F, int64_t *fvert)
{
    for (int64_t x = 0; x <= V; x++)
        vptr[x] = 0;
    for (int64_t f = 0; f <= F; f++)
        fptr[f] = 0;
    for (int64_t e = 0; e < n; e++) {
        if (L[e] >= 0) {
            vptr[u[e] + 1] += 1;
            fptr[L[e] + 1] += 1;
        }
        if (R[e] >= 0) {
            vptr[v[e] + 1] += 1;
            fptr[R[e] + 1] += 1;
        }
    }
    for (int64_t x = 0; x < V; x++)
        vptr[x + 1] += vptr[x];
    for (int64_t f = 0; f < F; f++)
        fptr[f + 1] += fptr[f];
    /* the faces around each vertex: a face is on the left of the edges leaving the vertex */
    for (int64_t x = 0; x < V; x++)
        owner[x] = vptr[x];
    for (int64_t e = 0; e < n; e++) {
        if (L[e] >= 0) {
            vface[owner[u[e]]] = L[e];
            owner[u[e]] += 1;
        }
        if (R[e] >= 0) {
            vface[owner[v[e]]] = R[e];
            owner[v[e]] += 1;
        }
    }
    for (int64_t x = 0; x < V; x++) {
        int64_t m = -1;
        for (int64_t t = vptr[x]; t < vptr[x + 1]; t++)
            if (m < 0 || vface[t] < m)
                m = vface[t];
        owner[x] = m;
    }
    /* each face's vertices, in order: fptr[f] runs to the end of f's, then is moved back */
    for (int64_t x = 0; x < V; x++) {
        for (int64_t t = vptr[x]; t < vptr[x + 1]; t++) {
            int64_t f = vface[t];
            fvert[fptr[f]] = x;
            fptr[f] += 1;
        }
    }
    starts_back(fptr, F);
}

/* L, R (n): the edges' faces; nf (F): each face's lines; fe_ptr (F + 1), fe: the edges of
 * each face with lines, in the order of their ids. */
void plane_face_edges(const int64_t *L, const int64_t *R, int64_t n, const int64_t *nf, int64_t F, int64_t *fe_ptr,
                      int64_t *fe)
{
    for (int64_t f = 0; f <= F; f++)
        fe_ptr[f] = 0;
    for (int64_t e = 0; e < n; e++) {
        if (L[e] >= 0 && nf[L[e]] > 0)
            fe_ptr[L[e] + 1] += 1;
        if (R[e] >= 0 && nf[R[e]] > 0)
            fe_ptr[R[e] + 1] += 1;
    }
    for (int64_t f = 0; f < F; f++)
        fe_ptr[f + 1] += fe_ptr[f];
    for (int64_t e = 0; e < n; e++) {
        if (L[e] >= 0 && nf[L[e]] > 0) {
            fe[fe_ptr[L[e]]] = e;
            fe_ptr[L[e]] += 1;
        }
        if (R[e] >= 0 && nf[R[e]] > 0) {
            fe[fe_ptr[R[e]]] = e;
            fe_ptr[R[e]] += 1;
        }
    }
    starts_back(fe_ptr, F);
}

/* The coefficients (a, b, c) of line `line` (unit line % h, breakpoint bps[line / h]) on
 * face f's map (maps (3, nface, h)). */
static void line_coef(const double *maps, int64_t nface, int64_t h, const double *bps, int64_t f, int64_t line,
                      double *c)
{
    int64_t j = line % h;
    c[0] = maps[f * h + j];
    c[1] = maps[(nface + f) * h + j];
    c[2] = maps[(2 * nface + f) * h + j] - bps[line / h];
}

/* Step 1 of a layer: a vertex on every edge where a line crosses it (the pairs e, line, by
 * edge then line, nc of them), ordered along the edge, those at one point shared; new
 * vertices from row V0 of P, on, meet, new edges from row n of the edge columns, their
 * sides into rows of npos and nneg (zeros on entry); xs (nc, 2), cls (nc, 3), sv (nc),
 * ord_ and vid (nc): workspaces.  Returns the number of new vertices (and edges). */
int64_t plane_split_edges(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, const int64_t *e, const int64_t *line,
                          int64_t nc, const double *maps, int64_t nface, int64_t h, const double *bps,
                          const int64_t *owner, double *P, int64_t *on, double *meet, int64_t V0, int64_t *eu,
                          int64_t *ev, int64_t *eL, int64_t *eR, int64_t *eoL, int64_t *eoR, int64_t *epair,
                          int32_t *elayer, int32_t *eunit, double *ecoef, int64_t n, uint8_t *npos, uint8_t *nneg,
                          double *xs, double *cls, double *sv, int64_t *ord_, int64_t *vid)
{
    int64_t nx = 0;
    int64_t i = 0;
    while (i < nc) {
        int64_t ed = e[i];
        int64_t j = i;
        while (j < nc && e[j] == ed)
            j += 1;
        int64_t u = eu[ed], v = ev[ed];
        const double *pa = P + 2 * u, *pb = P + 2 * v;
        for (int64_t k = i; k < j; k++) {
            double ca[3], cb[3];
            line_coef(maps, nface, h, bps, eL[ed], line[k], cls + 3 * k);
            line_coef(maps, nface, h, bps, owner[u], line[k], ca);
            line_coef(maps, nface, h, bps, owner[v], line[k], cb);
            double za = ca[0] * pa[0] + ca[1] * pa[1];
            za = za + ca[2];
            double zb = cb[0] * pb[0] + cb[1] * pb[1];
            zb = zb + cb[2];
            cross_point(ecoef + 3 * ed, cls + 3 * k, pa, pb, za, zb, xs + 2 * k);
            double s0 = (xs[2 * k] - pa[0]) * (pb[0] - pa[0]);
            double s1 = (xs[2 * k + 1] - pa[1]) * (pb[1] - pa[1]);
            sv[k] = s0 + s1;
            /* in order along the edge (then by the point), stably: an insertion */
            int64_t t = k;
            while (t > i) {
                int64_t q = ord_[t - 1];
                int before = sv[k] < sv[q] ||
                             (sv[k] == sv[q] && (xs[2 * k] < xs[2 * q] ||
                                                 (xs[2 * k] == xs[2 * q] && xs[2 * k + 1] < xs[2 * q + 1])));
                if (!before)
                    break;
                ord_[t] = q;
                t -= 1;
            }
            ord_[t] = k;
        }
        /* the new vertices, one per point: each exactly on the (first) line crossing there */
        int64_t first = nx;
        for (int64_t t = i; t < j; t++) {
            int64_t k = ord_[t];
            if (t > i) {
                int64_t q = ord_[t - 1];
                if (xs[2 * k] == xs[2 * q] && xs[2 * k + 1] == xs[2 * q + 1]) {
                    vid[k] = nx - 1;
                    continue;
                }
            }
            int64_t x = V0 + nx;
            P[2 * x] = xs[2 * k];
            P[2 * x + 1] = xs[2 * k + 1];
            on[2 * x] = -1;
            on[2 * x + 1] = line[k];
            for (int64_t c = 0; c < 3; c++) {
                meet[6 * x + c] = ecoef[3 * ed + c];
                meet[6 * x + 3 + c] = cls[3 * k + c];
            }
            vid[k] = nx;
            nx += 1;
        }
        /* their sides: those of the edge's ends where they agree or one is on the line, and
         * for the lines crossing the edge, by their order along it */
        for (int64_t q = first; q < nx; q++) {
            for (int64_t b = 0; b < nbytes; b++) {
                int pu = pos[u * nbytes + b], pv = pos[v * nbytes + b];
                int qu = neg[u * nbytes + b], qv = neg[v * nbytes + b];
                npos[q * nbytes + b] = (uint8_t)((pu | pv) & ~(qu | qv));
                nneg[q * nbytes + b] = (uint8_t)((qu | qv) & ~(pu | pv));
            }
        }
        for (int64_t k = i; k < j; k++) {
            int64_t ln = line[k];
            int sh = 7 - (int)(ln & 7);
            uint8_t mask = (uint8_t)(128 >> (ln & 7));
            for (int64_t q = first; q < nx; q++) {
                int64_t src = q < vid[k] ? u : v;
                if (q == vid[k])
                    continue;
                if ((pos[src * nbytes + (ln >> 3)] >> sh) & 1)
                    npos[q * nbytes + (ln >> 3)] |= mask;
                if ((neg[src * nbytes + (ln >> 3)] >> sh) & 1)
                    nneg[q * nbytes + (ln >> 3)] |= mask;
            }
        }
        /* the edges: ed keeps (u, its first new vertex); the others follow along it */
        for (int64_t q = first; q < nx; q++) {
            int64_t g = n + q;
            eu[g] = V0 + q;
            ev[g] = q + 1 < nx ? V0 + q + 1 : v;
            eL[g] = eL[ed];
            eR[g] = eR[ed];
            eoL[g] = eoL[ed];
            eoR[g] = eoR[ed];
            epair[g] = epair[ed];
            elayer[g] = elayer[ed];
            eunit[g] = eunit[ed];
            for (int64_t c = 0; c < 3; c++)
                ecoef[3 * g + c] = ecoef[3 * ed + c];
        }
        ev[ed] = V0 + first;
        i = j;
    }
    return nx;
}

/* The rows of key (m, stride; column 0 the round) by round, stably: lst[ptr[r]:ptr[r + 1]]. */
static void by_round(const int64_t *key, int64_t stride, int64_t m, int64_t rounds, int64_t *ptr, int64_t *lst)
{
    for (int64_t r = 0; r <= rounds; r++)
        ptr[r] = 0;
    for (int64_t i = 0; i < m; i++)
        ptr[key[stride * i] + 1] += 1;
    for (int64_t r = 0; r < rounds; r++)
        ptr[r + 1] += ptr[r];
    for (int64_t i = 0; i < m; i++) {
        int64_t r = key[stride * i];
        lst[ptr[r]] = i;
        ptr[r] += 1;
    }
    starts_back(ptr, rounds);
}

/* Numbers from next_ on to the rows lst[a:b] (their keys distinct) in the order of
 * remap[key[stride * i + col]], through slot (-1 on entry and on return); returns next. */
static int64_t in_order(const int64_t *key, int64_t stride, int64_t col, int64_t type_, const int64_t *lst, int64_t a,
                        int64_t b, const int64_t *remap, int64_t *slot, int64_t *out, int64_t base, int64_t next_)
{
    int64_t lo = -1, hi = -1;
    for (int64_t t = a; t < b; t++) {
        int64_t i = lst[t];
        if (type_ >= 0 && key[stride * i + 1] != type_)
            continue;
        int64_t k = remap[key[stride * i + col]];
        slot[k] = i;
        lo = (lo < 0 || k < lo) ? k : lo;
        hi = k > hi ? k : hi;
    }
    for (int64_t k = lo; lo >= 0 && k <= hi; k++) {
        if (slot[k] < 0)
            continue;
        out[base + slot[k]] = next_;
        next_ += 1;
        slot[k] = -1;
    }
    return next_;
}

/* The new vertices, edges and faces of a layer's cuts (keys (round, what it was made
 * from): vkey (nv, 2), ekey (ne, 3), fkey (nf, 2)) numbered as rounds over all faces at
 * once number them: in each round the vertices by the edge they cut, then the edges' new
 * halves likewise, then the chords and new faces by the cell they cut.  vmap (V1 + nv),
 * emap (e0 + ne), fmap (F + nf): each row's number (identity below V1, e0, F); slot
 * (nslot, -1 on entry), ptr (3, rounds + 1), lst (nv + ne + nf): workspaces. */
void plane_renumber(const int64_t *vkey, int64_t nv, const int64_t *ekey, int64_t ne, const int64_t *fkey, int64_t nf,
                    int64_t rounds, int64_t V1, int64_t e0, int64_t F, int64_t *vmap, int64_t *emap, int64_t *fmap,
                    int64_t *slot, int64_t *ptr, int64_t *lst)
{
    for (int64_t x = 0; x < V1 + nv; x++)
        vmap[x] = x;
    for (int64_t x = 0; x < e0 + ne; x++)
        emap[x] = x;
    for (int64_t x = 0; x < F + nf; x++)
        fmap[x] = x;
    int64_t *vp = ptr, *ep = ptr + (rounds + 1), *fp = ptr + 2 * (rounds + 1);
    int64_t *vl = lst, *el = lst + nv, *fl = lst + nv + ne;
    by_round(vkey, 2, nv, rounds, vp, vl);
    by_round(ekey, 3, ne, rounds, ep, el);
    by_round(fkey, 2, nf, rounds, fp, fl);
    int64_t vnext = V1, enext = e0, fnext = F;
    for (int64_t r = 0; r < rounds; r++) {
        vnext = in_order(vkey, 2, 1, -1, vl, vp[r], vp[r + 1], emap, slot, vmap, V1, vnext);
        enext = in_order(ekey, 3, 2, 0, el, ep[r], ep[r + 1], emap, slot, emap, e0, enext);
        enext = in_order(ekey, 3, 2, 1, el, ep[r], ep[r + 1], fmap, slot, emap, e0, enext);
        fnext = in_order(fkey, 2, 1, -1, fl, fp[r], fp[r + 1], fmap, slot, fmap, F, fnext);
    }
}
