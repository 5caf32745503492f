/* ThreadSanitizer builds only (swift build --sanitize=thread compiles C with -fsanitize=thread).
 *
 * TSan cannot see inside the Swift runtime, so the runtime reports its own synchronization to TSan (swift_once,
 * which guards every lazy global, calls __tsan_acquire / __tsan_release) once TSan has called the runtime's
 * __tsan_on_initialize hook. TSan finds that hook by dynamic lookup; the runtime linked statically into
 * libcxrcaption.so is not exported (Sources/CCXRCAPI/exports.map), so the hook is never called, and the first
 * use of a lazy global from two threads at once (e.g. two sessions' first captions) is reported as a data race
 * that is not one. This constructor calls the hook itself when the library is loaded, after TSan started. */
#include "cxr_sanitizer_hooks.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
void __tsan_on_initialize(void); /* the Swift runtime's (swift/lib/Threading/ThreadSanitizer.cpp) */

__attribute__((constructor)) static void cxr_announce_swift_runtime_to_tsan(void) { __tsan_on_initialize(); }
#endif
#endif

/* Something to compile in other builds (ISO C wants a declaration in every translation unit); nothing exported. */
typedef int cxr_sanitizer_hooks_translation_unit;
