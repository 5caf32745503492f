// dicom_caption.cpp: captions a chest X-ray DICOM file read with DCMTK and prints the ranked impressions.
//
// include/cxrcaption_dcmtk.hpp does the reading: the *stored* pixel values of the first frame with the
// attributes that give them meaning (docs/INTAKE.md, "DICOM"), so the library's own intake applies the
// modality LUT, the VOI window and the MONOCHROME1 inversion. It prints exactly what
// examples/python/pydicom_caption.py prints for the same file (python/src/cxrcaption/dicom.py, the same mapping).
//
//   dicom_caption MODEL.safetensors FILE.dcm [--beam N] [--no-window] [--attributes] [--model-input OUT.pgm]
//
// --model-input writes what the model saw (cxr_preprocess: the input_size x input_size equalized image) as a
// binary PGM, to show beside the caption; the shared-mapping test compares it with the other readers'.
//
// JPEG 2000 files are decoded when this is built with -DCXRCAPTION_DCMTK_OPENJPEG and OpenJPEG (the CMake
// build does that when it finds libopenjp2); otherwise they are refused with a message saying so.
// Exit status: 0 captioned, 1 the file or the library refused, 2 usage.
#include "cxrcaption.hpp"
#include "cxrcaption_dcmtk.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

int usage(const char *program) {
    std::cerr << "usage: " << program
              << " MODEL.safetensors FILE.dcm [--beam N] [--no-window] [--attributes] [--model-input OUT.pgm]\n";
    return 2;
}

/// The line --attributes prints (pydicom_caption.py's describe()).
void print_attributes(const std::string &path, const cxr::dcmtk::DicomImage &dicom) {
    const cxr::dcmtk::Attributes &a = dicom.attributes();
    const cxr_image &image = dicom.image();
    std::printf("%s: %s (%s), %dx%d, %d allocated / %d stored bits, %s, %s, rescale %g/%g, ", path.c_str(),
                a.transfer_syntax_name.c_str(), a.transfer_syntax_uid.c_str(), a.columns, a.rows, a.bits_allocated,
                a.bits_stored, a.pixel_representation ? "signed" : "unsigned", a.photometric.c_str(),
                image.rescale_slope, image.rescale_intercept);
    if (image.has_window) std::printf("window %g/%g\n", image.window_center, image.window_width);
    else std::printf("no window\n");
}

/// Writes a side x side 8-bit image as a binary PGM; false (with errno) when the file cannot be written.
bool write_pgm(const std::string &path, const std::vector<std::uint8_t> &pixels, int side) {
    std::FILE *file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) return false;
    const bool written = std::fprintf(file, "P5\n%d %d\n255\n", side, side) > 0 &&
                         std::fwrite(pixels.data(), 1, pixels.size(), file) == pixels.size();
    return std::fclose(file) == 0 && written;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 3) return usage(argv[0]);
    const std::string model_path = argv[1], dicom_path = argv[2];
    int beam = 3;
    cxr::dcmtk::ReadOptions options;
    bool show_attributes = false;
    std::string model_input_path;
    for (int i = 3; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg == "--beam" && i + 1 < argc) beam = std::atoi(argv[++i]);
        else if (arg == "--no-window") options.use_window = false;
        else if (arg == "--attributes") show_attributes = true;
        else if (arg == "--model-input" && i + 1 < argc) model_input_path = argv[++i];
        else return usage(argv[0]);
    }
    if (cxr::abi_version() != CXR_ABI_VERSION) {
        std::cerr << "libcxrcaption ABI " << cxr::abi_version() << ", built for " << CXR_ABI_VERSION << "\n";
        return 1;
    }

    cxr::dcmtk::Codecs codecs;
    try {
        const cxr::dcmtk::DicomImage dicom = cxr::dcmtk::read_file(dicom_path, options);
        const cxr::dcmtk::Attributes &a = dicom.attributes();
        if (a.window_ignored && options.use_window)
            std::cerr << "note: ignoring window " << a.ignored_window_center << "/" << a.ignored_window_width
                      << " (the width must be > 1); using the image's own range\n";
        if (show_attributes) print_attributes(dicom_path, dicom);

        cxr::Model model(model_path);
        cxr::Session session(model);
        const cxr::Image image = cxr::dcmtk::to_image(dicom);
        if (!model_input_path.empty() &&
            !write_pgm(model_input_path, session.preprocess(image), static_cast<int>(model.info().input_size))) {
            std::perror(model_input_path.c_str());
            return 1;
        }
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
    } catch (const cxr::dcmtk::DicomError &error) {
        std::cerr << dicom_path << ": " << error.what() << "\n";
        return 1;
    } catch (const cxr::Error &error) {
        std::cerr << dicom_path << ": " << error.what() << "\n";
        return 1;
    }
    return 0;
}
