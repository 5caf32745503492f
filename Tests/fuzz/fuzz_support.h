// Shared by the libFuzzer targets in Tests/fuzz: reading fields out of the fuzzer's bytes, and failing loudly
// when a promise of include/cxrcaption.h does not hold (libFuzzer reports the abort as a crash, with the
// input that caused it).
#ifndef CXR_FUZZ_SUPPORT_H
#define CXR_FUZZ_SUPPORT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Stops the run when a promise is broken: the message says which.
#define FUZZ_REQUIRE(condition, ...)                                                                       \
    do {                                                                                                   \
        if (!(condition)) {                                                                                \
            fprintf(stderr, "fuzz: broken promise (%s:%d): ", __FILE__, __LINE__);                       \
            fprintf(stderr, __VA_ARGS__);                                                                  \
            fprintf(stderr, "\n");                                                                         \
            abort();                                                                                       \
        }                                                                                                  \
    } while (0)

/// The fuzzer's bytes, consumed front to back; reads past the end give zeros.
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
} fuzz_bytes;

static inline uint8_t fuzz_u8(fuzz_bytes *bytes) {
    return bytes->offset < bytes->size ? bytes->data[bytes->offset++] : 0;
}

static inline uint32_t fuzz_u32(fuzz_bytes *bytes) {
    uint32_t value = 0;
    for (int i = 0; i < 4; i++) value |= (uint32_t)fuzz_u8(bytes) << (8 * i);
    return value;
}

static inline uint64_t fuzz_u64(fuzz_bytes *bytes) {
    return (uint64_t)fuzz_u32(bytes) | ((uint64_t)fuzz_u32(bytes) << 32);
}

/// A double that is mostly ordinary (selector < 200 of 256: a small integer or a value in [-8, 8]) and
/// sometimes any bit pattern (NaN, infinities, subnormals, huge values).
static inline double fuzz_double(fuzz_bytes *bytes) {
    uint8_t selector = fuzz_u8(bytes);
    if (selector < 100) return (double)(int8_t)fuzz_u8(bytes);
    if (selector < 200) return ((double)(int32_t)fuzz_u32(bytes)) / 268435456.0;
    uint64_t bits = fuzz_u64(bytes);
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/// The bytes not yet consumed.
static inline const uint8_t *fuzz_rest(const fuzz_bytes *bytes, size_t *count) {
    *count = bytes->offset < bytes->size ? bytes->size - bytes->offset : 0;
    return bytes->data + (bytes->size - *count);
}

/// An environment variable, or `fallback`.
static inline const char *fuzz_env(const char *name, const char *fallback) {
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

#endif
