// libpng 1.6 (Debian: libpng-dev), plus the longjmp-safe wrappers CXRImageIO calls.
#include <png.h>
#include "cxr_png.h"
