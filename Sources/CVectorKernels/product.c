/* The few-row product C[m, n] = A[m, k] · B[n, k]ᵀ (+ beta · C) for 1 to 4 rows of A (a beam's hypotheses)
 * against a weight matrix B, in AVX2 + FMA and AVX-512 intrinsics (see CVectorKernels.h).
 *
 * With three rows each weight is used three times per load, so the product is bound by multiply-adds,
 * not by memory: each level keeps its rows x columns block of accumulators in registers (4 x 4 zmm for
 * AVX-512, 4 x 2 ymm for AVX2), fused multiply-adds along k, then one horizontal sum per output. Every
 * output is computed the same way wherever it falls in the blocking (same chunk order, same masked tail,
 * same horizontal sum), so splitting the columns among threads does not change any result. */
#include "vector_support.h"

#if CVK_HAS_X86_LEVELS
#include <immintrin.h>

#define CVK_AVX512_FMA __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define CVK_AVX2_FMA __attribute__((target("avx2,fma")))

/* ---- AVX-512: 16 lanes; the k tail (k mod 16) by masked loads, which read zeros past the end. */

CVK_INLINE CVK_AVX512_FMA void block_avx512(int rows, int columns, long k, const float *a, long lda,
                                            const float *b, long ldb, float *c, long ldc, float beta) {
    __m512 sum[4][4];
    for (int i = 0; i < rows; i++)
        for (int q = 0; q < columns; q++) sum[i][q] = _mm512_setzero_ps();
    long p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 row[4];
        for (int i = 0; i < rows; i++) row[i] = _mm512_loadu_ps(a + i * lda + p);
        for (int q = 0; q < columns; q++) {
            __m512 weight = _mm512_loadu_ps(b + q * ldb + p);
            for (int i = 0; i < rows; i++) sum[i][q] = _mm512_fmadd_ps(row[i], weight, sum[i][q]);
        }
    }
    if (p < k) {
        __mmask16 mask = (__mmask16)((1u << (k - p)) - 1);
        __m512 row[4];
        for (int i = 0; i < rows; i++) row[i] = _mm512_maskz_loadu_ps(mask, a + i * lda + p);
        for (int q = 0; q < columns; q++) {
            __m512 weight = _mm512_maskz_loadu_ps(mask, b + q * ldb + p);
            for (int i = 0; i < rows; i++) sum[i][q] = _mm512_fmadd_ps(row[i], weight, sum[i][q]);
        }
    }
    for (int i = 0; i < rows; i++) {
        for (int q = 0; q < columns; q++) {
            float total = _mm512_reduce_add_ps(sum[i][q]);
            c[i * ldc + q] = beta == 0.0f ? total : total + beta * c[i * ldc + q];
        }
    }
}

CVK_INLINE CVK_AVX512_FMA void rows_avx512(int rows, long n, long k, const float *a, long lda, const float *b,
                                           long ldb, float *c, long ldc, float beta) {
    long j = 0;
    for (; j + 4 <= n; j += 4) block_avx512(rows, 4, k, a, lda, b + j * ldb, ldb, c + j, ldc, beta);
    for (; j < n; j++) block_avx512(rows, 1, k, a, lda, b + j * ldb, ldb, c + j, ldc, beta);
}

CVK_AVX512_FMA static void product_avx512(long m, long n, long k, const float *a, long lda, const float *b,
                                          long ldb, float *c, long ldc, float beta) {
    switch (m) { /* constant row counts, so the accumulators stay in registers */
    case 1: rows_avx512(1, n, k, a, lda, b, ldb, c, ldc, beta); break;
    case 2: rows_avx512(2, n, k, a, lda, b, ldb, c, ldc, beta); break;
    case 3: rows_avx512(3, n, k, a, lda, b, ldb, c, ldc, beta); break;
    default: rows_avx512(4, n, k, a, lda, b, ldb, c, ldc, beta); break;
    }
}

/* ---- AVX2: 8 lanes; the k tail by masked loads. */

CVK_INLINE CVK_AVX2_FMA float sum8(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

CVK_INLINE CVK_AVX2_FMA void block_avx2(int rows, int columns, long k, const float *a, long lda, const float *b,
                                        long ldb, float *c, long ldc, float beta) {
    __m256 sum[4][2];
    for (int i = 0; i < rows; i++)
        for (int q = 0; q < columns; q++) sum[i][q] = _mm256_setzero_ps();
    long p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 row[4];
        for (int i = 0; i < rows; i++) row[i] = _mm256_loadu_ps(a + i * lda + p);
        for (int q = 0; q < columns; q++) {
            __m256 weight = _mm256_loadu_ps(b + q * ldb + p);
            for (int i = 0; i < rows; i++) sum[i][q] = _mm256_fmadd_ps(row[i], weight, sum[i][q]);
        }
    }
    if (p < k) {
        int remaining = (int)(k - p);
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(remaining), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 row[4];
        for (int i = 0; i < rows; i++) row[i] = _mm256_maskload_ps(a + i * lda + p, mask);
        for (int q = 0; q < columns; q++) {
            __m256 weight = _mm256_maskload_ps(b + q * ldb + p, mask);
            for (int i = 0; i < rows; i++) sum[i][q] = _mm256_fmadd_ps(row[i], weight, sum[i][q]);
        }
    }
    for (int i = 0; i < rows; i++) {
        for (int q = 0; q < columns; q++) {
            float total = sum8(sum[i][q]);
            c[i * ldc + q] = beta == 0.0f ? total : total + beta * c[i * ldc + q];
        }
    }
}

CVK_INLINE CVK_AVX2_FMA void rows_avx2(int rows, long n, long k, const float *a, long lda, const float *b,
                                       long ldb, float *c, long ldc, float beta) {
    long j = 0;
    for (; j + 2 <= n; j += 2) block_avx2(rows, 2, k, a, lda, b + j * ldb, ldb, c + j, ldc, beta);
    for (; j < n; j++) block_avx2(rows, 1, k, a, lda, b + j * ldb, ldb, c + j, ldc, beta);
}

CVK_AVX2_FMA static void product_avx2(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                                      float *c, long ldc, float beta) {
    switch (m) {
    case 1: rows_avx2(1, n, k, a, lda, b, ldb, c, ldc, beta); break;
    case 2: rows_avx2(2, n, k, a, lda, b, ldb, c, ldc, beta); break;
    case 3: rows_avx2(3, n, k, a, lda, b, ldb, c, ldc, beta); break;
    default: rows_avx2(4, n, k, a, lda, b, ldb, c, ldc, beta); break;
    }
}
#endif

int cvk_few_row_product(cvk_level level, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                        float *c, long ldc, float beta) {
    if (m < 1 || m > CVK_FEW_ROWS_MAX || n < 0 || k < 0) return 0;
#if CVK_HAS_X86_LEVELS
    cvk_level usable = level < cvk_best_level() ? level : cvk_best_level();
    if (usable == CVK_LEVEL_AVX512) {
        product_avx512(m, n, k, a, lda, b, ldb, c, ldc, beta);
        return 1;
    }
    if (usable == CVK_LEVEL_AVX2) {
        product_avx2(m, n, k, a, lda, b, ldb, c, ldc, beta);
        return 1;
    }
#endif
    (void)level, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc, (void)beta;
    return 0;
}
