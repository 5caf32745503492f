// cxrcaption.hpp: a header-only C++17 wrapper of the C API in cxrcaption.h (libcxrcaption).
//
// It adds ownership (move-only handles freed by their destructors), std::string / std::vector results and
// exceptions; it adds no behaviour. Every failure of the library throws cxr::Error, which carries the
// cxr_status and the library's message (cxr_last_error()).
//
//     #include "cxrcaption.hpp"
//
//     cxr::Model model("model.safetensors");
//     cxr::Session session(model);
//     auto image = cxr::Image::gray16(pixels, width, height, /*bits_stored=*/12)
//                      .photometric(cxr::Photometric::monochrome1)
//                      .window(2048, 4096);
//     for (const cxr::Result &result : session.generate(image, cxr::GenerateParams().beam_width(5)))
//         std::cout << result.score << "  " << result.text << "\n";
//
// Threads: as in the C API, a cxr::Model may be shared by any number of threads (use it through const
// references); a cxr::Session is used by one thread at a time. Link with -lcxrcaption (pkg-config
// cxrcaption, or CMake target cxrcaption::cxrcaption).
#ifndef CXRCAPTION_HPP
#define CXRCAPTION_HPP

#include "cxrcaption.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cxr {

/// A failed library call: the status and the library's message for it.
class Error : public std::runtime_error {
public:
    Error(cxr_status status, const std::string &message)
        : std::runtime_error(message + " (" + cxr_status_string(status) + ")"), status_(status),
          message_(message) {}

    /// What kind of failure (CXR_E_INVALID_IMAGE, ...).
    cxr_status status() const noexcept { return status_; }
    /// The library's message alone, e.g. "image row_bytes 100 is less than width 256 x 1 byte".
    const std::string &message() const noexcept { return message_; }

private:
    cxr_status status_;
    std::string message_;
};

namespace detail {
/// Throws cxr::Error with this thread's last library message unless `status` is CXR_OK.
inline void check(cxr_status status) {
    if (status != CXR_OK) throw Error(status, cxr_last_error());
}
} // namespace detail

/// The library's version, e.g. "0.1.0".
inline std::string version() { return cxr_version(); }

/// The ABI version of the loaded library; compare with CXR_ABI_VERSION (the header's).
inline std::uint32_t abi_version() noexcept { return cxr_abi_version(); }

/// Pixel layouts (cxr_pixel_format).
enum class PixelFormat : std::int32_t {
    gray8 = CXR_PIXEL_GRAY8,
    gray16 = CXR_PIXEL_GRAY16,
    grayf32 = CXR_PIXEL_GRAYF32,
    rgb8 = CXR_PIXEL_RGB8,
    rgba8 = CXR_PIXEL_RGBA8,
};

/// DICOM photometric interpretation of a grayscale image (cxr_photometric).
enum class Photometric : std::int32_t {
    monochrome2 = CXR_MONOCHROME2, ///< low values are dark (the usual case)
    monochrome1 = CXR_MONOCHROME1, ///< low values are bright (many CR images)
};

/// A description of a caller's pixel buffer: a thin builder over cxr_image. It does not own or copy the
/// pixels; they must stay valid while the Image is used. Invalid values are not checked here: the library
/// rejects them (cxr::Error with CXR_E_INVALID_IMAGE) when the image is used.
class Image {
public:
    /// An image with cxr_image_init's defaults (no pixels yet).
    Image() { detail::check(cxr_image_init(&image_, sizeof image_)); }

    /// 8-bit grayscale, `row_bytes` 0 = rows packed.
    static Image gray8(const std::uint8_t *pixels, std::int32_t width, std::int32_t height,
                       std::uint64_t row_bytes = 0) {
        return Image().pixels(pixels, PixelFormat::gray8, width, height, row_bytes);
    }
    /// 16-bit grayscale (machine byte order) with `bits_stored` significant low bits (DICOM BitsStored).
    static Image gray16(const std::uint16_t *pixels, std::int32_t width, std::int32_t height,
                        std::int32_t bits_stored = 16, std::uint64_t row_bytes = 0) {
        return Image().pixels(pixels, PixelFormat::gray16, width, height, row_bytes).bits_stored(bits_stored);
    }
    /// 32-bit float grayscale; every value must be finite.
    static Image grayf32(const float *pixels, std::int32_t width, std::int32_t height,
                         std::uint64_t row_bytes = 0) {
        return Image().pixels(pixels, PixelFormat::grayf32, width, height, row_bytes);
    }
    /// Interleaved 8-bit R, G, B.
    static Image rgb8(const std::uint8_t *pixels, std::int32_t width, std::int32_t height,
                      std::uint64_t row_bytes = 0) {
        return Image().pixels(pixels, PixelFormat::rgb8, width, height, row_bytes);
    }
    /// Interleaved 8-bit R, G, B, A (alpha ignored).
    static Image rgba8(const std::uint8_t *pixels, std::int32_t width, std::int32_t height,
                       std::uint64_t row_bytes = 0) {
        return Image().pixels(pixels, PixelFormat::rgba8, width, height, row_bytes);
    }

