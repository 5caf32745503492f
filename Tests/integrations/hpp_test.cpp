// Tests of include/cxrcaption.hpp against the C API it wraps: same results, exceptions carrying the library's
// message, move-only ownership, the abort trampoline.
//
//   hpp_test MODEL.safetensors GRAY.png RGB.png
#include "cxrcaption.hpp"

extern "C" {
#include "png_reader.h"
}

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

static_assert(!std::is_copy_constructible_v<cxr::Model> && !std::is_copy_assignable_v<cxr::Model>);
static_assert(!std::is_copy_constructible_v<cxr::Session> && !std::is_copy_assignable_v<cxr::Session>);
static_assert(std::is_nothrow_move_constructible_v<cxr::Model> && std::is_nothrow_move_assignable_v<cxr::Model>);
static_assert(std::is_nothrow_move_constructible_v<cxr::Session>);
static_assert(std::is_base_of_v<std::runtime_error, cxr::Error>);

namespace {

int failures = 0;
int checks = 0;

#define EXPECT(condition)                                                                                     \
    do {                                                                                                      \
        checks++;                                                                                             \
        if (!(condition)) {                                                                                   \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #condition);                     \
            failures++;                                                                                       \
        }                                                                                                     \
    } while (0)

/// Runs `call`, expects a cxr::Error with `status` whose message contains `words` and equals the library's.
template <typename Call> void expect_error(cxr_status status, const std::string &words, Call call) {
    checks++;
    try {
        call();
        std::fprintf(stderr, "expected cxr::Error (%s) containing '%s', got no error\n", cxr_status_string(status),
                     words.c_str());
        failures++;
    } catch (const cxr::Error &error) {
        if (error.status() != status || error.message().find(words) == std::string::npos ||
            error.message() != cxr_last_error() || std::string(error.what()).find(error.message()) != 0) {
            std::fprintf(stderr, "expected %s containing '%s', got %s: %s\n", cxr_status_string(status),
                         words.c_str(), cxr_status_string(error.status()), error.what());
            failures++;
        }
    }
}

struct Png {
    png_pixels pixels{};
    explicit Png(const char *path) {
        char error[256];
        if (png_pixels_read(path, &pixels, error, sizeof error) != 0) {
            std::fprintf(stderr, "%s: %s\n", path, error);
            std::exit(2);
        }
    }
    ~Png() { png_pixels_free(&pixels); }
    cxr::Image image() const {
        const auto *bytes = static_cast<const std::uint8_t *>(pixels.pixels);
        switch (pixels.channels) {
        case 1: return cxr::Image::gray8(bytes, pixels.width, pixels.height, pixels.row_bytes);
        case 3: return cxr::Image::rgb8(bytes, pixels.width, pixels.height, pixels.row_bytes);
        default: return cxr::Image::rgba8(bytes, pixels.width, pixels.height, pixels.row_bytes);
        }
    }
};

/// The results of cxr_generate read with the C API directly, for comparison.
std::vector<cxr::Result> c_results(cxr_model *model, const cxr_image &image, const cxr_generate_params &params) {
    cxr_session *session = nullptr;
    cxr_session_create(model, &session);
    std::vector<cxr::Result> out;
    if (cxr_generate(session, &image, &params) == CXR_OK) {
        struct cxr_model_info info;
        cxr_model_info_init(&info, sizeof info);
        cxr_model_info(model, &info);
        std::int32_t count = 0;
        cxr_result_count(session, &count);
        for (std::int32_t i = 0; i < count; i++) {
            cxr::Result r;
            const char *text = nullptr;
            std::int32_t n = 0, truncated = 0;
            const std::int32_t *tokens = nullptr;
            const float *attention = nullptr;
            cxr_result_text(session, i, &text);
            cxr_result_score(session, i, &r.score);
            cxr_result_log_prob(session, i, &r.log_prob);
            cxr_result_truncated(session, i, &truncated);
            cxr_result_token_count(session, i, &n);
            cxr_result_tokens(session, i, &tokens);
            cxr_result_attention(session, i, &attention);
            r.text = text;
            r.truncated = truncated != 0;
            if (tokens) r.tokens.assign(tokens, tokens + n);
            if (attention) r.attention.assign(attention, attention + std::size_t(n) * info.region_count);
            r.region_count = info.region_count;
            out.push_back(r);
        }
    }
    cxr_session_free(session);
    return out;
}

bool same(const std::vector<cxr::Result> &a, const std::vector<cxr::Result> &b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); i++) {
        if (a[i].text != b[i].text || a[i].score != b[i].score || a[i].log_prob != b[i].log_prob ||
            a[i].truncated != b[i].truncated || a[i].tokens != b[i].tokens || a[i].attention != b[i].attention ||
            a[i].region_count != b[i].region_count)
            return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.safetensors GRAY.png RGB.png\n", argv[0]);
        return 2;
    }
    const std::string model_path = argv[1];
    const Png gray(argv[2]), rgb(argv[3]);

    EXPECT(cxr::abi_version() == CXR_ABI_VERSION);
    EXPECT(cxr::version() == cxr_version());

    // Loading: errors carry the status and the library's message.
    expect_error(CXR_E_IO, "no-such-model.safetensors", [] { cxr::Model("no-such-model.safetensors"); });
    expect_error(CXR_E_INVALID_MODEL, "", [] {
        const char junk[] = "\x05\0\0\0\0\0\0\0hello";
        cxr::Model::from_memory(junk, sizeof junk - 1);
    });

    cxr::Model model(model_path);
    const cxr::ModelInfo &info = model.info();
    EXPECT(info.vocab_size == 30 && info.input_size == 64 && info.region_count == info.attention_grid * info.attention_grid);
    EXPECT((model.labels() == std::vector<std::string>{"cardiomegaly", "effusion", "pneumothorax"}));
    EXPECT(model.token(2) == "<end>");
    EXPECT(model.metadata("name") == std::optional<std::string>("cxrcaption golden fixture"));
    EXPECT(!model.metadata("disclaimer").has_value());
    expect_error(CXR_E_OUT_OF_RANGE, "", [&] { model.token(info.vocab_size); });

    // generate == the C API, for gray and RGB, with and without attention, several parameter sets.
    cxr::Session session(model);
    const std::vector<cxr::GenerateParams> param_sets = {
        cxr::GenerateParams(),
        cxr::GenerateParams().beam_width(5).max_results(4).length_penalty(0.7),
        cxr::GenerateParams().beam_width(1).max_tokens(5).return_attention(false),
        cxr::GenerateParams().beam_width(2).suppress_unknown().n_threads(1),
    };
    for (const Png *png : {&gray, &rgb}) {
        for (const auto &params : param_sets) {
            const auto results = session.generate(png->image(), params);
            const cxr_generate_params c_params = params.c_params();
            EXPECT(!results.empty() && std::int32_t(results.size()) <= c_params.max_results);
            EXPECT(same(results, c_results(model.c_model(), png->image().c_image(), c_params)));
            for (std::size_t i = 1; i < results.size(); i++) EXPECT(results[i - 1].score >= results[i].score);
            for (const auto &r : results) {
                if (!c_params.return_attention || r.tokens.empty()) {
                    EXPECT(r.attention.empty() && r.attention_map(0) == nullptr);
                    continue;
                }
                EXPECT(r.attention.size() == r.tokens.size() * std::size_t(info.region_count));
                for (std::size_t t = 0; t < r.tokens.size(); t++) {
                    double sum = 0;
                    for (int k = 0; k < info.region_count; k++) sum += r.attention_map(t)[k];
                    EXPECT(std::fabs(sum - 1) < 1e-4);
                }
                EXPECT(r.attention_map(r.tokens.size()) == nullptr);
            }
        }
    }

    // from_memory gives the same model; a session outlives its Model object; moves transfer ownership.
    std::ifstream file(model_path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto reference = session.generate(gray.image());
    {
        auto from_memory = std::make_unique<cxr::Model>(cxr::Model::from_memory(bytes.data(), bytes.size()));
        cxr::Session orphan = from_memory->session();
        from_memory.reset();
        EXPECT(same(orphan.generate(gray.image()), reference));
        cxr::Session moved(std::move(orphan));
        EXPECT(orphan.c_session() == nullptr && moved.c_session() != nullptr);
        EXPECT(same(moved.generate(gray.image()), reference));
        cxr::Model a(model_path), b(model_path);
        cxr_model *handle = a.c_model();
        b = std::move(a);
        EXPECT(b.c_model() == handle && a.c_model() == nullptr);
        expect_error(CXR_E_INVALID_ARGUMENT, "model", [&] { cxr::Session s(a); });
    }

    // preprocess and findings == the C API.
    const auto seen = session.preprocess(gray.image());
    std::vector<std::uint8_t> c_seen(seen.size());
    cxr_preprocess(session.c_session(), &gray.image().c_image(), c_seen.data(), c_seen.size());
    EXPECT(seen.size() == std::size_t(info.input_size) * info.input_size && seen == c_seen);
    const auto probabilities = session.findings(rgb.image());
    std::vector<float> c_probabilities(std::size_t(info.label_count));
    cxr_findings(session.c_session(), &rgb.image().c_image(), nullptr, c_probabilities.data(), c_probabilities.size());
    EXPECT(probabilities == c_probabilities);
    for (float p : probabilities) EXPECT(p >= 0 && p <= 1);

    // 16-bit with bits_stored, MONOCHROME1, rescale and window; float input.
    std::vector<std::uint16_t> wide(std::size_t(gray.pixels.width) * gray.pixels.height);
    std::vector<float> floats(wide.size());
    for (std::int32_t y = 0; y < gray.pixels.height; y++)
        for (std::int32_t x = 0; x < gray.pixels.width; x++) {
            const std::uint8_t v = static_cast<const std::uint8_t *>(gray.pixels.pixels)[y * gray.pixels.row_bytes + x];
            wide[std::size_t(y) * gray.pixels.width + x] = std::uint16_t(v * 16 + 0xF000); // high bits: masked
            floats[std::size_t(y) * gray.pixels.width + x] = v / 255.0f;
        }
    const auto as12 = cxr::Image::gray16(wide.data(), gray.pixels.width, gray.pixels.height, 12)
                          .photometric(cxr::Photometric::monochrome1)
                          .rescale(2, -100)
                          .window(3000, 5000);
    EXPECT(same(session.generate(as12), c_results(model.c_model(), as12.c_image(), cxr::GenerateParams().c_params())));
    EXPECT(!session.generate(cxr::Image::grayf32(floats.data(), gray.pixels.width, gray.pixels.height)).empty());

    // Bad input: exceptions carry the library's message; the session stays usable.
    expect_error(CXR_E_INVALID_IMAGE, "row_bytes 100", [&] {
        session.generate(cxr::Image::gray8(static_cast<const std::uint8_t *>(gray.pixels.pixels), 512, 512, 100));
    });
    expect_error(CXR_E_INVALID_IMAGE, "window", [&] { session.generate(gray.image().window(100, 1)); });
    expect_error(CXR_E_INVALID_ARGUMENT, "beam_width 0", [&] {
        session.generate(gray.image(), cxr::GenerateParams().beam_width(0));
    });
    expect_error(CXR_E_INVALID_ARGUMENT, "max_results 3", [&] {
        session.generate(gray.image(), cxr::GenerateParams().beam_width(2).max_results(3));
    });

    // Abort: after three polls; a throwing callback counts as abort; the session stays usable.
    int polls = 0;
    expect_error(CXR_E_ABORTED, "", [&] {
        session.generate(gray.image(), cxr::GenerateParams().abort_when([&] { return ++polls >= 3; }));
    });
    EXPECT(polls == 3);
    expect_error(CXR_E_ABORTED, "", [&] {
        session.generate(gray.image(), cxr::GenerateParams().abort_when([]() -> bool { throw std::runtime_error("x"); }));
    });
    EXPECT(same(session.generate(gray.image()), reference));

    std::printf("cxrcaption.hpp: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
