/* fastrelu C kernel of a graph network's per-point sweep: the twin of
 * src/fastrelu/kernels/graph_numba.py.
 *
 * Read by csrc/build_c.py as cffi cdef too (after kernels.h): plain declarations only.
 */
extern const int FASTRELU_GRAPH_TILE;
extern const int FASTRELU_GRAPH_CHUNK_TILES;
extern const int FASTRELU_GRAPH_FIELDS;
int sweep_graph_f64(const double *t, int64_t n, const int64_t *ops, int64_t nodes, const int64_t *indices,
                    const double *reals, int64_t units, int64_t nk, int64_t nact, double *y, double *slope,
                    int32_t *negative);
int sweep_graph_f32(const float *t, int64_t n, const int64_t *ops, int64_t nodes, const int64_t *indices,
                    const float *reals, int64_t units, int64_t nk, int64_t nact, float *y, float *slope,
                    int32_t *negative);