    /// Sets the buffer, its format, its size in pixels and the bytes from one row to the next (0 = packed).
    Image &pixels(const void *pixels, PixelFormat format, std::int32_t width, std::int32_t height,
                  std::uint64_t row_bytes = 0) {
        image_.pixels = pixels;
        image_.format = static_cast<std::int32_t>(format);
        image_.width = width;
        image_.height = height;
        image_.row_bytes = row_bytes;
        return *this;
    }
    /// GRAY16 only: significant low bits, 1 ..= 16.
    Image &bits_stored(std::int32_t bits) {
        image_.bits_stored = bits;
        return *this;
    }
    /// MONOCHROME1 or MONOCHROME2 (the default).
    Image &photometric(Photometric photometric) {
        image_.photometric = static_cast<std::int32_t>(photometric);
        return *this;
    }
    /// The modality LUT: value = stored x slope + intercept (DICOM RescaleSlope / RescaleIntercept).
    Image &rescale(double slope, double intercept) {
        image_.rescale_slope = slope;
        image_.rescale_intercept = intercept;
        return *this;
    }
    /// The DICOM linear VOI window (WindowCenter / WindowWidth); the width must be > 1.
    Image &window(double center, double width) {
        image_.has_window = 1;
        image_.window_center = center;
        image_.window_width = width;
        return *this;
    }
    /// No window: the image's own range (8-bit input: 0 ..= 255) maps to [0, 1]. The default.
    Image &no_window() {
        image_.has_window = 0;
        return *this;
    }

    /// The C struct, for calls this wrapper does not cover.
    const cxr_image &c_image() const noexcept { return image_; }

private:
    cxr_image image_;
};

/// Options of Session::generate (and n_threads / abort for Session::findings): a builder over
/// cxr_generate_params with its defaults (beam 3, 3 results, 60 tokens, no length penalty, attention on).
class GenerateParams {
public:
    GenerateParams() { detail::check(cxr_generate_params_init(&params_, sizeof params_)); }

    /// Beams, 1 ..= CXR_MAX_BEAM_WIDTH. Also sets max_results to the same value (call max_results after
    /// it to return fewer).
    GenerateParams &beam_width(std::int32_t beams) {
        params_.beam_width = beams;
        params_.max_results = beams;
        return *this;
    }
    /// Results returned, 1 ..= beam_width.
    GenerateParams &max_results(std::int32_t results) {
        params_.max_results = results;
        return *this;
    }
    /// Longest sentence in tokens, counting <end>, 1 ..= CXR_MAX_TOKENS.
    GenerateParams &max_tokens(std::int32_t tokens) {
        params_.max_tokens = tokens;
        return *this;
    }
    /// alpha of the length penalty ((5 + len) / 6)^alpha; 0 = off.
    GenerateParams &length_penalty(double alpha) {
        params_.length_penalty = alpha;
        return *this;
    }
    /// Never emit the unknown-word token <nou>.
    GenerateParams &suppress_unknown(bool suppress = true) {
        params_.suppress_unknown = suppress ? 1 : 0;
        return *this;
    }
    /// n >= 1: never emit a token that completes an n-gram the sentence already has; 0 = off (default).
    GenerateParams &no_repeat_ngram_size(std::int32_t n) {
        params_.no_repeat_ngram_size = n;
        return *this;
    }
    /// Results whose texts differ after normalization (case, whitespace, punctuation), searching with up to
    /// `extra_beams` more beams (default 9) to find max_results of them; Session::last_distinct says whether
    /// it did.
    GenerateParams &distinct_results(bool distinct = true, std::int32_t extra_beams = 9) {
        params_.distinct_results = distinct ? 1 : 0;
        params_.distinct_extra_beam = extra_beams;
        return *this;
    }
    /// Keep one attention map per emitted token (Result::attention). On by default.
    GenerateParams &return_attention(bool keep = true) {
        params_.return_attention = keep ? 1 : 0;
        return *this;
    }
    /// Most threads one call may use; 0 = all cores.
    GenerateParams &n_threads(std::int32_t threads) {
        params_.n_threads = threads;
        return *this;
    }
    /// Polled between encoder layers and decoder steps; returning true stops the call with cxr::Error
    /// (CXR_E_ABORTED). An exception thrown by `should_abort` counts as true (it cannot cross the library).
    GenerateParams &abort_when(std::function<bool()> should_abort) {
        should_abort_ = std::move(should_abort);
        return *this;
    }

