// cxrcaption_dcmtk.hpp: a DICOM dataset read with DCMTK -> a filled cxr_image (include/cxrcaption.h).
//
// Header-only, C++17. It hands the library the *stored* pixel values of the first frame with the attributes
// that give them meaning (BitsStored, PhotometricInterpretation, RescaleSlope/Intercept, the first
// WindowCenter/Width), so the library's intake (docs/INTAKE.md) applies the modality LUT, the VOI window and
// the MONOCHROME1 inversion itself; DCMTK's rendering (DicomImage) is not used. The mapping is the one of
// docs/INTAKE.md, section "DICOM", which python/src/cxrcaption/dicom.py (pydicom) implements too: the same
// file gives the same cxr_image, hence the same impressions, in C++, in Python and in `cxrcaption caption`.
//
//     #include <cxrcaption.hpp>
//     #include <cxrcaption_dcmtk.hpp>
//
//     cxr::dcmtk::Codecs codecs;                         // once per program, before any thread reads
//     try {
//         cxr::dcmtk::DicomImage dicom = cxr::dcmtk::read_file("chest.dcm");
//         if (dicom.attributes().view_position == "LL") { ... }     // a lateral view
//         cxr::Image image = cxr::dcmtk::to_image(dicom);           // (cxrcaption.hpp's wrapper), or
//         const cxr_image &c = dicom.image();                      // the C struct for cxr_generate
//         auto results = session.generate(image, cxr::GenerateParams().beam_width(3));
//     } catch (const cxr::dcmtk::DicomError &error) {
//         std::cerr << error.what() << "\n";             // error.kind(): why
//     }
//
// Ownership: a DicomImage owns the pixel buffer its image().pixels points into (a std::vector; moving the
// DicomImage keeps the pointer valid). Keep it alive while the cxr_image is used. read_dataset() may change
// the dataset it is given: compressed pixel data is decoded in place (DcmDataset::chooseRepresentation).
//
// Threads: DicomImage and the functions here hold no global state; two threads may read two datasets at
// once. DCMTK's codec registry is global: create one Codecs object (it registers the JPEG, JPEG-LS and RLE
// decoders) before any thread reads, and destroy it after they are done. Registering is not thread-safe.
//
// Errors: every refusal throws DicomError, a std::runtime_error whose what() names the attribute and value
// ("BitsAllocated 12 is not supported (1, 8, 16, 32 or 64)", "no Rows (0028,0010) attribute") and whose
// kind() says which sort of refusal it is. Nothing else is thrown except std::bad_alloc. Values the library
// itself validates (a NaN RescaleSlope, a 15-pixel-wide image) are passed on as they are: the library
// rejects them with its own message when the image is used, as it does for the Python mapping.
//
// Transfer syntaxes: uncompressed (implicit/explicit little endian, explicit big endian, deflated) and what
// DCMTK decodes with the decoders Codecs registers: JPEG baseline, extended and lossless (dcmjpeg), JPEG-LS
// (dcmjpls), RLE (dcmdata). JPEG 2000 (1.2.840.10008.1.2.4.90/91/92/93), which open-source DCMTK cannot
// decode, is decoded with OpenJPEG when this header is compiled with CXRCAPTION_DCMTK_OPENJPEG defined (add
// `pkg-config --cflags --libs libopenjp2`, Debian: libopenjp2-7-dev); without it, such a file throws
// DicomError (kind undecodable) saying so. Other compressed syntaxes (HTJ2K, MPEG, HEVC, ...) throw.
//
// Link with DCMTK's dcmjpls, dcmjpeg, dcmdata, oflog and ofstd (CMake: DCMTK::dcmjpls DCMTK::dcmjpeg
// DCMTK::dcmdata), plus openjp2 with CXRCAPTION_DCMTK_OPENJPEG. It calls no function of libcxrcaption: the
// cxr_image is filled field by field with the defaults cxr_image_init documents.
#ifndef CXRCAPTION_DCMTK_HPP
#define CXRCAPTION_DCMTK_HPP

