/* log_softmax of one row, and the activations over an array; one body compiled per level (see CVectorKernels.h). */
#include "vector_support.h"

#include <math.h>

CVK_INLINE void log_softmax_body(const float *input, long count, float *output) {
    float largest = -INFINITY;
    for (long i = 0; i < count; i++) largest = input[i] > largest ? input[i] : largest;
    float lanes[16] = {0};
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        for (int l = 0; l < 16; l++) lanes[l] += cvk_exp(input[i + l] - largest);
    }
    for (int l = 0; i + l < count; l++) lanes[l] += cvk_exp(input[i + l] - largest);
    float log_total = logf(cvk_reduce16(lanes));
    for (long j = 0; j < count; j++) output[j] = input[j] - largest - log_total;
}

CVK_INLINE void apply_body(cvk_function function, const float *input, float *output, long count) {
    switch (function) {
    case CVK_EXP:
        for (long i = 0; i < count; i++) output[i] = cvk_exp(input[i]);
        break;
    case CVK_SIGMOID:
        for (long i = 0; i < count; i++) output[i] = cvk_sigmoid(input[i]);
        break;
    case CVK_TANH:
        for (long i = 0; i < count; i++) output[i] = cvk_tanh(input[i]);
        break;
    }
}

CVK_DEFINE_LEVELS(log_softmax, (const float *input, long count, float *output), (input, count, output))
CVK_DEFINE_LEVELS(apply, (cvk_function function, const float *input, float *output, long count),
                  (function, input, output, count))

void cvk_log_softmax(cvk_level level, const float *input, long count, float *output) {
    CVK_DISPATCH(level, log_softmax, input, count, output);
}

void cvk_apply(cvk_level level, cvk_function function, const float *input, float *output, long count) {
    CVK_DISPATCH(level, apply, function, input, output, count);
}