    /// The C struct with the abort callback bound to this object (valid while it lives, unmoved).
    cxr_generate_params c_params() const {
        cxr_generate_params params = params_;
        if (should_abort_) {
            params.abort_callback = &GenerateParams::trampoline;
            params.abort_user_data = const_cast<std::function<bool()> *>(&should_abort_);
        }
        return params;
    }

private:
    static int trampoline(void *user_data) noexcept {
        try {
            return (*static_cast<std::function<bool()> *>(user_data))() ? 1 : 0;
        } catch (...) {
            return 1;
        }
    }

    cxr_generate_params params_;
    std::function<bool()> should_abort_;
};

/// What a model is (format version, vocabulary size, input size, attention grid, ...): the C struct.
using ModelInfo = struct cxr_model_info;

/// One ranked impression of Session::generate.
struct Result {
    /// The impression: the tokens joined by the model's join rule.
    std::string text;
    /// The emitted token ids (Model::token names them), without <start> and <end>.
    std::vector<std::int32_t> tokens;
    /// Sum of the log-probabilities of the emitted tokens (<end> included when emitted).
    double log_prob = 0;
    /// The ranking score: log_prob / ((5 + n) / 6)^length_penalty.
    double score = 0;
    /// True when max_tokens was reached before <end>.
    bool truncated = false;
    /// tokens.size() x region_count weights, row-major (empty without attention): row t is the map of
    /// token t, region r = y * grid + x (ModelInfo::attention_grid); each row sums to 1.
    std::vector<float> attention;
    /// Regions per attention row (grid x grid).
    std::int32_t region_count = 0;

    /// The attention map of token `t` (region_count floats), or nullptr without attention.
    const float *attention_map(std::size_t t) const {
        if (attention.empty() || t >= tokens.size()) return nullptr;
        return attention.data() + t * static_cast<std::size_t>(region_count);
    }
};

class Session;

/// A loaded, validated model. Move-only; immutable, so a const Model may be used by many threads at once.
class Model {
public:
    /// Loads a `.safetensors` model file. Throws cxr::Error (CXR_E_IO, CXR_E_INVALID_MODEL, ...).
    explicit Model(const std::string &path) : Model(load(path)) {}
    /// Loads a model from the bytes of a `.safetensors` file (copied; the caller may free them after).
    static Model from_memory(const void *data, std::size_t size) {
        cxr_model *model = nullptr;
        detail::check(cxr_model_load_from_memory(data, size, &model));
        return Model(model);
    }

    Model(Model &&other) noexcept : model_(std::exchange(other.model_, nullptr)), info_(other.info_) {}
    Model &operator=(Model &&other) noexcept {
        if (this != &other) {
            cxr_model_free(model_);
            model_ = std::exchange(other.model_, nullptr);
            info_ = other.info_;
        }
        return *this;
    }
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;
    /// Releases this reference; sessions created from the model keep it alive.
    ~Model() { cxr_model_free(model_); }

    /// Sizes and properties of the model (read once at load).
    const ModelInfo &info() const noexcept { return info_; }

    /// The findings labels, in the order Session::findings reports them (empty without a findings head).
    std::vector<std::string> labels() const {
        std::vector<std::string> names;
        names.reserve(static_cast<std::size_t>(info_.label_count));
        for (std::int32_t i = 0; i < info_.label_count; i++) {
            const char *name = nullptr;
            detail::check(cxr_model_label(model_, i, &name));
            names.emplace_back(name);
        }
        return names;
    }

    /// The string of vocabulary token `id` (0 ..< vocab_size). Throws cxr::Error (CXR_E_OUT_OF_RANGE).
    std::string token(std::int32_t id) const {
        const char *token = nullptr;
        detail::check(cxr_model_token(model_, id, &token));
        return token;
    }

    /// The weights file's metadata entry `key` ("name", "version", "intended_use", "disclaimer", ...;
    /// cxr_model_metadata), or std::nullopt when the file has none.
    std::optional<std::string> metadata(const std::string &key) const {
        const char *value = nullptr;
        detail::check(cxr_model_metadata(model_, key.c_str(), &value));
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    }

    /// A new session on this model (see Session).
    Session session() const;

