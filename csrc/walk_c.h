/* fastrelu C kernels of the exact deep walk: the twins of src/fastrelu/kernels/walk_numba.py.
 *
 * Read by csrc/build_c.py as cffi cdef too (after kernels.h): plain declarations only.
 * A 2-D array comes with its number of columns (ld...) after it; flags are uint8_t.
 */
extern const int FASTRELU_WALK_CHUNK;
extern const int FASTRELU_WALK_HITS;
int walk_scan_pass(const double *te, const double *S, const double *C, int64_t ldS, const double *bps,
                   int64_t nb, int64_t p, int first, int8_t *carried, int8_t *r0s, uint8_t *flag);
int64_t walk_first_crossing(const double *bps, int64_t nb, double s, double c, double tl, double tr);
void walk_scan_piece(const double *te, const double *S, const double *C, int64_t ldS, const double *bps,
                     int64_t nb, int64_t p, int8_t *first, int8_t *carried, uint8_t *flag, int8_t *r0s,
                     int64_t *sc, int64_t *ev_p, double *ev_t, int64_t *ev_j, int8_t *ev_r, int64_t cap);
void walk_scan(const double *te, const double *S, const double *C, int64_t P, int64_t ldS, const double *bps,
               int64_t nb, int8_t *first, int8_t *carried, uint8_t *flag, int8_t *r0s, int64_t *sc,
               int64_t *ev_p, double *ev_t, int64_t *ev_j, int8_t *ev_r, int64_t cap);
int64_t walk_plan(const double *te, int64_t P, const int64_t *ev_p, const double *ev_t, const int64_t *order,
                  int64_t n, const int8_t *ekind_old, int64_t K, double *te_new, int64_t *par, int8_t *src,
                  int64_t *e_old, int64_t *e_ev, int64_t *e_n, int64_t *row, int64_t *arow, int64_t *nrow_out);
void walk_fill(int64_t i0, int64_t i1, int8_t *cur, int64_t w, double *G, double *O, double *gl, int64_t *mark,
               const double *gain, const double *offs, int64_t ldg, int64_t idx0, const double *S,
               const double *C, int64_t ldS, const int64_t *par, const int8_t *src, const int64_t *e_old,
               const int64_t *e_ev, const int64_t *e_n, const int64_t *row, const int64_t *arow,
               const int64_t *order, const int64_t *ev_j, const int8_t *ev_r, const double *Yo, int64_t ldYo,
               const int64_t *rowo, const double *WTo, int64_t ldWTo, const int64_t *colo, const int8_t *srco,
               const int8_t *ekind_old, const double *eds_old, const double *edc_old, double *X, int64_t ldX,
               int32_t *nneg, int64_t *ecol, double *eds, double *edc, int8_t *ekind, const int64_t *aidx,
               double *XL, int64_t ldXL, int8_t *elive);
void walk_prefix(int64_t i0, int64_t i1, const double *Y, int64_t ldY, const double *b, const double *WT,
                 int64_t ldWT, const int8_t *src, const int64_t *row, const int64_t *arow, const int64_t *ecol,
                 const double *eds, const double *edc, double *sh, double *sl, double *ch, double *cl,
                 double *S2, double *C2, int64_t w2, const int64_t *aidx, const double *YL, int64_t ldYL,
                 const int8_t *elive, int64_t *live, int64_t *moving, int scan, const double *te,
                 const double *bps, int64_t nb, int8_t *first, int8_t *carried, uint8_t *flag, int8_t *r0s,
                 int64_t *sc, int64_t *ev_p, double *ev_t, int64_t *ev_j, int8_t *ev_r, int64_t cap);
void walk_transpose(const double *W, int64_t m, int64_t ldW, double *WT, int64_t ldWT, int64_t j0, int64_t j1);
void walk_evaluate_f64(int64_t c0, int64_t c1, const double *t, int64_t n, const double *edges, int64_t m,
                       const double *slope, const double *icpt, int64_t out, const int32_t *neg, int64_t depth,
                       double *y, double *sl, int32_t *negative, int64_t *hits, int64_t *nhits);
void walk_evaluate_f32(int64_t c0, int64_t c1, const float *t, int64_t n, const double *edges, int64_t m,
                       const double *slope, const double *icpt, int64_t out, const int32_t *neg, int64_t depth,
                       float *y, float *sl, int32_t *negative, int64_t *hits, int64_t *nhits);
