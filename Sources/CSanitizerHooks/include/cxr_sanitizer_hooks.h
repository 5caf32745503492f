#ifndef CXR_SANITIZER_HOOKS_H
#define CXR_SANITIZER_HOOKS_H
/* Hooks between sanitizer runtimes and the statically linked Swift runtime of libcxrcaption.so. They have no
 * interface: they run as load-time constructors, in sanitizer builds only (see swift_runtime_tsan.c). */
#endif
