/* What the kernels share (internal to CVectorKernels): exp, sigmoid and tanh as branch-free float arithmetic
 * that vectorizes at any width, the fixed-order 16-lane sum, and the macros that compile one kernel body
 * per level and choose among them. */
#ifndef CVK_VECTOR_SUPPORT_H
#define CVK_VECTOR_SUPPORT_H

#include "CVectorKernels.h"

#if !defined(__clang__)
#error "CVectorKernels needs clang (SwiftPM's C compiler): its results rely on #pragma STDC FP_CONTRACT OFF"
#endif
#if defined(__FAST_MATH__)
#error "CVectorKernels must not be built with -ffast-math: the kernels' results would depend on the CPU"
#endif

#include <stdint.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

#define CVK_INLINE static inline __attribute__((always_inline))

/* Cephes expf: n = round(x / ln 2) by the 1.5 * 2^23 shift, r = x - n ln 2 in two parts, a degree-5
 * polynomial, times 2^n built in the exponent bits. Inputs clamped to [-88.376, 88.376]. */
CVK_INLINE float cvk_exp(float value) {
    const float shift = 12582912.0f; /* 1.5 * 2^23 */
    float x = value < -88.3762626647949f ? -88.3762626647949f
                                          : (value > 88.3762626647950f ? 88.3762626647950f : value);
    float shifted = x * 1.44269504088896341f + shift;
    float n = shifted - shift;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float result = p * (r * r) + r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    uint32_t scale = (bits - 0x4B400000u + 127u) << 23; /* n + 127 in the exponent field */
    float factor;
    memcpy(&factor, &scale, sizeof factor);
    return result * factor;
}

CVK_INLINE float cvk_sigmoid(float x) { return 1.0f / (1.0f + cvk_exp(-x)); }

/* Eigen's generic_fast_tanh_float: odd degree-13 numerator over even degree-6 denominator, on [-9, 9]. */
CVK_INLINE float cvk_tanh(float value) {
    float x = value < -9.0f ? -9.0f : (value > 9.0f ? 9.0f : value);
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return p / q;
}

/* The 16 partial sums of a sum: lane l holds the terms i with i mod 16 == l, added in order of i; then
 * ((l0 + l8) + (l4 + l12)) + ((l2 + l10) + (l6 + l14)) + ... as written here. */
CVK_INLINE float cvk_reduce16(const float lanes[16]) {
    float half[8], quarter[4];
    for (int l = 0; l < 8; l++) half[l] = lanes[l] + lanes[l + 8];
    for (int l = 0; l < 4; l++) quarter[l] = half[l] + half[l + 4];
    return (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
}

/* Each kernel is an always-inline body NAME_body; CVK_DEFINE_LEVELS(NAME, (parameters), (arguments)) wraps it
 * once per level (plain = the baseline, then with the AVX2 and AVX-512 target attributes), so the compiler
 * vectorizes the same source for each instruction set, and CVK_DISPATCH(level, NAME, arguments...) calls
 * the widest wrapper that both `level` and the CPU allow. */
#if defined(__x86_64__)
#define CVK_HAS_X86_LEVELS 1
#define CVK_DEFINE_LEVELS(name, parameters, arguments)                                                     \
    static void name##_generic parameters { name##_body arguments; }                                       \
    __attribute__((target("avx2"))) static void name##_avx2 parameters { name##_body arguments; }         \
    __attribute__((target("avx512f,avx512vl,avx512dq,avx2"))) static void name##_avx512 parameters {      \
        name##_body arguments;                                                                             \
    }
#define CVK_DISPATCH(level, name, ...)                                                                     \
    do {                                                                                                   \
        cvk_level usable = (level) < cvk_best_level() ? (level) : cvk_best_level();                        \
        if (usable == CVK_LEVEL_AVX512) name##_avx512(__VA_ARGS__);                                        \
        else if (usable == CVK_LEVEL_AVX2) name##_avx2(__VA_ARGS__);                                       \
        else name##_generic(__VA_ARGS__);                                                                  \
    } while (0)
#else
#define CVK_HAS_X86_LEVELS 0
#define CVK_DEFINE_LEVELS(name, parameters, arguments) \
    static void name##_generic parameters { name##_body arguments; }
#define CVK_DISPATCH(level, name, ...) \
    do {                               \
        (void)(level);                 \
        name##_generic(__VA_ARGS__);   \
    } while (0)
#endif

#endif
