/* fastrelu C kernels: the twins of src/fastrelu/kernels/dense_numba.py and exact_numba.py.
 *
 * This header is also read by csrc/build_c.py as the cffi cdef, so it holds
 * only plain declarations (no preprocessor logic, no includes).
 */
extern const int FASTRELU_HBLOCK;
extern const int FASTRELU_CHUNK;
int register_points(int itemsize);
void set_vector_bytes(int bytes);
extern const int FASTRELU_DEEP_TILE;
extern const int FASTRELU_DEEP_VECTOR;
extern const int FASTRELU_DEEP_ROWS;
extern const int FASTRELU_DEEP_KBLOCK;
extern const int FASTRELU_DEEP_MBLOCK;
extern const int FASTRELU_DEEP_CHUNK_TILES;

void sweep_kernel_f64(const double *x, int64_t n, const double *w1, const double *b1,
                      const double *w2, double b2, const double *c, int64_t h, double alpha,
                      double *y, double *slope, int32_t *negative);
void sweep_kernel_f32(const float *x, int64_t n, const float *w1, const float *b1,
                      const float *w2, float b2, const float *c, int64_t h, float alpha,
                      float *y, float *slope, int32_t *negative);

int sweep_deep_f64(const double *t, int64_t n, const int64_t *widths, int64_t depth,
                    const double *weights, const double *biases, const double *alpha,
                    const double *lo, const double *hi, double *y, double *slope, int32_t *negative);
int sweep_deep_f32(const float *t, int64_t n, const int64_t *widths, int64_t depth,
                    const float *weights, const float *biases, const float *alpha,
                    const float *lo, const float *hi, float *y, float *slope, int32_t *negative);

extern const int FASTRELU_OPENMP;
extern const int FASTRELU_BUILD_KIND;
int get_num_threads(void);
void set_num_threads(int n);
void note_openmp_team(void);
int openmp_started(void);

/* The exact backend's kernels (csrc/exact_c.c, the twin of
 * src/fastrelu/kernels/exact_numba.py). */
extern const int FASTRELU_EXACT_CHUNK;
void exact_pack_keys(const uint64_t *u, int64_t n, int64_t bits, uint64_t *keys);
int exact_unpack_keys(const uint64_t *keys, int64_t m, int64_t bits, const double *t,
                      int64_t *pos, double *ts);
void exact_build(const double *w1, const double *b1, const double *w2, int64_t h, double b2,
                 double alpha, const double *units, const int64_t *pos, int64_t m, double *sw1,
                 double *sb1, double *sw2, double *state, int64_t nstate, int32_t *neg);
void exact_evaluate_f64(const double *x, int64_t n, const double *ts, int64_t m,
                        const double *sw1, const double *sb1, const double *sw2,
                        const double *state, const int32_t *neg, double alpha, double *y,
                        double *slope, int32_t *negative);
void exact_evaluate_f32(const float *x, int64_t n, const double *ts, int64_t m,
                        const double *sw1, const double *sb1, const double *sw2,
                        const double *state, const int32_t *neg, double alpha, float *y,
                        float *slope, int32_t *negative);
int64_t exact_groups(const double *ts, int64_t m, const double *sw1, const double *sw2,
                     double alpha, int64_t *starts, double *change);