#include "cxrcaption.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#ifdef CXRCAPTION_DCMTK_OPENJPEG
#if __has_include(<openjpeg.h>)
#include <openjpeg.h>  // with `pkg-config --cflags libopenjp2`
#else
#include <openjpeg-2.5/openjpeg.h>
#endif
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cxr {
namespace dcmtk {

/// Why a dataset was refused.
enum class ErrorKind {
    /// The bytes or the file are not DICOM that DCMTK can parse (or the file cannot be opened).
    not_dicom,
    /// A required attribute (Rows, BitsAllocated, ...) or the pixel data is absent.
    missing_attribute,
    /// A valid layout this mapping does not take (PALETTE COLOR, 16-bit colour, more than 24 signed bits).
    unsupported,
    /// The pixel data is compressed with a transfer syntax nothing here decodes, or its decoder failed.
    undecodable,
    /// An attribute contradicts another or the pixel data (BitsStored > BitsAllocated, short Pixel Data).
    invalid,
    /// Decoding would produce more pixels than ReadOptions::max_pixels (checked before any pixel is decoded).
    too_large,
};

/// A dataset this header refuses; what() names the attribute and its value.
class DicomError : public std::runtime_error {
public:
    DicomError(ErrorKind kind, const std::string &message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const noexcept { return kind_; }

private:
    ErrorKind kind_;
};

/// What was read from the dataset (for messages, `--attributes` lines and view selection). The values that
/// reach the library are in DicomImage::image(); these are the dataset's own.
struct Attributes {
    std::string transfer_syntax_uid;   ///< e.g. "1.2.840.10008.1.2.1" (the original one, before decoding)
    std::string transfer_syntax_name;  ///< DCMTK's name, e.g. "Little Endian Explicit"
    std::int32_t rows = 0, columns = 0;
    std::int32_t samples_per_pixel = 1;
    std::int32_t bits_allocated = 0, bits_stored = 0, pixel_representation = 0;
    std::int32_t frames = 1;                ///< NumberOfFrames (1 when absent, empty or 0)
    std::string photometric;                ///< PhotometricInterpretation, trimmed
    double rescale_slope = 1, rescale_intercept = 0;  ///< after the defaults (slope 1 when absent/empty/0)
    bool has_window = false;                ///< the first window, when it has a finite center and width > 1
    double window_center = 0, window_width = 0;
    bool window_ignored = false;            ///< a first window was present but its width is not > 1
    double ignored_window_center = 0, ignored_window_width = 0;
    std::string view_position;              ///< ViewPosition (0018,5101), trimmed; "" when absent
    std::string pixel_keyword = "PixelData";  ///< or "FloatPixelData", "DoubleFloatPixelData"
};

/// Options of read_dataset / read_file / read_memory.
struct ReadOptions {
    /// false: ignore WindowCenter/Width (the image's own range is used). dicom.py's `use_window`.
    bool use_window = true;
    /// The most pixels decoding may produce (0: no limit), checked from Rows, Columns and NumberOfFrames before
    /// any pixel is decoded: a small compressed file can claim gigabytes. DCMTK decodes every frame of a
    /// compressed dataset, so there the frames count; uncompressed data is already in memory and JPEG 2000 is
    /// decoded one frame at a time. The default is Pillow's MAX_IMAGE_PIXELS (89,478,485), as in the CLI and
    /// the Python package.
    std::uint64_t max_pixels = 89478485;
};

/// The first frame's stored values as a cxr_image, and the buffer it points into. Move-only.
class DicomImage {
public:
    DicomImage() { image_ = detail_default_image(); }
    DicomImage(const DicomImage &) = delete;
    DicomImage &operator=(const DicomImage &) = delete;
    DicomImage(DicomImage &&other) noexcept
        : buffer_(std::move(other.buffer_)), image_(other.image_), attributes_(std::move(other.attributes_)) {
        image_.pixels = buffer_.empty() ? nullptr : buffer_.data();
        other.image_.pixels = nullptr;
    }
    DicomImage &operator=(DicomImage &&other) noexcept {
        buffer_ = std::move(other.buffer_);
        image_ = other.image_;
        attributes_ = std::move(other.attributes_);
        image_.pixels = buffer_.empty() ? nullptr : buffer_.data();
        other.image_.pixels = nullptr;
        return *this;
    }

    /// The filled struct: struct_size = sizeof(cxr_image), format, pixels (into this object), width, height,
    /// row_bytes 0 (packed), bits_stored, photometric, rescale, window. Valid while this object lives.
    const cxr_image &image() const noexcept { return image_; }
    /// What was read from the dataset.
    const Attributes &attributes() const noexcept { return attributes_; }
    /// The pixel bytes (row-major, packed, machine byte order).
    const std::vector<std::uint8_t> &buffer() const noexcept { return buffer_; }

    /// Builds one (used by read_dataset). `bytes` becomes the buffer; `image` its description (pixels is
    /// set here).
    DicomImage(std::vector<std::uint8_t> bytes, const cxr_image &image, Attributes attributes)
        : buffer_(std::move(bytes)), image_(image), attributes_(std::move(attributes)) {
        image_.pixels = buffer_.empty() ? nullptr : buffer_.data();
    }

    /// cxr_image_init's defaults, without calling the library.
    static cxr_image detail_default_image() noexcept {
        cxr_image image;
        std::memset(&image, 0, sizeof image);
        image.struct_size = static_cast<std::uint32_t>(sizeof image);
        image.format = CXR_PIXEL_GRAY8;
        image.bits_stored = 16;
        image.photometric = CXR_MONOCHROME2;
        image.rescale_slope = 1;
        image.rescale_intercept = 0;
        image.has_window = 0;
        return image;
    }

private:
    std::vector<std::uint8_t> buffer_;
    cxr_image image_;
    Attributes attributes_;
};

/// Registers DCMTK's JPEG (dcmjpeg), JPEG-LS (dcmjpls) and RLE decoders for this object's lifetime. Create
/// one per program before reading compressed files; not thread-safe (DCMTK's registry is global). A program
/// that registers DCMTK's JPEG decoder itself should pass EDC_never, as this does: with DCMTK's default
/// (EDC_photometricInterpretation) libjpeg converts colour JPEGs to RGB with its own integer rounding, which
/// differs from pydicom's by 1 on some pixels.
class Codecs {
public:
    Codecs() {
        // JPEG baseline, extended, lossless. No colour conversion in the decoder: YCbCr comes out as YCbCr
        // and is turned into RGB by pydicom's formula (docs/INTAKE.md, "DICOM"), as dicom.py's pixels are.
        DJDecoderRegistration::registerCodecs(EDC_never);
        DJLSDecoderRegistration::registerCodecs(); // JPEG-LS
        DcmRLEDecoderRegistration::registerCodecs();
    }
    ~Codecs() {
        DcmRLEDecoderRegistration::cleanup();
        DJLSDecoderRegistration::cleanup();
        DJDecoderRegistration::cleanup();
    }
    Codecs(const Codecs &) = delete;
    Codecs &operator=(const Codecs &) = delete;
};

namespace detail {

inline std::string trim(const std::string &text) {
    const std::size_t begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return std::string();
    const std::size_t end = text.find_last_not_of(" \t\r\n");
    return text.substr(begin, end - begin + 1);
}

/// A required US attribute (pydicom refuses pixel data without it).
inline std::int32_t required_us(DcmDataset &ds, const DcmTagKey &tag, const char *name) {
    Uint16 value = 0;
    if (ds.findAndGetUint16(tag, value).bad())
        throw DicomError(ErrorKind::missing_attribute, std::string("no ") + name + " attribute");
    return value;
}

/// The first value of a DS/IS/FD attribute; false when it is absent or empty.
inline bool first_number(DcmDataset &ds, const DcmTagKey &tag, double &value, unsigned long *vm = nullptr) {
    DcmElement *element = nullptr;
    if (ds.findAndGetElement(tag, element).bad() || element == nullptr || element->getLength() == 0) return false;
    if (vm != nullptr) *vm = element->getVM();
    Float64 read = 0;
    if (element->getFloat64(read, 0).bad()) {
        OFString text;  // an IS read as text (getFloat64 is not defined for every VR)
        if (element->getOFString(text, 0).bad() || text.empty()) return false;
        char *end = nullptr;
        read = std::strtod(text.c_str(), &end);
        if (end == text.c_str()) return false;
    }
    value = read;
    return true;
}

inline std::string optional_string(DcmDataset &ds, const DcmTagKey &tag) {
    OFString value;
    return ds.findAndGetOFString(tag, value).good() ? trim(std::string(value.c_str())) : std::string();
}

inline bool is_jpeg2000(E_TransferSyntax xfer) {
    return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000 ||
           xfer == EXS_JPEG2000MulticomponentLosslessOnly || xfer == EXS_JPEG2000Multicomponent;
}

inline bool is_jpegls(E_TransferSyntax xfer) { return xfer == EXS_JPEGLSLossless || xfer == EXS_JPEGLSLossy; }

/// The transfer syntaxes dcmjpeg decodes (JPEG processes 1-14).
inline bool is_dcmjpeg(E_TransferSyntax xfer) {
    return xfer == EXS_JPEGProcess1 || xfer == EXS_JPEGProcess2_4 || xfer == EXS_JPEGProcess3_5 ||
           xfer == EXS_JPEGProcess6_8 || xfer == EXS_JPEGProcess7_9 || xfer == EXS_JPEGProcess10_12 ||
           xfer == EXS_JPEGProcess11_13 || xfer == EXS_JPEGProcess14 || xfer == EXS_JPEGProcess15 ||
           xfer == EXS_JPEGProcess16_18 || xfer == EXS_JPEGProcess17_19 || xfer == EXS_JPEGProcess20_22 ||
           xfer == EXS_JPEGProcess21_23 || xfer == EXS_JPEGProcess24_26 || xfer == EXS_JPEGProcess25_27 ||
           xfer == EXS_JPEGProcess28 || xfer == EXS_JPEGProcess29 || xfer == EXS_JPEGProcess14SV1;
}

/// Refuses a JPEG stream on which DCMTK's decoder would never return.
///
/// Before decoding, dcmjpeg looks for the sample precision by walking the markers of the first fragment
/// (DJCodecDecoder::scanJpegDataForBitDepth). In DCMTK 3.6.7 (Debian 12) a TEM marker (FF 01) before the
/// frame header does not advance that walk, so the call loops forever; the fuzz target dicom_reader found a
/// 1.3 kB file that does it. This walks the same markers the same way and throws where DCMTK would loop.
inline void refuse_dcmjpeg_endless_scan(DcmDataset &ds, E_TransferSyntax xfer) {
    DcmElement *element = nullptr;
    if (ds.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return;
    DcmPixelSequence *sequence = nullptr;
    if (static_cast<DcmPixelData *>(element)->getEncapsulatedRepresentation(xfer, nullptr, sequence).bad() ||
        sequence == nullptr)
        return;
    DcmPixelItem *item = nullptr;
    Uint8 *data = nullptr;
    if (sequence->getItem(item, 1).bad() || item == nullptr || item->getUint8Array(data).bad() || data == nullptr)
        return;  // no first fragment: DCMTK reports that itself
    const long length = static_cast<long>(item->getLength());
    auto u16 = [&](long at) { return static_cast<unsigned>(data[at] << 8 | data[at + 1]); };
    for (long offset = 0; offset + 4 < length;) {
        const unsigned marker = u16(offset);
        if (marker == 0xFF01)
            throw DicomError(ErrorKind::undecodable,
                             "cannot decode its pixel data: the JPEG stream has a TEM marker (FF 01) before its frame "
                             "header, on which DCMTK 3.6.7's JPEG decoder never returns");
        if ((marker >= 0xFFC0 && marker <= 0xFFCF && marker != 0xFFC4 && marker != 0xFFC8 && marker != 0xFFCC) ||
            marker == 0xFFDA)
            return;  // a frame header or the scan: DCMTK stops here
        if (marker == 0xFFC4 || marker == 0xFFC8 || marker == 0xFFCC || (marker >= 0xFFDB && marker <= 0xFFDF) ||
            (marker >= 0xFFE0 && marker <= 0xFFFE))
            offset += static_cast<long>(u16(offset + 2)) + 2;
        else if ((marker >= 0xFFD0 && marker <= 0xFFD9) || (data[offset] == 0xFF && data[offset + 1] > 2 &&
                                                           data[offset + 1] <= 0xBF))
            offset += 2;
        else
            return;  // DCMTK stops at a syntax error too
    }
}

/// How the stored values are corrected after decoding, as pydicom 3 does (docs/INTAKE.md, "DICOM").
enum class Correction { unused_bits, jpegls_sign, jpeg2000_sign };

#ifdef CXRCAPTION_DCMTK_OPENJPEG
struct MemoryStream {
    const std::uint8_t *data;
    std::size_t size;
    std::size_t offset;
};

inline OPJ_SIZE_T opj_memory_read(void *buffer, OPJ_SIZE_T count, void *user) {
    MemoryStream *stream = static_cast<MemoryStream *>(user);
    if (stream->offset >= stream->size) return static_cast<OPJ_SIZE_T>(-1);
    const std::size_t n = std::min<std::size_t>(count, stream->size - stream->offset);
    std::memcpy(buffer, stream->data + stream->offset, n);
    stream->offset += n;
    return n;
}

inline OPJ_OFF_T opj_memory_skip(OPJ_OFF_T count, void *user) {
    MemoryStream *stream = static_cast<MemoryStream *>(user);
    if (count < 0) {
        const std::size_t back = static_cast<std::size_t>(-count);
        if (back > stream->offset) return -1;
        stream->offset -= back;
        return count;
    }
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(count), stream->size - stream->offset);
    stream->offset += n;
    return static_cast<OPJ_OFF_T>(n);
}

inline OPJ_BOOL opj_memory_seek(OPJ_OFF_T position, void *user) {
    MemoryStream *stream = static_cast<MemoryStream *>(user);
    if (position < 0 || static_cast<std::size_t>(position) > stream->size) return OPJ_FALSE;
    stream->offset = static_cast<std::size_t>(position);
    return OPJ_TRUE;
}

inline void opj_quiet(const char *, void *) {}

/// The first frame's codestream: the fragments of frame 0 (all fragments for one frame; else by the Basic
/// Offset Table, else one fragment per frame, else fragments up to the first that ends with EOC FFD9).
inline std::vector<std::uint8_t> first_frame_codestream(DcmDataset &ds, E_TransferSyntax xfer, std::int32_t frames) {
    DcmElement *element = nullptr;
    if (ds.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr)
        throw DicomError(ErrorKind::missing_attribute, "no Pixel Data (7FE0,0010): not an image");
    DcmPixelData *pixel_data = OFstatic_cast(DcmPixelData *, element);
    DcmPixelSequence *sequence = nullptr;
    if (pixel_data->getEncapsulatedRepresentation(xfer, nullptr, sequence).bad() || sequence == nullptr)
        throw DicomError(ErrorKind::invalid, "the JPEG 2000 Pixel Data is not encapsulated");
    const unsigned long items = sequence->card();
    if (items < 2) throw DicomError(ErrorKind::invalid, "the JPEG 2000 Pixel Data holds no fragment");
    auto fragment = [&](unsigned long index, const Uint8 *&bytes, Uint32 &length) {
        DcmPixelItem *item = nullptr;
        if (sequence->getItem(item, index).bad() || item == nullptr)
            throw DicomError(ErrorKind::invalid, "cannot read JPEG 2000 fragment " + std::to_string(index));
        length = item->getLength();
        Uint8 *data = nullptr;
        if (length > 0 && (item->getUint8Array(data).bad() || data == nullptr))
            throw DicomError(ErrorKind::invalid, "cannot read JPEG 2000 fragment " + std::to_string(index));
        bytes = data;
    };
    std::vector<std::uint8_t> codestream;
    const unsigned long fragments = items - 1;
    unsigned long last = fragments;  // the fragments 1 ... last form frame 0
    if (frames > 1) {
        const Uint8 *table = nullptr;
        Uint32 table_length = 0;
        fragment(0, table, table_length);
        if (fragments == static_cast<unsigned long>(frames)) {
            last = 1;
        } else if (table_length >= 8) {
            // Offsets of frames 0 and 1 (relative to the first fragment's item tag): frame 0 is the fragments
            // before frame 1's offset (each fragment takes 8 bytes of item header + its length).
            const Uint32 second = static_cast<Uint32>(table[4]) | static_cast<Uint32>(table[5]) << 8 |
                                  static_cast<Uint32>(table[6]) << 16 | static_cast<Uint32>(table[7]) << 24;
            std::uint64_t position = 0;
            last = 0;
            for (unsigned long i = 1; i <= fragments && position < second; i++) {
                const Uint8 *bytes = nullptr;
                Uint32 length = 0;
                fragment(i, bytes, length);
                position += 8 + static_cast<std::uint64_t>(length);
                last = i;
            }
        } else {
            last = 0;
            for (unsigned long i = 1; i <= fragments; i++) {
                const Uint8 *bytes = nullptr;
                Uint32 length = 0;
                fragment(i, bytes, length);
                last = i;
                // A fragment may be padded to an even length after EOC.
                if ((length >= 2 && bytes[length - 2] == 0xFF && bytes[length - 1] == 0xD9) ||
                    (length >= 3 && bytes[length - 3] == 0xFF && bytes[length - 2] == 0xD9 && bytes[length - 1] == 0))
                    break;
            }
        }
    }
    for (unsigned long i = 1; i <= last; i++) {
        const Uint8 *bytes = nullptr;
        Uint32 length = 0;
        fragment(i, bytes, length);
        codestream.insert(codestream.end(), bytes, bytes + length);
    }
    return codestream;
}

/// Decodes the first frame of JPEG 2000 pixel data with OpenJPEG into little-endian samples of 8 bits when
/// the codestream's precision is at most 8, else 16 (as pydicom's Pillow decoder does), interleaved for 3
/// samples; returns the codestream's signedness and precision and the sample width.
inline std::vector<std::uint8_t> decode_jpeg2000(DcmDataset &ds, E_TransferSyntax xfer, const Attributes &a,
                                                 bool &j2k_signed, std::int32_t &j2k_precision,
                                                 std::size_t &sample_bits) {
    std::vector<std::uint8_t> codestream = first_frame_codestream(ds, xfer, a.frames);
    if (codestream.size() < 12) throw DicomError(ErrorKind::undecodable, "the JPEG 2000 codestream is empty");
    static const std::uint8_t jp2_signature[12] = {0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
    const bool jp2 = std::memcmp(codestream.data(), jp2_signature, 12) == 0;
    struct Guard {
        opj_codec_t *codec = nullptr;
        opj_stream_t *stream = nullptr;
        opj_image_t *image = nullptr;
        ~Guard() {
            if (image) opj_image_destroy(image);
            if (stream) opj_stream_destroy(stream);
            if (codec) opj_destroy_codec(codec);
        }
    } guard;
    MemoryStream memory{codestream.data(), codestream.size(), 0};
    guard.codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    guard.stream = opj_stream_default_create(OPJ_TRUE);
    if (guard.codec == nullptr || guard.stream == nullptr) throw std::bad_alloc();
    opj_set_info_handler(guard.codec, opj_quiet, nullptr);
    opj_set_warning_handler(guard.codec, opj_quiet, nullptr);
    opj_set_error_handler(guard.codec, opj_quiet, nullptr);
    opj_stream_set_user_data(guard.stream, &memory, nullptr);
    opj_stream_set_user_data_length(guard.stream, codestream.size());
    opj_stream_set_read_function(guard.stream, opj_memory_read);
    opj_stream_set_skip_function(guard.stream, opj_memory_skip);
    opj_stream_set_seek_function(guard.stream, opj_memory_seek);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    if (!opj_setup_decoder(guard.codec, &parameters) || !opj_read_header(guard.stream, guard.codec, &guard.image))
        throw DicomError(ErrorKind::undecodable, "OpenJPEG could not read the JPEG 2000 codestream's header");
    // The codestream's own header must describe the image the DICOM attributes describe (whose size the
    // pixel limit checked), before OpenJPEG allocates what it asks for: a codestream may claim any size.
    const opj_image_t &image = *guard.image;
    const std::uint32_t components = image.numcomps;
    if (components != static_cast<std::uint32_t>(a.samples_per_pixel))
        throw DicomError(ErrorKind::invalid, "the JPEG 2000 codestream has " + std::to_string(components) +
                                                 " components, SamplesPerPixel is " +
                                                 std::to_string(a.samples_per_pixel));
    const auto claimed = [&](std::uint32_t c) {
        return "the JPEG 2000 codestream is " + std::to_string(image.x1 - image.x0) + "x" +
               std::to_string(image.y1 - image.y0) + " (component " + std::to_string(c) + ": " +
               std::to_string(image.comps[c].w) + "x" + std::to_string(image.comps[c].h) + "), Columns x Rows is " +
               std::to_string(a.columns) + "x" + std::to_string(a.rows);
    };
    if (image.x1 < image.x0 || image.y1 < image.y0 || image.x1 - image.x0 != static_cast<OPJ_UINT32>(a.columns) ||
        image.y1 - image.y0 != static_cast<OPJ_UINT32>(a.rows))
        throw DicomError(ErrorKind::invalid, claimed(0));
    for (std::uint32_t c = 0; c < components; c++) {
        const opj_image_comp_t &comp = image.comps[c];
        if (comp.w != static_cast<OPJ_UINT32>(a.columns) || comp.h != static_cast<OPJ_UINT32>(a.rows) ||
            comp.dx != 1 || comp.dy != 1)
            throw DicomError(ErrorKind::invalid, claimed(c));
        if (comp.prec < 1 || comp.prec > 16 || comp.prec != image.comps[0].prec || comp.sgnd != image.comps[0].sgnd)
            throw DicomError(ErrorKind::unsupported, "JPEG 2000 precision " + std::to_string(comp.prec) +
                                                         " is not supported (1 ... 16, the same for every component)");
    }
    if (!opj_decode(guard.codec, guard.stream, guard.image) || !opj_end_decompress(guard.codec, guard.stream))
        throw DicomError(ErrorKind::undecodable, "OpenJPEG could not decode the JPEG 2000 pixel data");
    for (std::uint32_t c = 0; c < components; c++)
        if (image.comps[c].data == nullptr || image.comps[c].w != static_cast<OPJ_UINT32>(a.columns) ||
            image.comps[c].h != static_cast<OPJ_UINT32>(a.rows))
            throw DicomError(ErrorKind::undecodable, "OpenJPEG decoded no pixel data for component " +
                                                         std::to_string(c));
    if (components > 1 && image.comps[0].prec > 8)
        throw DicomError(ErrorKind::unsupported, "JPEG 2000 colour with more than 8 bits is not supported");
    j2k_signed = image.comps[0].sgnd != 0;
    j2k_precision = static_cast<std::int32_t>(image.comps[0].prec);
    const std::size_t pixels = static_cast<std::size_t>(a.rows) * static_cast<std::size_t>(a.columns);
    sample_bits = j2k_precision <= 8 ? 8 : 16;
    const std::size_t bytes_per_sample = sample_bits / 8;
    std::vector<std::uint8_t> out(pixels * components * bytes_per_sample);
    for (std::size_t i = 0; i < pixels; i++) {
        for (std::uint32_t c = 0; c < components; c++) {
            const std::uint32_t v = static_cast<std::uint32_t>(image.comps[c].data[i]);
            std::uint8_t *at = out.data() + (i * components + c) * bytes_per_sample;
            for (std::size_t b = 0; b < bytes_per_sample; b++) at[b] = static_cast<std::uint8_t>(v >> (8 * b));
        }
    }
    return out;
}
#endif

/// pydicom's YBR_FULL -> RGB (pixels/processing.py _convert_YBR_FULL_to_RGB): float32, subtract 128 from Cb and
/// Cr, multiply by its float32 matrix, floor(x + 0.5), clip to 0 ... 255.
inline void ybr_full_to_rgb(std::vector<std::uint8_t> &rgb) {
    const float m10 = static_cast<float>(-0.114 * 1.772 / 0.587), m11 = 1.772f;
    const float m20 = 1.402f, m21 = static_cast<float>(-0.299 * 1.402 / 0.587);
    for (std::size_t i = 0; i + 2 < rgb.size(); i += 3) {
        const float y = rgb[i], cb = static_cast<float>(rgb[i + 1]) - 128.0f,
                    cr = static_cast<float>(rgb[i + 2]) - 128.0f;
        // matmul([y, cb, cr], [[1, 1, 1], [0, m10, m11], [m20, m21, 0]]): one product per term, summed in order.
        volatile float terms[6] = {cb * 0.0f, cr * m20, cb * m10, cr * m21, cb * m11, cr * 0.0f};
        const float out[3] = {(y + terms[0]) + terms[1], (y + terms[2]) + terms[3], (y + terms[4]) + terms[5]};
        for (int c = 0; c < 3; c++) {
            float v = std::floor(out[c] + 0.5f);
            v = v < 0 ? 0 : (v > 255 ? 255 : v);
            rgb[i + static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(v);
        }
    }
}

} // namespace detail

/// The first frame of `ds` as a cxr_image (docs/INTAKE.md, "DICOM"). Decodes compressed pixel data in place.
/// Throws DicomError.
inline DicomImage read_dataset(DcmDataset &ds, const ReadOptions &options = ReadOptions()) {
    using detail::Correction;
    Attributes a;
    const E_TransferSyntax xfer = ds.getOriginalXfer();
    const DcmXfer original(xfer);
    a.transfer_syntax_uid = original.getXferID();
    a.transfer_syntax_name = original.getXferName();
    a.view_position = detail::optional_string(ds, DCM_ViewPosition);

    const bool float_data = !ds.tagExists(DCM_PixelData) && ds.tagExists(DCM_FloatPixelData);
    const bool double_data = !ds.tagExists(DCM_PixelData) && !float_data && ds.tagExists(DCM_DoubleFloatPixelData);
    if (!ds.tagExists(DCM_PixelData) && !float_data && !double_data)
        throw DicomError(ErrorKind::missing_attribute, "no Pixel Data (7FE0,0010): not an image");
    a.pixel_keyword = float_data ? "FloatPixelData" : double_data ? "DoubleFloatPixelData" : "PixelData";
    const bool integer_data = !float_data && !double_data;

    // The attributes pydicom requires before it returns pixels.
    a.bits_allocated = detail::required_us(ds, DCM_BitsAllocated, "BitsAllocated (0028,0100)");
    if (integer_data) {
        a.bits_stored = detail::required_us(ds, DCM_BitsStored, "BitsStored (0028,0101)");
        a.pixel_representation = detail::required_us(ds, DCM_PixelRepresentation, "PixelRepresentation (0028,0103)");
    } else {
        Uint16 stored = 0;
        a.bits_stored = ds.findAndGetUint16(DCM_BitsStored, stored).good() ? stored : a.bits_allocated;
    }
    a.columns = detail::required_us(ds, DCM_Columns, "Columns (0028,0011)");
    a.rows = detail::required_us(ds, DCM_Rows, "Rows (0028,0010)");
    if (!ds.tagExists(DCM_PhotometricInterpretation))
        throw DicomError(ErrorKind::missing_attribute, "no PhotometricInterpretation (0028,0004) attribute");
    a.photometric = detail::optional_string(ds, DCM_PhotometricInterpretation);
    a.samples_per_pixel = detail::required_us(ds, DCM_SamplesPerPixel, "SamplesPerPixel (0028,0002)");
    double frames = 1;
    if (detail::first_number(ds, DCM_NumberOfFrames, frames) && frames >= 1 && frames <= 1e9)
        a.frames = static_cast<std::int32_t>(frames);

    if (a.rows == 0 || a.columns == 0)
        throw DicomError(ErrorKind::invalid, "Rows x Columns " + std::to_string(a.rows) + "x" +
                                                 std::to_string(a.columns) + " has no pixels");
    const bool valid_allocation = integer_data ? (a.bits_allocated == 1 || a.bits_allocated == 8 ||
                                                  a.bits_allocated == 16 || a.bits_allocated == 32 ||
                                                  a.bits_allocated == 64)
                                               : (a.bits_allocated == (float_data ? 32 : 64));
    if (!valid_allocation)
        throw DicomError(ErrorKind::unsupported, "BitsAllocated " + std::to_string(a.bits_allocated) +
                                                     " is not supported for " + a.pixel_keyword +
                                                     (integer_data ? " (1, 8, 16, 32 or 64)" : ""));
    if (integer_data && (a.bits_stored < 1 || a.bits_stored > a.bits_allocated))
        throw DicomError(ErrorKind::invalid, "BitsStored " + std::to_string(a.bits_stored) +
                                                 " does not fit BitsAllocated " + std::to_string(a.bits_allocated));
    if (integer_data && a.pixel_representation > 1)
        throw DicomError(ErrorKind::invalid,
                         "PixelRepresentation " + std::to_string(a.pixel_representation) + " is not 0 or 1");
    if (a.samples_per_pixel != 1 && a.samples_per_pixel != 3)
        throw DicomError(ErrorKind::unsupported, "SamplesPerPixel " + std::to_string(a.samples_per_pixel) +
                                                     " is not supported (1 or 3)");
    Uint16 planar = 0;
    if (a.samples_per_pixel == 3 && ds.findAndGetUint16(DCM_PlanarConfiguration, planar).bad())
        throw DicomError(ErrorKind::missing_attribute, "no PlanarConfiguration (0028,0006) attribute");
    const bool rgb = a.samples_per_pixel == 3;
    if (rgb && !(integer_data && a.bits_allocated == 8 && a.pixel_representation == 0))
        throw DicomError(ErrorKind::unsupported,
                         std::to_string(a.bits_stored) + "-bit colour (SamplesPerPixel 3, BitsAllocated " +
                             std::to_string(a.bits_allocated) + ", PixelRepresentation " +
                             std::to_string(a.pixel_representation) + ") is not supported; 8-bit RGB is");
    if (!rgb && a.photometric != "MONOCHROME1" && a.photometric != "MONOCHROME2")
        throw DicomError(ErrorKind::unsupported,
                         "SamplesPerPixel 1 with PhotometricInterpretation '" + a.photometric +
                             "' is not supported (MONOCHROME1/2, or 8-bit RGB)");

    // Rescale and window (grayscale only, as dicom.py reads them): slope 1 when absent, empty or 0;
    // intercept 0 when absent or empty; the first window when its width is > 1.
    if (!rgb) {
        unsigned long vm = 1;
        double value = 0;
        if (detail::first_number(ds, DCM_RescaleSlope, value, &vm)) {
            if (vm > 1) throw DicomError(ErrorKind::invalid, "RescaleSlope has " + std::to_string(vm) + " values");
            a.rescale_slope = value == 0 ? 1.0 : value;
        }
        vm = 1;
        if (detail::first_number(ds, DCM_RescaleIntercept, value, &vm)) {
            if (vm > 1) throw DicomError(ErrorKind::invalid, "RescaleIntercept has " + std::to_string(vm) + " values");
            a.rescale_intercept = value;
        }
        double center = 0, width = 0;
        if (detail::first_number(ds, DCM_WindowCenter, center) && detail::first_number(ds, DCM_WindowWidth, width)) {
            if (std::isfinite(center) && std::isfinite(width) && width > 1) {
                a.has_window = true;
                a.window_center = center;
                a.window_width = width;
            } else {
                a.window_ignored = true;
                a.ignored_window_center = center;
                a.ignored_window_width = width;
            }
        }
    }

    // The pixel data as native samples, decoded when it is compressed.
    const std::size_t pixels = static_cast<std::size_t>(a.rows) * static_cast<std::size_t>(a.columns);
    if (options.max_pixels != 0) {
        const bool every_frame = original.isEncapsulated() && !detail::is_jpeg2000(xfer);
        const std::uint64_t frames = every_frame ? static_cast<std::uint64_t>(a.frames) : 1;
        const std::uint64_t decoded = static_cast<std::uint64_t>(pixels) * frames;
        if (decoded > options.max_pixels)
            throw DicomError(ErrorKind::too_large,
                             "image is " + std::to_string(a.columns) + " x " + std::to_string(a.rows) +
                                 (frames > 1 ? " x " + std::to_string(frames) + " frames (all decoded)" : "") +
                                 " = " + std::to_string(decoded) + " pixels, more than the limit of " +
                                 std::to_string(options.max_pixels));
    }
    const std::size_t samples = pixels * static_cast<std::size_t>(a.samples_per_pixel);
    std::size_t bits = static_cast<std::size_t>(a.bits_allocated);  // the sample width (the numpy dtype's)
    const std::size_t frame_bytes = (samples * bits + 7) / 8;
    std::vector<std::uint8_t> native;
    Correction correction = Correction::unused_bits;
    bool j2k_signed = a.pixel_representation == 1;
    std::int32_t j2k_precision = a.bits_stored;
    const std::string syntax = a.transfer_syntax_name + " (" + a.transfer_syntax_uid + ")";
    if (original.isEncapsulated() && detail::is_jpeg2000(xfer)) {
        correction = Correction::jpeg2000_sign;
#ifdef CXRCAPTION_DCMTK_OPENJPEG
        if (a.bits_allocated != 8 && a.bits_allocated != 16)
            throw DicomError(ErrorKind::unsupported, "JPEG 2000 with BitsAllocated " + std::to_string(a.bits_allocated) +
                                                         " is not supported (8 or 16)");
        native = detail::decode_jpeg2000(ds, xfer, a, j2k_signed, j2k_precision, bits);
        planar = 0;  // the decoder interleaves
#else
        throw DicomError(ErrorKind::undecodable,
                         "cannot decode its pixel data: transfer syntax " + syntax +
                             " needs OpenJPEG, which this build leaves out (compile cxrcaption_dcmtk.hpp with "
                             "-DCXRCAPTION_DCMTK_OPENJPEG and link -lopenjp2; `cxrcaption caption` reads it), "
                             "or convert the file first, e.g. with `gdcmconv --raw`");
#endif
    } else {
        if (original.isEncapsulated()) {
            if (detail::is_jpegls(xfer)) correction = Correction::jpegls_sign;
            if (detail::is_dcmjpeg(xfer)) detail::refuse_dcmjpeg_endless_scan(ds, xfer);
            const OFCondition status = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
            if (status.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit))
                throw DicomError(ErrorKind::undecodable,
                                 "cannot decode its pixel data: transfer syntax " + syntax +
                                     " needs a codec this DCMTK build does not have (it decodes uncompressed, "
                                     "JPEG baseline/extended/lossless, JPEG-LS and RLE) [DCMTK: " +
                                     std::string(status.text()) + "]");
            // The decoders may rewrite PlanarConfiguration (and, converting colour, PhotometricInterpretation).
            a.photometric = detail::optional_string(ds, DCM_PhotometricInterpretation);
            if (rgb && ds.findAndGetUint16(DCM_PlanarConfiguration, planar).bad()) planar = 0;
        }
        const DcmTagKey &tag = float_data ? DCM_FloatPixelData : double_data ? DCM_DoubleFloatPixelData : DCM_PixelData;
        DcmElement *element = nullptr;
        if (ds.findAndGetElement(tag, element).bad() || element == nullptr)
            throw DicomError(ErrorKind::missing_attribute, "no " + a.pixel_keyword + ": not an image");
        const std::size_t needed = frame_bytes * static_cast<std::size_t>(a.frames);
        const std::size_t length = element->getLength();
        if (length < needed)
            throw DicomError(ErrorKind::invalid,
                             a.pixel_keyword + " holds " + std::to_string(length) + " bytes; " +
                                 std::to_string(a.frames) + " frame(s) of " + std::to_string(a.columns) + "x" +
                                 std::to_string(a.rows) + "x" + std::to_string(a.samples_per_pixel) + " at " +
                                 std::to_string(bits) + " bits need " + std::to_string(needed));
        native.resize(frame_bytes);
        if (bits == 16 && integer_data) {
            Uint16 *data = nullptr;
            if (element->getUint16Array(data).bad() || data == nullptr)
                throw DicomError(ErrorKind::invalid, "cannot read the 16-bit Pixel Data");
            std::memcpy(native.data(), data, frame_bytes);
        } else if (float_data) {
            Float32 *data = nullptr;
            if (element->getFloat32Array(data).bad() || data == nullptr)
                throw DicomError(ErrorKind::invalid, "cannot read the Float Pixel Data");
            std::memcpy(native.data(), data, frame_bytes);
        } else if (double_data) {
            Float64 *data = nullptr;
            if (element->getFloat64Array(data).bad() || data == nullptr)
                throw DicomError(ErrorKind::invalid, "cannot read the Double Float Pixel Data");
            std::memcpy(native.data(), data, frame_bytes);
        } else {
            Uint8 *data = nullptr;
            if (element->getUint8Array(data).bad() || data == nullptr)
                throw DicomError(ErrorKind::invalid, "cannot read the Pixel Data");
            std::memcpy(native.data(), data, std::min<std::size_t>(frame_bytes, length));
        }
    }

    cxr_image image = DicomImage::detail_default_image();
    image.width = a.columns;
    image.height = a.rows;
    std::vector<std::uint8_t> out;

    if (rgb) {
        // 8-bit colour: interleaved R, G, B; no photometric, rescale or window (dicom.py's empty keywords).
        out.resize(samples);
        if (planar == 1) {
            for (std::size_t i = 0; i < pixels; i++)
                for (std::size_t c = 0; c < 3; c++) out[i * 3 + c] = native[c * pixels + i];
        } else {
            std::memcpy(out.data(), native.data(), samples);
        }
        if (a.bits_stored < 8 && correction == Correction::unused_bits) {
            const std::uint8_t mask = static_cast<std::uint8_t>((1u << a.bits_stored) - 1u);
            for (std::uint8_t &v : out) v &= mask;
        }
        if (a.photometric == "YBR_FULL_422" && !original.isEncapsulated())
            throw DicomError(ErrorKind::unsupported,
                             "uncompressed PhotometricInterpretation YBR_FULL_422 (subsampled YCbCr) is not supported");
        if (a.photometric == "YBR_FULL" || a.photometric == "YBR_FULL_422") detail::ybr_full_to_rgb(out);
        image.format = CXR_PIXEL_RGB8;
        return DicomImage(std::move(out), image, std::move(a));
    }

    image.photometric = a.photometric == "MONOCHROME1" ? CXR_MONOCHROME1 : CXR_MONOCHROME2;
    image.rescale_slope = a.rescale_slope;
    image.rescale_intercept = a.rescale_intercept;
    if (options.use_window && a.has_window) {
        image.has_window = 1;
        image.window_center = a.window_center;
        image.window_width = a.window_width;
    }

    if (!integer_data) {
        // Float Pixel Data as float32; Double Float Pixel Data rounded to float32.
        out.resize(pixels * sizeof(float));
        if (float_data) {
            std::memcpy(out.data(), native.data(), out.size());
        } else {
            for (std::size_t i = 0; i < pixels; i++) {
                double d;
                std::memcpy(&d, native.data() + i * sizeof d, sizeof d);
                const float f = static_cast<float>(d);
                std::memcpy(out.data() + i * sizeof f, &f, sizeof f);
            }
        }
        image.format = CXR_PIXEL_GRAYF32;
        return DicomImage(std::move(out), image, std::move(a));
    }

    // Integer samples: the stored value of each pixel of the first frame, corrected as pydicom corrects it.
    const bool is_signed = a.pixel_representation == 1 && bits != 1;  // 1-bit data is read unsigned
    const int container = bits == 1 ? 8 : static_cast<int>(bits);  // the numpy dtype's width
    int shift = 0;  // shift left then (arithmetic, for signed) right by this many bits within the container
    switch (correction) {
    case Correction::unused_bits: shift = container > a.bits_stored ? container - a.bits_stored : 0; break;
    case Correction::jpegls_sign: shift = is_signed ? container - a.bits_stored : 0; break;
    case Correction::jpeg2000_sign: shift = (j2k_signed != is_signed) ? container - j2k_precision : 0; break;
    }
    if (bits == 1) shift = 0;  // BitsStored is 1: the unpacked bits are the values
    auto stored = [&](std::size_t i) -> std::int64_t {
        std::uint64_t raw = 0;
        if (bits == 1) {
            raw = (native[i / 8] >> (i % 8)) & 1u;
        } else {
            const std::size_t width_bytes = bits / 8;
            for (std::size_t b = 0; b < width_bytes; b++)
                raw |= static_cast<std::uint64_t>(native[i * width_bytes + b]) << (8 * b);
        }
        const int unused = 64 - container + shift;
        const std::uint64_t up = unused < 64 ? raw << unused : 0;
        if (is_signed) return static_cast<std::int64_t>(up) >> unused;  // sign-extends (arithmetic shift)
        return static_cast<std::int64_t>(up >> unused);
    };
    // For a container narrower than 64 bits, "raw << (64 - container)" puts the sample's top bit at bit 63, so
    // shifting back by (64 - container + shift) keeps the low (container - shift) bits, sign-extended when
    // signed: pydicom's left_shift / right_shift on the dtype.

    if (bits == 16 && !is_signed) {
        out.resize(pixels * 2);
        for (std::size_t i = 0; i < pixels; i++) {
            const std::uint16_t v = static_cast<std::uint16_t>(stored(i));
            std::memcpy(out.data() + 2 * i, &v, 2);
        }
        image.format = CXR_PIXEL_GRAY16;
        image.bits_stored = a.bits_stored < 1 ? 1 : (a.bits_stored > 16 ? 16 : a.bits_stored);
        return DicomImage(std::move(out), image, std::move(a));
    }
    if (bits == 8 && !is_signed && a.bits_stored >= 8) {
        out.resize(pixels);
        for (std::size_t i = 0; i < pixels; i++) out[i] = static_cast<std::uint8_t>(stored(i));
        image.format = CXR_PIXEL_GRAY8;
        return DicomImage(std::move(out), image, std::move(a));
    }
    if (a.bits_stored > 24)
        throw DicomError(ErrorKind::unsupported,
                         std::string(is_signed ? "int" : "uint") + std::to_string(container) +
                             " pixels with BitsStored " + std::to_string(a.bits_stored) +
                             " are not supported (at most 24 significant bits)");
    // Signed, narrow (BitsStored < 8) or 32/64-bit samples: exactly, as float32.
    out.resize(pixels * sizeof(float));
    for (std::size_t i = 0; i < pixels; i++) {
        const float f = static_cast<float>(stored(i));
        std::memcpy(out.data() + i * sizeof f, &f, sizeof f);
    }
    image.format = CXR_PIXEL_GRAYF32;
    return DicomImage(std::move(out), image, std::move(a));
}

/// Parses DICOM bytes (a file with preamble and meta header, or a bare dataset) and reads its first frame.
inline DicomImage read_memory(const void *data, std::size_t size, const ReadOptions &options = ReadOptions()) {
    DcmFileFormat file;
    DcmInputBufferStream stream;
    stream.setBuffer(data, static_cast<offile_off_t>(size));
    stream.setEos();
    file.transferInit();
    const OFCondition status = file.read(stream);
    file.transferEnd();
    if (status.bad()) throw DicomError(ErrorKind::not_dicom, std::string("cannot read as DICOM: ") + status.text());
    return read_dataset(*file.getDataset(), options);
}

/// Reads the DICOM file at `path` and its first frame.
inline DicomImage read_file(const std::string &path, const ReadOptions &options = ReadOptions()) {
    DcmFileFormat file;
    const OFCondition status = file.loadFile(path.c_str());
    if (status.bad()) throw DicomError(ErrorKind::not_dicom, std::string("cannot read as DICOM: ") + status.text());
    return read_dataset(*file.getDataset(), options);
}

#ifdef CXRCAPTION_HPP
/// The image as cxrcaption.hpp's cxr::Image (include cxrcaption.hpp before this header). It points into
/// `dicom`'s buffer.
inline cxr::Image to_image(const DicomImage &dicom) {
    const cxr_image &c = dicom.image();
    cxr::Image image;
    image.pixels(c.pixels, static_cast<cxr::PixelFormat>(c.format), c.width, c.height, c.row_bytes)
        .bits_stored(c.bits_stored)
        .photometric(static_cast<cxr::Photometric>(c.photometric))
        .rescale(c.rescale_slope, c.rescale_intercept);
    if (c.has_window) image.window(c.window_center, c.window_width);
    return image;
}
#endif

} // namespace dcmtk
} // namespace cxr

#endif // CXRCAPTION_DCMTK_HPP
