// libFuzzer target: the CLI's PNG reader (Sources/CPNG/cxr_png.h, libpng underneath), as
// Sources/CXRImageIO/PNGDecoding.swift calls it.
//
// Any bytes must give either a decoded image that fits its limits, with exactly height x row_bytes bytes of
// pixels (every byte is read, so AddressSanitizer sees a short buffer), or 0 (2: over the pixel limit) and a
// message.
// The pixel limit here is 4 M (the CLI's is larger) so that a decompression bomb stays within libFuzzer's
// memory limit; the code path is the same.
#include "cxr_png.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint32_t max_side = 16384;
    const uint64_t max_pixels = 4u << 20;
    cxr_png_decoded decoded;
    cxr_png_error error;
    int status = cxr_png_decode(data, size, max_side, max_pixels, &decoded, &error);
    if (status == 1) {
        FUZZ_REQUIRE(decoded.pixels != NULL, "success without pixels");
        FUZZ_REQUIRE(decoded.width >= 1 && decoded.height >= 1 && decoded.width <= max_side &&
                         decoded.height <= max_side && (uint64_t)decoded.width * decoded.height <= max_pixels,
                     "%u x %u", decoded.width, decoded.height);
        FUZZ_REQUIRE(decoded.channels >= 1 && decoded.channels <= 4, "%d channels", decoded.channels);
        FUZZ_REQUIRE(decoded.bit_depth == 8 || decoded.bit_depth == 16, "bit depth %d", decoded.bit_depth);
        FUZZ_REQUIRE(decoded.row_bytes == (size_t)decoded.width * decoded.channels * decoded.bit_depth / 8,
                     "row_bytes %zu", decoded.row_bytes);
        volatile unsigned sum = 0;
        for (size_t i = 0; i < decoded.row_bytes * decoded.height; i++) sum += decoded.pixels[i];
        cxr_png_free(decoded.pixels);
    } else {
        FUZZ_REQUIRE(status == 0 || status == 2, "status %d", status);
        FUZZ_REQUIRE(error.message[0] != 0, "failure without a message");
        FUZZ_REQUIRE(decoded.pixels == NULL, "failure left pixels");
        FUZZ_REQUIRE(status != 2 || (uint64_t)decoded.width * decoded.height > max_pixels,
                     "refused as too large: %u x %u", decoded.width, decoded.height);
    }
    return 0;
}
