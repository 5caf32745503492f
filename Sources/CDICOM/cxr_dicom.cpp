// cxr_dicom.h implemented with include/cxrcaption_dcmtk.hpp (the mapping C++ users get) and DCMTK, with JPEG
// 2000 through OpenJPEG. Every C++ exception is caught here: the C interface returns 0 and a message.
#include "cxr_dicom.h"
#include "error_reporting.hpp"

#define CXRCAPTION_DCMTK_OPENJPEG 1
#include "cxrcaption_dcmtk.hpp"

#include <dcmtk/oflog/oflog.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace {

using cxr_dicom_internal::copy_text;
using cxr_dicom_internal::fail;

/// DCMTK's decoders, registered on first use (a function-local static: initialized once, thread-safe) and
/// its logger silenced: the CLI reports every problem itself, once, with the file's name.
void prepare_dcmtk() {
    static const bool prepared = [] {
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        static cxr::dcmtk::Codecs codecs;
        return true;
    }();
    (void)prepared;
}

cxr_dicom_error_kind kind_of(cxr::dcmtk::ErrorKind kind) {
    switch (kind) {
    case cxr::dcmtk::ErrorKind::not_dicom: return CXR_DICOM_NOT_DICOM;
    case cxr::dcmtk::ErrorKind::missing_attribute: return CXR_DICOM_MISSING_ATTRIBUTE;
    case cxr::dcmtk::ErrorKind::unsupported: return CXR_DICOM_UNSUPPORTED;
    case cxr::dcmtk::ErrorKind::undecodable: return CXR_DICOM_UNDECODABLE;
    case cxr::dcmtk::ErrorKind::invalid: return CXR_DICOM_INVALID;
    case cxr::dcmtk::ErrorKind::too_large: return CXR_DICOM_TOO_LARGE;
    }
    return CXR_DICOM_INTERNAL;
}

} // namespace

extern "C" int cxr_dicom_read(const uint8_t *data, size_t size, int use_window, uint64_t max_pixels,
                              cxr_dicom_image *out, cxr_dicom_error *error) {
    if (error != nullptr) {
        error->kind = CXR_DICOM_OK;
        error->message[0] = 0;
    }
    if (out == nullptr || (data == nullptr && size > 0)) {
        fail(error, CXR_DICOM_INTERNAL, "cxr_dicom_read: no output or no data");
        return 0;
    }
    std::memset(out, 0, sizeof *out);
    try {
        prepare_dcmtk();
        cxr::dcmtk::ReadOptions options;
        options.use_window = use_window != 0;
        options.max_pixels = max_pixels;
        const cxr::dcmtk::DicomImage dicom = cxr::dcmtk::read_memory(data, size, options);
        const cxr_image &image = dicom.image();
        const cxr::dcmtk::Attributes &a = dicom.attributes();
        const std::vector<std::uint8_t> &bytes = dicom.buffer();
        uint8_t *pixels = static_cast<uint8_t *>(std::malloc(bytes.empty() ? 1 : bytes.size()));
        if (pixels == nullptr) throw std::bad_alloc();
        if (!bytes.empty()) std::memcpy(pixels, bytes.data(), bytes.size());
        out->format = image.format;
        out->width = image.width;
        out->height = image.height;
        out->bits_stored = image.bits_stored;
        out->photometric = image.photometric;
        out->has_window = image.has_window;
        out->rescale_slope = image.rescale_slope;
        out->rescale_intercept = image.rescale_intercept;
        out->window_center = image.window_center;
        out->window_width = image.window_width;
        out->pixels = pixels;
        out->pixel_bytes = bytes.size();
        out->samples_per_pixel = a.samples_per_pixel;
        out->bits_allocated = a.bits_allocated;
        out->bits_stored_attribute = a.bits_stored;
        out->pixel_representation = a.pixel_representation;
        out->frames = a.frames;
        out->window_ignored = a.window_ignored ? 1 : 0;
        out->ignored_window_center = a.ignored_window_center;
        out->ignored_window_width = a.ignored_window_width;
        copy_text(out->photometric_name, sizeof out->photometric_name, a.photometric);
        copy_text(out->view_position, sizeof out->view_position, a.view_position);
        copy_text(out->transfer_syntax, sizeof out->transfer_syntax,
                  a.transfer_syntax_name + " (" + a.transfer_syntax_uid + ")");
        return 1;
    } catch (const cxr::dcmtk::DicomError &e) {
        fail(error, kind_of(e.kind()), e.what());
    } catch (const std::bad_alloc &) {
        fail(error, CXR_DICOM_INTERNAL, "out of memory while reading the DICOM pixel data");
    } catch (const std::exception &e) {
        fail(error, CXR_DICOM_INTERNAL, std::string("DICOM reading failed: ") + e.what());
    } catch (...) {
        fail(error, CXR_DICOM_INTERNAL, "DICOM reading failed (unknown exception)");
    }
    return 0;
}

extern "C" void cxr_dicom_free(cxr_dicom_image *image) {
    if (image == nullptr) return;
    std::free(image->pixels);
    image->pixels = nullptr;
    image->pixel_bytes = 0;
}
