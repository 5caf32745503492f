// dicom_caption.cpp: captions a chest X-ray DICOM file read with DCMTK and prints the ranked impressions.
//
// It hands the library the *stored* pixel values with the attributes that give them meaning (BitsStored,
// PhotometricInterpretation, RescaleSlope/Intercept, the first WindowCenter/Width), so the library's own
// intake (docs/INTAKE.md) does the modality LUT, the VOI window and the MONOCHROME1 inversion; DCMTK's
// rendering (DicomImage) is not used.
//
//   dicom_caption MODEL.safetensors FILE.dcm [--beam N] [--no-window] [--attributes]
//
// What it accepts (anything else is refused with a message naming the value):
// - SamplesPerPixel 1 (MONOCHROME1 / MONOCHROME2), BitsAllocated 8 or 16, BitsStored <= BitsAllocated;
//   unsigned samples go in as GRAY8 / GRAY16 (with bits_stored), signed ones (PixelRepresentation 1) are
//   sign-extended from BitsStored and go in as GRAYF32 (exact for up to 16 bits);
// - SamplesPerPixel 3, 8-bit (RGB, or YBR_* that the JPEG decoder turns into RGB), either PlanarConfiguration;
// - uncompressed transfer syntaxes, and the compressed ones DCMTK decodes itself: JPEG baseline / extended /
//   lossless (dcmjpeg), JPEG-LS (dcmjpls), RLE (dcmdata). Other compressed syntaxes (JPEG 2000, HTJ2K, MPEG, ...
//   video) give "cannot decode ... transfer syntax ..." and exit status 1;
// - multi-frame files: the first frame.
// A window whose width is not > 1 is ignored (with a note); a VOI LUT sequence or function is not applied.
//
// Exit status: 0 captioned, 1 the file or the library refused, 2 usage.
#include "cxrcaption.hpp"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// A DICOM file the library cannot take (the message names the attribute and its value).
struct DicomError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Registers DCMTK's decoders for the life of the program.
struct Codecs {
    Codecs() {
        DJDecoderRegistration::registerCodecs();   // JPEG baseline, extended, lossless (dcmjpeg)
        DJLSDecoderRegistration::registerCodecs(); // JPEG-LS (dcmjpls)
        DcmRLEDecoderRegistration::registerCodecs();
    }
    ~Codecs() {
        DcmRLEDecoderRegistration::cleanup();
        DJLSDecoderRegistration::cleanup();
        DJDecoderRegistration::cleanup();
    }
};

/// The pixels of the first frame and what they mean, ready to describe with a cxr::Image.
struct DicomPixels {
    std::int32_t rows = 0, columns = 0;
    std::uint16_t samples = 1, bits_allocated = 0, bits_stored = 0, pixel_representation = 0;
    std::string photometric, transfer_syntax;
    double slope = 1, intercept = 0;
    bool has_window = false;
    double window_center = 0, window_width = 0;
    std::vector<std::uint8_t> bytes8;    // GRAY8, or RGB8 interleaved
    std::vector<std::uint16_t> bytes16;  // GRAY16
    std::vector<float> floats;           // GRAYF32 (signed input)

    cxr::Image image(bool use_window) const {
        cxr::Image image;
        if (!floats.empty()) {
            image = cxr::Image::grayf32(floats.data(), columns, rows);
        } else if (!bytes16.empty()) {
            image = cxr::Image::gray16(bytes16.data(), columns, rows, bits_stored);
        } else if (samples == 3) {
            image = cxr::Image::rgb8(bytes8.data(), columns, rows);
        } else {
            image = cxr::Image::gray8(bytes8.data(), columns, rows);
        }
        if (samples == 1) {
            image.photometric(photometric == "MONOCHROME1" ? cxr::Photometric::monochrome1
                                                           : cxr::Photometric::monochrome2);
            image.rescale(slope, intercept);
            if (use_window && has_window) image.window(window_center, window_width);
        }
        return image;
    }
};

std::uint16_t required_us(DcmDataset &ds, const DcmTagKey &tag, const char *name) {
    Uint16 value = 0;
    if (ds.findAndGetUint16(tag, value).bad()) throw DicomError(std::string("no ") + name + " attribute");
    return value;
}

double optional_ds(DcmDataset &ds, const DcmTagKey &tag, double fallback, bool *present = nullptr) {
    Float64 value = 0;
    const bool found = ds.findAndGetFloat64(tag, value, 0).good(); // the first value of a multi-valued DS
    if (present != nullptr) *present = found;
    return found ? value : fallback;
}

std::string optional_string(DcmDataset &ds, const DcmTagKey &tag) {
    OFString value;
    return ds.findAndGetOFString(tag, value).good() ? std::string(value.c_str()) : std::string();
}