    /// The C handle (owned by this object), for calls this wrapper does not cover.
    cxr_model *c_model() const noexcept { return model_; }

private:
    explicit Model(cxr_model *model) : model_(model) {
        try {
            load_info();
        } catch (...) {
            cxr_model_free(model_);
            throw;
        }
    }
    static cxr_model *load(const std::string &path) {
        cxr_model *model = nullptr;
        detail::check(cxr_model_load(path.c_str(), &model));
        return model;
    }
    void load_info() {
        detail::check(cxr_model_info_init(&info_, sizeof info_));
        detail::check(cxr_model_info(model_, &info_));
    }

    cxr_model *model_ = nullptr;
    ModelInfo info_{};
};

/// Per-caller state: scratch memory for one thread at a time. Move-only. It keeps its model alive, so it
/// may outlive the Model object it came from.
class Session {
public:
    /// A session on `model`. Throws cxr::Error (CXR_E_OUT_OF_MEMORY, or a moved-from model).
    explicit Session(const Model &model) : info_(model.info()) {
        detail::check(cxr_session_create(model.c_model(), &session_));
    }

    Session(Session &&other) noexcept : session_(std::exchange(other.session_, nullptr)), info_(other.info_) {}
    Session &operator=(Session &&other) noexcept {
        if (this != &other) {
            cxr_session_free(session_);
            session_ = std::exchange(other.session_, nullptr);
            info_ = other.info_;
        }
        return *this;
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    ~Session() { cxr_session_free(session_); }

    /// Captions an image: up to params' max_results results, best (highest score) first.
    /// Throws cxr::Error (CXR_E_INVALID_IMAGE, CXR_E_INVALID_ARGUMENT, CXR_E_ABORTED, ...).
    std::vector<Result> generate(const Image &image, const GenerateParams &params = GenerateParams()) {
        const cxr_generate_params c_params = params.c_params();
        detail::check(cxr_generate(session_, &image.c_image(), &c_params));
        std::int32_t count = 0;
        detail::check(cxr_result_count(session_, &count));
        std::vector<Result> results;
        results.reserve(static_cast<std::size_t>(count));
        for (std::int32_t i = 0; i < count; i++) results.push_back(result(i));
        return results;
    }

    /// "What the model saw": the input_size x input_size equalized 8-bit image, row-major.
    std::vector<std::uint8_t> preprocess(const Image &image) {
        const std::size_t side = static_cast<std::size_t>(info_.input_size);
        std::vector<std::uint8_t> pixels(side * side);
        detail::check(cxr_preprocess(session_, &image.c_image(), pixels.data(), pixels.size()));
        return pixels;
    }

    /// The probability (0 ..= 1) of each findings label, in Model::labels() order. Throws cxr::Error
    /// (CXR_E_INVALID_ARGUMENT) for a model without a findings head.
    std::vector<float> findings(const Image &image, const GenerateParams &params = GenerateParams()) {
        const cxr_generate_params c_params = params.c_params();
        std::vector<float> probabilities(static_cast<std::size_t>(info_.label_count > 0 ? info_.label_count : 1));
        detail::check(cxr_findings(session_, &image.c_image(), &c_params, probabilities.data(),
                                   probabilities.size()));
        probabilities.resize(static_cast<std::size_t>(info_.label_count));
        return probabilities;
    }

    /// Whether the last generate returned max_results results with pairwise distinct normalized texts
    /// (cxr_result_distinct).
    bool last_distinct() const {
        std::int32_t distinct = 0;
        detail::check(cxr_result_distinct(session_, &distinct));
        return distinct != 0;
    }

    /// The C handle (owned by this object), e.g. to read results with the cxr_result_* functions.
    cxr_session *c_session() const noexcept { return session_; }

private:
    Result result(std::int32_t index) const {
        Result r;
        const char *text = nullptr;
        std::int32_t truncated = 0, count = 0;
        const std::int32_t *tokens = nullptr;
        const float *attention = nullptr;
        detail::check(cxr_result_text(session_, index, &text));
        detail::check(cxr_result_log_prob(session_, index, &r.log_prob));
        detail::check(cxr_result_score(session_, index, &r.score));
        detail::check(cxr_result_truncated(session_, index, &truncated));
        detail::check(cxr_result_token_count(session_, index, &count));
        detail::check(cxr_result_tokens(session_, index, &tokens));
        detail::check(cxr_result_attention(session_, index, &attention));
        r.text = text;
        r.truncated = truncated != 0;
        if (tokens != nullptr) r.tokens.assign(tokens, tokens + count);
        r.region_count = info_.region_count;
        if (attention != nullptr)
            r.attention.assign(attention, attention + static_cast<std::size_t>(count) *
                                                          static_cast<std::size_t>(info_.region_count));
        return r;
    }

    cxr_session *session_ = nullptr;
    ModelInfo info_;
};

inline Session Model::session() const { return Session(*this); }

} // namespace cxr

#endif // CXRCAPTION_HPP
