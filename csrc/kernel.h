/* fastrelu C kernels: the twin of src/fastrelu/_kernel_numba.py.
 *
 * This header is also read by csrc/build_ckernel.py as the cffi cdef, so it holds
 * only plain declarations (no preprocessor logic, no includes).
 */
extern const int FASTRELU_TILE;
extern const int FASTRELU_HBLOCK;
extern const int FASTRELU_CHUNK_TILES;
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

void sweep_deep_f64(const double *t, int64_t n, const int64_t *widths, int64_t depth,
                    const double *weights, const double *biases, const double *alpha,
                    const double *lo, const double *hi, double *y, double *slope, int32_t *negative);
void sweep_deep_f32(const float *t, int64_t n, const int64_t *widths, int64_t depth,
                    const float *weights, const float *biases, const float *alpha,
                    const float *lo, const float *hi, float *y, float *slope, int32_t *negative);

int get_num_threads(void);
void set_num_threads(int n);