/// Reads the stored pixel values of the first frame and the attributes the library needs.
DicomPixels read_dicom(const std::string &path) {
    DcmFileFormat file;
    OFCondition status = file.loadFile(path.c_str());
    if (status.bad()) throw DicomError(std::string("cannot read as DICOM: ") + status.text());
    DcmDataset &ds = *file.getDataset();

    DicomPixels px;
    const DcmXfer original(ds.getOriginalXfer());
    px.transfer_syntax = std::string(original.getXferName()) + " (" + original.getXferID() + ")";
    if (!ds.tagExists(DCM_PixelData)) throw DicomError("no Pixel Data (7FE0,0010): not an image");

    // Compressed pixel data: decode it to little endian with the registered codecs, or say we cannot.
    if (original.isEncapsulated()) {
        status = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (status.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit)) {
            throw DicomError("cannot decode its pixel data: transfer syntax " + px.transfer_syntax +
                             " needs a codec this DCMTK build does not have (it decodes uncompressed, JPEG "
                             "baseline/extended/lossless, JPEG-LS and RLE); convert the file first, e.g. with "
                             "`gdcmconv --raw` (JPEG 2000) [DCMTK: " + std::string(status.text()) + "]");
        }
    }

    px.rows = required_us(ds, DCM_Rows, "Rows (0028,0010)");
    px.columns = required_us(ds, DCM_Columns, "Columns (0028,0011)");
    px.samples = required_us(ds, DCM_SamplesPerPixel, "SamplesPerPixel (0028,0002)");
    px.bits_allocated = required_us(ds, DCM_BitsAllocated, "BitsAllocated (0028,0100)");
    px.bits_stored = required_us(ds, DCM_BitsStored, "BitsStored (0028,0101)");
    px.pixel_representation = required_us(ds, DCM_PixelRepresentation, "PixelRepresentation (0028,0103)");
    px.photometric = optional_string(ds, DCM_PhotometricInterpretation);
    px.slope = optional_ds(ds, DCM_RescaleSlope, 1.0);
    px.intercept = optional_ds(ds, DCM_RescaleIntercept, 0.0);
    bool has_center = false, has_width = false;
    px.window_center = optional_ds(ds, DCM_WindowCenter, 0.0, &has_center);
    px.window_width = optional_ds(ds, DCM_WindowWidth, 0.0, &has_width);
    px.has_window = has_center && has_width;
    if (px.has_window && !(std::isfinite(px.window_center) && std::isfinite(px.window_width) && px.window_width > 1)) {
        std::cerr << "note: ignoring window " << px.window_center << "/" << px.window_width
                  << " (the width must be > 1); using the image's own range\n";
        px.has_window = false;
    }

    if (px.rows == 0 || px.columns == 0) throw DicomError("Rows/Columns is 0");
    if (px.bits_allocated != 8 && px.bits_allocated != 16)
        throw DicomError("BitsAllocated " + std::to_string(px.bits_allocated) + " is not supported (8 or 16)");
    if (px.bits_stored == 0 || px.bits_stored > px.bits_allocated)
        throw DicomError("BitsStored " + std::to_string(px.bits_stored) + " does not fit BitsAllocated " +
                         std::to_string(px.bits_allocated));
    if (px.pixel_representation > 1)
        throw DicomError("PixelRepresentation " + std::to_string(px.pixel_representation) + " is not 0 or 1");
    const bool gray = px.samples == 1 && (px.photometric == "MONOCHROME1" || px.photometric == "MONOCHROME2");
    const bool rgb = px.samples == 3 && px.bits_allocated == 8 && px.pixel_representation == 0 &&
                     (px.photometric == "RGB" || px.photometric.rfind("YBR_FULL", 0) == 0);
    if (!gray && !rgb)
        throw DicomError("SamplesPerPixel " + std::to_string(px.samples) + " with PhotometricInterpretation '" +
                         px.photometric + "' and BitsAllocated " + std::to_string(px.bits_allocated) +
                         " is not supported (MONOCHROME1/2, or 8-bit RGB)");
    if (px.samples == 3 && px.photometric != "RGB")
        throw DicomError("PhotometricInterpretation " + px.photometric +
                         " (uncompressed YCbCr) is not supported; RGB is");

    // The first frame (the pixel data of native syntaxes holds the frames one after the other).
    const std::size_t frame = static_cast<std::size_t>(px.rows) * px.columns * px.samples;
    unsigned long count = 0;
    if (px.bits_allocated == 8) {
        const Uint8 *data = nullptr;
        if (ds.findAndGetUint8Array(DCM_PixelData, data, &count).bad() || data == nullptr)
            throw DicomError("cannot read the 8-bit Pixel Data");
        if (count < frame)
            throw DicomError("Pixel Data holds " + std::to_string(count) + " bytes, a " + std::to_string(px.rows) +
                             "x" + std::to_string(px.columns) + "x" + std::to_string(px.samples) +
                             " frame needs " + std::to_string(frame));
        px.bytes8.assign(data, data + frame);
        Uint16 planar = 0;
        if (px.samples == 3 && ds.findAndGetUint16(DCM_PlanarConfiguration, planar).good() && planar == 1) {
            // R plane, G plane, B plane -> interleaved.
            const std::size_t plane = frame / 3;
            for (std::size_t i = 0; i < plane; i++)
                for (std::size_t c = 0; c < 3; c++) px.bytes8[i * 3 + c] = data[c * plane + i];
        }
        if (px.pixel_representation == 1 || px.bits_stored < 8) {
            // Signed or fewer than 8 significant bits: as float stored values (GRAY8 reads all 8 bits).
            px.floats.resize(frame);
            for (std::size_t i = 0; i < frame; i++) {
                const unsigned mask = (1u << px.bits_stored) - 1u;
                const unsigned v = px.bytes8[i] & mask;
                const bool negative = px.pixel_representation == 1 && (v >> (px.bits_stored - 1)) != 0;
                px.floats[i] = static_cast<float>(negative ? static_cast<int>(v) - (1 << px.bits_stored)
                                                           : static_cast<int>(v));
            }
            px.bytes8.clear();
        }
    } else {
        const Uint16 *data = nullptr;
        if (ds.findAndGetUint16Array(DCM_PixelData, data, &count).bad() || data == nullptr)
            throw DicomError("cannot read the 16-bit Pixel Data");
        if (count < frame)
            throw DicomError("Pixel Data holds " + std::to_string(count) + " samples, a " +
                             std::to_string(px.rows) + "x" + std::to_string(px.columns) + " frame needs " +
                             std::to_string(frame));
        if (px.pixel_representation == 0) {
            px.bytes16.assign(data, data + frame); // GRAY16: the library masks to bits_stored
        } else {
            // Signed: sign-extend from BitsStored (two's complement in the low bits), exact in float.
            px.floats.resize(frame);
            const std::uint32_t mask = (px.bits_stored == 16) ? 0xFFFFu : ((1u << px.bits_stored) - 1u);
            for (std::size_t i = 0; i < frame; i++) {
                const std::uint32_t v = data[i] & mask;
                const bool negative = (v >> (px.bits_stored - 1)) & 1u;
                px.floats[i] = static_cast<float>(negative ? static_cast<std::int32_t>(v) - (1 << px.bits_stored)
                                                           : static_cast<std::int32_t>(v));
            }
        }
    }
    return px;
}

