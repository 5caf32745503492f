// cpp_smoke.cpp: the header used from C++17 and linked against the .so (extern "C" linkage), with a model load,
// one caption and one error path. Usage: cpp_smoke MODEL.safetensors
#include "cxrcaption.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (cxr_abi_version() != CXR_ABI_VERSION) return 1;
    cxr_model *model = nullptr;
    if (cxr_model_load(argv[1], &model) != CXR_OK) {
        std::fprintf(stderr, "load: %s\n", cxr_last_error());
        return 1;
    }
    cxr_session *session = nullptr;
    cxr_session_create(model, &session);
    std::vector<std::uint8_t> pixels(100 * 80);
    for (std::size_t i = 0; i < pixels.size(); i++) pixels[i] = static_cast<std::uint8_t>(i * 31 % 251);
    cxr_image image;
    cxr_image_init(&image, sizeof image);
    image.pixels = pixels.data();
    image.width = 100;
    image.height = 80;
    int failures = 0;
    if (cxr_generate(session, &image, nullptr) != CXR_OK) {
        std::fprintf(stderr, "generate: %s\n", cxr_last_error());
        failures++;
    }
    int32_t count = 0;
    const char *text = nullptr;
    cxr_result_count(session, &count);
    if (count < 1 || cxr_result_text(session, 0, &text) != CXR_OK) failures++;
    std::printf("C++: libcxrcaption %s, %d results, best \"%s\"\n", cxr_version(), count, text ? text : "");
    image.row_bytes = 99;  // the next generate also releases `text`

    if (cxr_generate(session, &image, nullptr) != CXR_E_INVALID_IMAGE
        || std::strstr(cxr_last_error(), "row_bytes 99") == nullptr)
        failures++;
    std::printf("C++: bad row_bytes: %s\n", cxr_last_error());
    cxr_session_free(session);
    cxr_model_free(model);
    return failures == 0 ? 0 : 1;
}
