/* Additive-attention scores, one body compiled per level (see CVectorKernels.h). */
#include "vector_support.h"

/* One score per lane: lane l of a block holds region first + l, its sum taken over d in order. */
CVK_INLINE void attention_scores_body(const float *queries, long query_count, const float *keys, long regions,
                                      const float *weights, long width, long first, long count, float *scores) {
    for (long i = 0; i < query_count; i++) {
        const float *query = queries + i * width;
        float *out = scores + i * regions;
        long r = first, end = first + count;
        for (; r + 16 <= end; r += 16) {
            float lanes[16] = {0};
            for (long d = 0; d < width; d++) {
                const float *key = keys + d * regions + r;
                float q = query[d], w = weights[d];
                for (int l = 0; l < 16; l++) lanes[l] += w * cvk_tanh(q + key[l]);
            }
            for (int l = 0; l < 16; l++) out[r + l] = lanes[l];
        }
        for (; r < end; r++) {
            float sum = 0;
            for (long d = 0; d < width; d++) sum += weights[d] * cvk_tanh(query[d] + keys[d * regions + r]);
            out[r] = sum;
        }
    }
}

CVK_DEFINE_LEVELS(attention_scores,
                  (const float *queries, long query_count, const float *keys, long regions, const float *weights,
                   long width, long first, long count, float *scores),
                  (queries, query_count, keys, regions, weights, width, first, count, scores))

void cvk_attention_scores(cvk_level level, const float *queries, long query_count, const float *keys, long regions,
                          const float *weights, long width, long first, long count, float *scores) {
    CVK_DISPATCH(level, attention_scores, queries, query_count, keys, regions, weights, width, first, count,
                 scores);
}
