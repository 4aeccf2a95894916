/* The plane walk's per-face and per-vertex kernels in C: the twin of
 * src/fastrelu/kernels/plane_numba.py (read the two side by side: same functions, same
 * arguments in the same order, these also taking the lengths after the arrays they
 * count; same loops and names).  What they compute, and why, is said there and in
 * src/fastrelu/analysis/plane_walk.py.
 *
 * Every operation is rounded as written, as in the Numba twin (compiled without
 * fastmath): no contraction in this file, whatever the build's -ffp-contract says, so
 * that the two twins agree bit for bit (tests/test_plane_tiles.py).  The kernels hold
 * the GIL of no one: cffi releases it around each call, and the walk runs tiles of a
 * map in threads.
 */
#include <math.h>
#include <stdint.h>

#include "plane_c.h"

#include "rounded.h" /* no contraction in this file: every operation rounded as written */

/* maps (3, nparent, h), parent (nf), regions (nf, h), gain and offs (regions, h),
 * x (3, nx, h), nx >= f1 - f0. */
void plane_gather_maps(const double *maps, int64_t nparent, int64_t h, const int64_t *parent,
                       const int8_t *regions, const double *gain, const double *offs, int64_t f0,
                       int64_t f1, double *x, int64_t nx)
{
    const double *m0 = maps, *m1 = maps + nparent * h, *m2 = maps + 2 * nparent * h;
    double *x0 = x, *x1 = x + nx * h, *x2 = x + 2 * nx * h;
    for (int64_t f = f0; f < f1; f++) {
        int64_t p = parent[f];
        for (int64_t i = 0; i < h; i++) {
            int64_t r = regions[f * h + i];
            double g = gain[r * h + i];
            x0[(f - f0) * h + i] = g * m0[p * h + i];
            x1[(f - f0) * h + i] = g * m1[p * h + i];
            double z = g * m2[p * h + i];
            x2[(f - f0) * h + i] = z + offs[r * h + i];
        }
    }
}

/* maps (3, nface, h), P (V, 2), pos and neg (V, nbytes), cand (ncap, 2). */
int64_t plane_sides(const double *maps, int64_t nface, int64_t h, const int64_t *owner, const double *P,
                    const double *bps, int64_t nb, double look, int64_t v0, int64_t v1,
                    uint8_t *pos, uint8_t *neg, int64_t nbytes, int64_t *cand, int64_t ncap)
{
    const double *m0 = maps, *m1 = maps + nface * h, *m2 = maps + 2 * nface * h;
    int64_t nc = 0;
    for (int64_t v = v0; v < v1; v++) {
        int64_t f = owner[v];
        double pu = P[2 * v];
        double pv = P[2 * v + 1];
        for (int64_t k = 0; k < nb; k++) {
            double bp = bps[k];
            for (int64_t j = 0; j < h; j++) {
                double t1 = m0[f * h + j] * pu;
                double t2 = m1[f * h + j] * pv;
                t1 = t1 + t2;
                t2 = m2[f * h + j] - bp;
                double z = t1 + t2;
                int64_t line = k * h + j;
                uint8_t bit = (uint8_t)(128 >> (line & 7));
                if (z > 0.0)
                    pos[v * nbytes + (line >> 3)] |= bit;
                else if (z < 0.0)
                    neg[v * nbytes + (line >> 3)] |= bit;
                if (z != 0.0 && fabs(z) <= look) {
                    if (nc < ncap) {
                        cand[2 * nc] = v;
                        cand[2 * nc + 1] = line;
                    }
                    nc += 1;
                }
            }
        }
    }
    return nc;
}

/* pos and neg (V, nbytes), vert and pair (n), coefs (npair, 3), P and on (V, 2), s and near (n). */
int64_t plane_side(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, int64_t V1, const int64_t *vert,
                   const int64_t *pair, int64_t n, const int64_t *lines, const double *coefs, const double *P,
                   const int64_t *on, int8_t *s, int64_t *near)
{
    int64_t nn = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t v = vert[k];
        int64_t q = pair[k];
        int64_t line = lines[q];
        if (v < V1) {
            int sh = 7 - (int)(line & 7);
            int up = (pos[v * nbytes + (line >> 3)] >> sh) & 1;
            int down = (neg[v * nbytes + (line >> 3)] >> sh) & 1;
            s[k] = (int8_t)(up - down);
        } else if (on[2 * v] == line || on[2 * v + 1] == line) {
            s[k] = 0;
        } else {
            double t1 = coefs[3 * q] * P[2 * v];
            double t2 = coefs[3 * q + 1] * P[2 * v + 1];
            double z = t1 + t2;
            z = z + coefs[3 * q + 2];
            double size = fabs(t1) + fabs(t2);
            size = size + fabs(coefs[3 * q + 2]);
            if (z > 0.0)
                s[k] = 1;
            else if (z < 0.0)
                s[k] = -1;
            else
                s[k] = 0;
            if (fabs(z) <= 0x1p-30 * size) {
                near[nn] = k;
                nn += 1;
            }
        }
    }
    return nn;
}

/* pos and neg (V, nbytes), u and v (n), out (ncap, 2). */
int64_t plane_crossings(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, const int64_t *u, const int64_t *v,
                        int64_t n, int64_t *out, int64_t ncap)
{
    int64_t nc = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t a = u[k];
        int64_t b = v[k];
        for (int64_t i = 0; i < nbytes; i++) {
            int x = (pos[a * nbytes + i] & neg[b * nbytes + i]) | (neg[a * nbytes + i] & pos[b * nbytes + i]);
            if (x == 0)
                continue;
            for (int t = 0; t < 8; t++) {
                if ((x >> (7 - t)) & 1) {
                    if (nc < ncap) {
                        out[2 * nc] = k;
                        out[2 * nc + 1] = 8 * i + t;
                    }
                    nc += 1;
                }
            }
        }
    }
    return nc;
}

/* pos and neg (V, nbytes), fptr (F + 1), fpos and fneg (F, nbytes), zeros on entry. */
void plane_face_sides(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, const int64_t *fptr, int64_t F,
                      const int64_t *ts, uint8_t *fpos, uint8_t *fneg)
{
    for (int64_t f = 0; f < F; f++) {
        for (int64_t t = fptr[f]; t < fptr[f + 1]; t++) {
            int64_t r = ts[t];
            for (int64_t i = 0; i < nbytes; i++) {
                fpos[f * nbytes + i] |= pos[r * nbytes + i];
                fneg[f * nbytes + i] |= neg[r * nbytes + i];
            }
        }
    }
}

/* y (3, ny, w): the product of a block of n faces (rows f < n); bias (w); out (3, nout, w);
 * acc (3, w), the largest magnitude so far of each slab's column, NaN once one was NaN. */
void plane_store_maps(const double *y, int64_t ny, int64_t w, int64_t n, const double *bias, double *out,
                      int64_t nout, int64_t f0, double *acc)
{
    for (int64_t s = 0; s < 3; s++) {
        for (int64_t f = 0; f < n; f++) {
            const double *yr = y + (s * ny + f) * w;
            double *orow = out + (s * nout + f0 + f) * w;
            double *ac = acc + s * w;
            for (int64_t i = 0; i < w; i++) {
                double z = yr[i];
                if (s == 2)
                    z = z + bias[i];
                orow[i] = z;
                double a = fabs(z);
                ac[i] = (a > ac[i] || a != a) ? a : ac[i];
            }
        }
    }
}
