/* The element-wise half of an LSTM cell, one body compiled per level (see CVectorKernels.h). */
#include "vector_support.h"

CVK_INLINE void lstm_update_body(const float *gates, float *cell, float *hidden, long units) {
    const float *input = gates, *forget = gates + units;
    const float *candidate = gates + 2 * units, *output = gates + 3 * units;
    for (long u = 0; u < units; u++) {
        float c = cvk_sigmoid(forget[u]) * cell[u] + cvk_sigmoid(input[u]) * cvk_tanh(candidate[u]);
        cell[u] = c;
        hidden[u] = cvk_sigmoid(output[u]) * cvk_tanh(c);
    }
}

CVK_DEFINE_LEVELS(lstm_update, (const float *gates, float *cell, float *hidden, long units),
                  (gates, cell, hidden, units))

void cvk_lstm_update(cvk_level level, const float *gates, float *cell, float *hidden, long units) {
    CVK_DISPATCH(level, lstm_update, gates, cell, hidden, units);
}
