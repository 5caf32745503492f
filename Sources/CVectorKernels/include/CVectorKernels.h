/* CVectorKernels: the decoder's arithmetic-bound loops (attention scores, LSTM update, log-softmax, and the
 * few-row products of a beam against its weight matrices) and the encoder's Winograd transforms, compiled
 * once per x86-64 vector width and chosen at run time, because Swift compiles a module for one target
 * (CXRKit: baseline x86-64, 4-lane SSE).
 *
 * Every element-wise entry point takes a level (`cvk_level`) and computes bit-identical results at every
 * level, except for the sign and payload of a NaN: the source fixes the order of every sum, floating-point
 * contraction is off (no FMA), and division is IEEE-exact at any width. So those results never depend on
 * the CPU that computed them, and the tests compare each level the machine has with the generic one, bit
 * for bit. (The product is the exception; see cvk_few_row_product.) This holds for clang without
 * -ffast-math and without -ffp-contract=fast (which would override the source's pragma); SwiftPM builds
 * it that way, and vector_support.h refuses other compilers and fast-math.
 *
 * Internal to CXRKit (not part of libcxrcaption's exported C API). Pointers must be valid for the counts
 * given; nothing here allocates, locks or keeps state beyond the CPU check. Thread-safe. */
#ifndef CVECTORKERNELS_H
#define CVECTORKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/** The instruction sets a kernel may use. */
typedef enum {
    CVK_LEVEL_GENERIC = 0, /**< the build's baseline (SSE2 on x86-64; any other architecture) */
    CVK_LEVEL_AVX2 = 1,    /**< AVX2 and FMA (8 lanes) */
    CVK_LEVEL_AVX512 = 2,  /**< AVX-512F (16 lanes) */
} cvk_level;

/** The widest level this CPU and operating system support (checked once; later calls are a load). */
cvk_level cvk_best_level(void);

/** Additive attention for `query_count` queries at once, over the keys stored channel-major:
 *  scores[i * regions + r] = sum_d weights[d] * tanh(queries[i * width + d] + keys[d * regions + r])
 *  for each query i and the regions r in [first, first + count) (callers split the regions among threads).
 *  tanh: Eigen's rational approximation (within 1e-6 of the exact tanh). Each score is one sum over d in
 *  order (the lanes run over regions), so a score does not depend on `first` or `count`. */
void cvk_attention_scores(cvk_level level, const float *queries, long query_count, const float *keys, long regions,
                          const float *weights, long width, long first, long count, float *scores);

/** One LSTM row, PyTorch gate order [i | f | g | o] of `units` each:
 *  c_u = sigmoid(f_u) * c_u + sigmoid(i_u) * tanh(g_u);  hidden_u = sigmoid(o_u) * tanh(c_u).
 *  `hidden` must not overlap `gates` or `cell`. sigmoid = 1 / (1 + exp(-x)) with Cephes' expf. */
void cvk_lstm_update(cvk_level level, const float *gates, float *cell, float *hidden, long units);

/** The most rows cvk_few_row_product takes. */
#define CVK_FEW_ROWS_MAX 4

/** c[i * ldc + j] = sum_p a[i * lda + p] * b[j * ldb + p] (+ beta * c[i * ldc + j] when beta != 0; with
 *  beta == 0, c is not read) for 1 <= m <= CVK_FEW_ROWS_MAX rows, with fused multiply-adds.
 *  The exception to the bit-identity rule above: this kernel exists at the AVX2 (with FMA) and AVX-512
 *  levels only, and their sums differ in the last bits. Each output's value does not depend on n or on
 *  where its column falls, so callers may split the columns among threads.
 *  Returns 1 when it computed the product, 0 (touching nothing) when `level` or the CPU has no such
 *  kernel or m is outside 1...CVK_FEW_ROWS_MAX: the caller then uses BLAS. */
int cvk_few_row_product(cvk_level level, long m, long n, long k, const float *a, long lda, const float *b,
                        long ldb, float *c, long ldc, float beta);

/** output[i] = log_softmax(input)[i] = input[i] - max - log(sum_j exp(input[j] - max)), in float as PyTorch
 *  computes it; exp as in cvk_exp, the sum in 16 partial sums, log from libm. count >= 1; `output` must
 *  not overlap `input`. */
void cvk_log_softmax(cvk_level level, const float *input, long count, float *output);

/** The activations every kernel above inlines, evaluated on their own (the tests check their accuracy). */
typedef enum {
    CVK_EXP = 0,     /**< Cephes expf: within 2 ulp of libm for results in [2^-126, 2^127]; flushes smaller
                          results to 0; +infinity from 88.3763 on */
    CVK_SIGMOID = 1, /**< 1 / (1 + exp(-x)) with that exp */
    CVK_TANH = 2,    /**< Eigen's rational tanh on [-9, 9], within 1e-6 of the exact tanh */
} cvk_function;

/** output[i] = function(input[i]) for i in [0, count) (`output` may equal `input`). NaN gives NaN. */
void cvk_apply(cvk_level level, cvk_function function, const float *input, float *output, long count);

/** Winograd F(2x2, 3x3), the input transform of one tile: V = Bᵀ d B for each channel c, where d is the
 *  4x4 patch whose pixel (r, s) holds its channels at patch[4 * r + s] (a row of zeros for padding), and
 *  v[ξ * channels + c] receives element ξ = 4 · row + column of the transformed tile. `v` must not overlap
 *  the patch. */
void cvk_winograd_input(cvk_level level, const float *const patch[16], long channels, float *v);

/** Winograd F(2x2, 3x3), the output transform of one tile: Y = Aᵀ M A for each channel o, from
 *  m[ξ * channels + o]; the 2x2 outputs go to y00, y01 (row 0) and y10, y11 (row 1), `channels` each,
 *  which must not overlap each other or `m`. */
void cvk_winograd_output(cvk_level level, const float *m, long channels, float *y00, float *y01, float *y10,
                         float *y11);

#ifdef __cplusplus
}
#endif

#endif
