/* fastrelu C kernels: the twin of src/fastrelu/_kernel_numba.py.
 *
 * This header is also read by csrc/build_ckernel.py as the cffi cdef, so it holds
 * only plain declarations (no preprocessor logic, no includes).
 */
extern const int FASTRELU_TILE;
extern const int FASTRELU_HBLOCK;
extern const int FASTRELU_CHUNK_TILES;

void sweep_kernel_f64(const double *x, int64_t n, const double *w1, const double *b1,
                      const double *w2, double b2, const double *c, int64_t h, double alpha,
                      double *y, double *slope, int32_t *negative);
void sweep_kernel_f32(const float *x, int64_t n, const float *w1, const float *b1,
                      const float *w2, float b2, const float *c, int64_t h, float alpha,
                      float *y, float *slope, int32_t *negative);

int get_num_threads(void);
void set_num_threads(int n);
