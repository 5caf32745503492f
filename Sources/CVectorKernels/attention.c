/* Additive-attention scores, one body compiled per level (see CVectorKernels.h). */
#include "vector_support.h"

CVK_INLINE void attention_scores_body(const float *query, const float *keys, const float *weights, long width,
                                      long rows, float *scores) {
    for (long row = 0; row < rows; row++) {
        const float *key = keys + row * width;
        float lanes[16] = {0};
        long d = 0;
        for (; d + 16 <= width; d += 16) {
            for (int l = 0; l < 16; l++) lanes[l] += weights[d + l] * cvk_tanh(query[d + l] + key[d + l]);
        }
        for (int l = 0; d + l < width; l++) lanes[l] += weights[d + l] * cvk_tanh(query[d + l] + key[d + l]);
        scores[row] = cvk_reduce16(lanes);
    }
}

CVK_DEFINE_LEVELS(attention_scores,
                  (const float *query, const float *keys, const float *weights, long width, long rows,
                   float *scores),
                  (query, keys, weights, width, rows, scores))

void cvk_attention_scores(cvk_level level, const float *query, const float *keys, const float *weights,
                          long width, long rows, float *scores) {
    CVK_DISPATCH(level, attention_scores, query, keys, weights, width, rows, scores);
}