int usage(const char *program) {
    std::cerr << "usage: " << program << " MODEL.safetensors FILE.dcm [--beam N] [--no-window] [--attributes]\n";
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 3) return usage(argv[0]);
    const std::string model_path = argv[1], dicom_path = argv[2];
    int beam = 3;
    bool use_window = true, show_attributes = false;
    for (int i = 3; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg == "--beam" && i + 1 < argc) {
            beam = std::atoi(argv[++i]);
        } else if (arg == "--no-window") {
            use_window = false;
        } else if (arg == "--attributes") {
            show_attributes = true;
        } else {
            return usage(argv[0]);
        }
    }
    if (cxr::abi_version() != CXR_ABI_VERSION) {
        std::cerr << "libcxrcaption ABI " << cxr::abi_version() << ", built for " << CXR_ABI_VERSION << "\n";
        return 1;
    }

    Codecs codecs;
    DicomPixels px;
    try {
        px = read_dicom(dicom_path);
    } catch (const DicomError &error) {
        std::cerr << dicom_path << ": " << error.what() << "\n";
        return 1;
    }
    if (show_attributes) {
        std::printf("%s: %s, %dx%d, %u sample(s), %u allocated / %u stored bits, %s, %s, rescale %g/%g, ",
                    dicom_path.c_str(), px.transfer_syntax.c_str(), px.columns, px.rows, px.samples,
                    px.bits_allocated, px.bits_stored, px.pixel_representation ? "signed" : "unsigned",
                    px.photometric.c_str(), px.slope, px.intercept);
        if (px.has_window && use_window) std::printf("window %g/%g\n", px.window_center, px.window_width);
        else std::printf("no window\n");
    }

    try {
        cxr::Model model(model_path);
        cxr::Session session(model);
        const cxr::Image image = px.image(use_window);
        const auto results = session.generate(image, cxr::GenerateParams().beam_width(beam));
        std::printf("%s:\n", dicom_path.c_str());
        for (std::size_t i = 0; i < results.size(); i++) {
            const cxr::Result &r = results[i];
            std::printf("  %zu. %s  (score %.6f, log p %.6f%s)\n", i + 1, r.text.c_str(), r.score, r.log_prob,
                        r.truncated ? ", truncated" : "");
        }
        if (model.info().has_findings_head) {
            const auto labels = model.labels();
            const auto probabilities = session.findings(image);
            std::printf("  findings:");
            for (std::size_t i = 0; i < labels.size(); i++)
                std::printf("%s %s %.4f", i ? "," : "", labels[i].c_str(), probabilities[i]);
            std::printf("\n");
        }
    } catch (const cxr::Error &error) {
        std::cerr << dicom_path << ": " << error.what() << "\n";
        return 1;
    }
    return 0;
}
