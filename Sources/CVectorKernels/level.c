/* The CPU check behind cvk_best_level. */
#include "vector_support.h"

#include <stdatomic.h>

#if CVK_HAS_X86_LEVELS
/* __builtin_cpu_supports reads CPUID once (at load) and also checks that the OS saves the vector state
 * (XCR0), so a level it reports is usable. */
static cvk_level detect(void) {
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    /* The AVX-512 wrappers are also compiled with AVX2 and FMA, so that level needs them too (a hypervisor
     * may hide some features). */
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512dq")) {
        return CVK_LEVEL_AVX512;
    }
    if (avx2) return CVK_LEVEL_AVX2;
    return CVK_LEVEL_GENERIC;
}
#endif

cvk_level cvk_best_level(void) {
#if CVK_HAS_X86_LEVELS
    /* Racing first calls compute and store the same value. */
    static _Atomic int cached = -1;
    int level = atomic_load_explicit(&cached, memory_order_relaxed);
    if (level < 0) {
        level = (int)detect();
        atomic_store_explicit(&cached, level, memory_order_relaxed);
    }
    return (cvk_level)level;
#else
    return CVK_LEVEL_GENERIC;
#endif
}
