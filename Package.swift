// swift-tools-version:6.0
//
// cxrcaption: chest X-ray impression generation (DenseNet-121 encoder + attention LSTM decoder).
//
// The targets are the layers of docs/ARCHITECTURE.md, and their dependencies are its arrows; every arrow
// points down, and an import the list below does not allow fails to build (scripts/check_layers):
//
//   cxrcaption-cli ──────────────┐        CXRCAPI (libcxrcaption.so: @_cdecl exports only)
//     │  CXRMetrics, CXRImageIO, │          │
//     │  CJPEG, CDICOM           │          │
//     v                          v          v
//   CXRKit (the facade: CaptionModel, CaptionSession; the built-in encoder registry)
//     │                │                      │
//     v                v                      v
//   CXRDecoding      CXRDenseNet            CXRIntake
//     │                │
//     v                v
//   CXRModel (config, metadata, loading, the encoder seam, attention decoder, findings head)
//     │                │
//     v                v
//   CXRWeights       CXRKernels ──> COpenBLAS, CVectorKernels
//   (safetensors)      │
//     │                v
//     │              CXRTensor
//     v                v
//   CXRSupport (errors, JSON, files, version)
//
// CXRMetrics (CIDEr-D, BLEU, ROUGE-L) and CXRImageIO (PNG through libpng) serve the CLI and the tests;
// CJPEG (libjpeg) and CDICOM (DCMTK, OpenJPEG) serve the CLI and its reader tests. None is linked into
// libcxrcaption.so.
import Foundation
import PackageDescription

/// The shared object's SONAME, libcxrcaption.so.N, N = CXR_ABI_VERSION - 1 (ABI 1 is .so.0): read from the
/// header, so that bumping CXR_ABI_VERSION bumps the SONAME with it.
let soname: String = {
    let header = Context.packageDirectory + "/include/cxrcaption.h"
    let text = (try? String(contentsOfFile: header, encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") {
        let words = line.split(separator: " ")
        if words.count == 3, words[0] == "#define", words[1] == "CXR_ABI_VERSION", let abi = Int(words[2]) {
            return "libcxrcaption.so.\(abi - 1)"
        }
    }
    fatalError("Package.swift: no '#define CXR_ABI_VERSION N' in \(header)")
}()

let package = Package(
    name: "cxrcaption",
    products: [
        // The stable C ABI: libcxrcaption.so + include/cxrcaption.h.
        .library(name: "cxrcaption", type: .dynamic, targets: ["CXRCAPI"]),
        // The command-line tool. (SwiftPM cannot give an executable the library's product name.)
        .executable(name: "cxrcaption-cli", targets: ["cxrcaption-cli"]),
        // The Swift API (CaptionModel, CaptionSession) for Swift programs.
        .library(name: "CXRKit", targets: ["CXRKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        // JPEG through libjpeg(-turbo); its error longjmps stay inside C (cxr_jpeg.h).
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // DICOM through DCMTK (JPEG 2000 through OpenJPEG) behind a C interface (cxr_dicom.h), with the mapping
        // of include/cxrcaption_dcmtk.hpp, the header C++ users include: one mapping for both; Structured
        // Reports out through dcmsr (cxr_dicom_sr.h, caption --dicom-sr).
        .target(
            name: "CDICOM",
            cxxSettings: [.headerSearchPath("../../include")],
            linkerSettings: [
                .linkedLibrary("dcmsr"), .linkedLibrary("dcmjpls"), .linkedLibrary("dcmjpeg"), .linkedLibrary("dcmdata"),
                .linkedLibrary("oflog"), .linkedLibrary("ofstd"), .linkedLibrary("openjp2"),
            ]
        ),
        // The decoder's loops and the Winograd transforms in C, compiled per vector width, chosen at run time.
        .target(name: "CVectorKernels"),

        // The core, one layer per target, each under Sources/CXRKit/.
        .target(name: "CXRSupport", path: "Sources/CXRKit/Support"),
        .target(name: "CXRTensor", dependencies: ["CXRSupport"], path: "Sources/CXRKit/Tensor"),
        .target(name: "CXRKernels", dependencies: ["CXRTensor", "CXRSupport", "COpenBLAS", "CVectorKernels"],
                path: "Sources/CXRKit/Kernels"),
        .target(name: "CXRWeights", dependencies: ["CXRSupport"], path: "Sources/CXRKit/Weights"),
        .target(name: "CXRModel", dependencies: ["CXRWeights", "CXRKernels", "CXRSupport"],
                path: "Sources/CXRKit/Model"),
        .target(name: "CXRDenseNet",
                dependencies: ["CXRModel", "CXRWeights", "CXRKernels", "CXRTensor", "CXRSupport"],
                path: "Sources/CXRKit/DenseNet"),
        .target(name: "CXRDecoding", dependencies: ["CXRModel", "CXRKernels", "CXRSupport"],
                path: "Sources/CXRKit/Decoding"),
        .target(name: "CXRIntake", dependencies: ["CXRSupport"], path: "Sources/CXRKit/Intake"),
        .target(name: "CXRKit",
                dependencies: ["CXRModel", "CXRDenseNet", "CXRDecoding", "CXRIntake", "CXRKernels", "CXRSupport"],
                path: "Sources/CXRKit/Facade"),
        .target(name: "CXRMetrics", dependencies: ["CXRSupport"], path: "Sources/CXRKit/Metrics"),

        .target(name: "CXRImageIO", dependencies: ["CPNG"]),
        // include/cxrcaption.h as a Clang module, so CXRCAPI implements the header's own structs and enums.
        .systemLibrary(name: "CCXRCAPI", path: "Sources/CCXRCAPI"),
        // Lets TSan see the statically linked Swift runtime's synchronization (TSan builds only).
        .target(name: "CSanitizerHooks"),
        .target(
            name: "CXRCAPI",
            dependencies: ["CXRKit", "CXRDecoding", "CXRIntake", "CXRSupport", "CCXRCAPI", "CSanitizerHooks"],
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                "-Xlinker", "-soname", "-Xlinker", soname,
                // Export the C API (cxr_*) only; the Swift runtime and the core stay private.
                "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CCXRCAPI/exports.map",
            ])]
        ),
        .executableTarget(
            name: "cxrcaption-cli",
            dependencies: [
                "CXRKit", "CXRModel", "CXRDecoding", "CXRIntake", "CXRSupport", "CXRMetrics", "CXRImageIO",
                "CJPEG", "CDICOM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Test support: dumps for the parity scripts (training/, scripts/test_capi.sh); not installed.
        .executableTarget(
            name: "cxrcaption-test-tool",
            dependencies: [
                "CXRKit", "CXRModel", "CXRDecoding", "CXRIntake", "CXRImageIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/TestTool"
        ),
        .testTarget(
            name: "CXRKitTests",
            dependencies: [
                "CXRKit", "CXRModel", "CXRDenseNet", "CXRDecoding", "CXRIntake", "CXRWeights", "CXRKernels",
                "CXRTensor", "CXRSupport", "CXRMetrics", "CXRImageIO", "CVectorKernels", "CCXRCAPI",
                "CJPEG", "CDICOM",
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
