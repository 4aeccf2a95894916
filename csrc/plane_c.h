/* fastrelu C kernels of the plane walk: the twins of src/fastrelu/kernels/plane_numba.py.
 *
 * Read by csrc/build_c.py as cffi cdef too (after kernels.h): plain declarations only.
 */
void plane_gather_maps(const double *maps, int64_t nparent, int64_t h, const int64_t *parent,
                       const int8_t *regions, const double *gain, const double *offs, int64_t f0,
                       int64_t f1, double *x, int64_t nx);
int64_t plane_sides(const double *maps, int64_t nface, int64_t h, const int64_t *owner, const double *P,
                    const double *bps, int64_t nb, double look, int64_t v0, int64_t v1,
                    uint8_t *pos, uint8_t *neg, int64_t nbytes, int64_t *cand, int64_t ncap);
int64_t plane_side(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, int64_t V1, const int64_t *vert,
                   const int64_t *pair, int64_t n, const int64_t *lines, const double *coefs, const double *P,
                   const int64_t *on, int8_t *s, int64_t *near);
int64_t plane_crossings(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, const int64_t *u, const int64_t *v,
                        int64_t n, int64_t *out, int64_t ncap);
void plane_face_sides(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, const int64_t *fptr, int64_t F,
                      const int64_t *ts, uint8_t *fpos, uint8_t *fneg);
void plane_store_maps(const double *y, int64_t ny, int64_t w, int64_t n, const double *bias, double *out,
                      int64_t nout, int64_t f0, double *acc);
/* csrc/plane_cut.c: the rounds of cuts of one layer, and the exact side predicate. */
void plane_exact_sides(const double *meet, const double *line, int64_t n, int64_t *out);
int64_t plane_cut(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, int64_t V1, const int64_t *pp, int64_t F,
                  const int64_t *lines, const double *coefs, int64_t h, const int64_t *fptr, const int64_t *ts,
                  const int64_t *fe_ptr, const int64_t *fe, int64_t layer, double *P, int64_t *on, double *meet,
                  int64_t vcap, int64_t *eu, int64_t *ev, int64_t *eL, int64_t *eR, int64_t *eoL, int64_t *eoR,
                  int64_t *epair, int32_t *elayer, int32_t *eunit, double *ecoef, int64_t ecap, int64_t e0,
                  int8_t *reg, int64_t *orig, int64_t fcap, int64_t *vkey, int64_t *ekey, int64_t *fkey,
                  int64_t *le, int64_t wcap, int64_t *rec, int64_t rcap, int64_t *rpos, int64_t *wc, int64_t ccap,
                  int64_t *pend, int64_t pcap, double *wd, int8_t *wreg, int64_t *state);
void plane_incidence(const int64_t *u, const int64_t *v, const int64_t *L, const int64_t *R, int64_t n, int64_t *owner,
                     int64_t V, int64_t *vptr, int64_t *vface, int64_t *fptr, int64_t F, int64_t *fvert);
void plane_face_edges(const int64_t *L, const int64_t *R, int64_t n, const int64_t *nf, int64_t F, int64_t *fe_ptr,
                      int64_t *fe);
int64_t plane_split_edges(const uint8_t *pos, const uint8_t *neg, int64_t nbytes, const int64_t *e, const int64_t *line,
                          int64_t nc, const double *maps, int64_t nface, int64_t h, const double *bps,
                          const int64_t *owner, double *P, int64_t *on, double *meet, int64_t V0, int64_t *eu,
                          int64_t *ev, int64_t *eL, int64_t *eR, int64_t *eoL, int64_t *eoR, int64_t *epair,
                          int32_t *elayer, int32_t *eunit, double *ecoef, int64_t n, uint8_t *npos, uint8_t *nneg,
                          double *xs, double *cls, double *sv, int64_t *ord_, int64_t *vid);
void plane_renumber(const int64_t *vkey, int64_t nv, const int64_t *ekey, int64_t ne, const int64_t *fkey, int64_t nf,
                    int64_t rounds, int64_t V1, int64_t e0, int64_t F, int64_t *vmap, int64_t *emap, int64_t *fmap,
                    int64_t *slot, int64_t *ptr, int64_t *lst);
