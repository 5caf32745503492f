/* The input and output transforms of Winograd's F(2x2, 3x3) for one tile, over all channels; one body
 * compiled per level (see CVectorKernels.h). Only additions and subtractions, in the order written, so
 * every level gives the same bits. */
#include "vector_support.h"

/* V = Bᵀ d B, Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. */
CVK_INLINE void winograd_input_body(const float *const patch[16], long channels, float *restrict v) {
    const float *p00 = patch[0], *p01 = patch[1], *p02 = patch[2], *p03 = patch[3];
    const float *p10 = patch[4], *p11 = patch[5], *p12 = patch[6], *p13 = patch[7];
    const float *p20 = patch[8], *p21 = patch[9], *p22 = patch[10], *p23 = patch[11];
    const float *p30 = patch[12], *p31 = patch[13], *p32 = patch[14], *p33 = patch[15];
    for (long c = 0; c < channels; c++) {
        float t00 = p00[c] - p20[c], t01 = p01[c] - p21[c], t02 = p02[c] - p22[c], t03 = p03[c] - p23[c];
        float t10 = p10[c] + p20[c], t11 = p11[c] + p21[c], t12 = p12[c] + p22[c], t13 = p13[c] + p23[c];
        float t20 = p20[c] - p10[c], t21 = p21[c] - p11[c], t22 = p22[c] - p12[c], t23 = p23[c] - p13[c];
        float t30 = p10[c] - p30[c], t31 = p11[c] - p31[c], t32 = p12[c] - p32[c], t33 = p13[c] - p33[c];
        v[0 * channels + c] = t00 - t02;
        v[1 * channels + c] = t01 + t02;
        v[2 * channels + c] = t02 - t01;
        v[3 * channels + c] = t01 - t03;
        v[4 * channels + c] = t10 - t12;
        v[5 * channels + c] = t11 + t12;
        v[6 * channels + c] = t12 - t11;
        v[7 * channels + c] = t11 - t13;
        v[8 * channels + c] = t20 - t22;
        v[9 * channels + c] = t21 + t22;
        v[10 * channels + c] = t22 - t21;
        v[11 * channels + c] = t21 - t23;
        v[12 * channels + c] = t30 - t32;
        v[13 * channels + c] = t31 + t32;
        v[14 * channels + c] = t32 - t31;
        v[15 * channels + c] = t31 - t33;
    }
}

/* Y = Aᵀ M A, Aᵀ = [1 1 1 0; 0 1 -1 -1]. */
CVK_INLINE void winograd_output_body(const float *restrict m, long channels, float *restrict y00,
                                     float *restrict y01, float *restrict y10, float *restrict y11) {
    for (long o = 0; o < channels; o++) {
        float m00 = m[0 * channels + o], m01 = m[1 * channels + o];
        float m02 = m[2 * channels + o], m03 = m[3 * channels + o];
        float m10 = m[4 * channels + o], m11 = m[5 * channels + o];
        float m12 = m[6 * channels + o], m13 = m[7 * channels + o];
        float m20 = m[8 * channels + o], m21 = m[9 * channels + o];
        float m22 = m[10 * channels + o], m23 = m[11 * channels + o];
        float m30 = m[12 * channels + o], m31 = m[13 * channels + o];
        float m32 = m[14 * channels + o], m33 = m[15 * channels + o];
        float u00 = m00 + m10 + m20, u10 = m10 - m20 - m30;
        float u01 = m01 + m11 + m21, u11 = m11 - m21 - m31;
        float u02 = m02 + m12 + m22, u12 = m12 - m22 - m32;
        float u03 = m03 + m13 + m23, u13 = m13 - m23 - m33;
        y00[o] = u00 + u01 + u02;
        y01[o] = u01 - u02 - u03;
        y10[o] = u10 + u11 + u12;
        y11[o] = u11 - u12 - u13;
    }
}

CVK_DEFINE_LEVELS(winograd_input, (const float *const patch[16], long channels, float *v), (patch, channels, v))
CVK_DEFINE_LEVELS(winograd_output,
                  (const float *m, long channels, float *y00, float *y01, float *y10, float *y11),
                  (m, channels, y00, y01, y10, y11))

void cvk_winograd_input(cvk_level level, const float *const patch[16], long channels, float *v) {
    CVK_DISPATCH(level, winograd_input, patch, channels, v);
}

void cvk_winograd_output(cvk_level level, const float *m, long channels, float *y00, float *y01, float *y10,
                         float *y11) {
    CVK_DISPATCH(level, winograd_output, m, channels, y00, y01, y10, y11);
}
