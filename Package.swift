// swift-tools-version:6.0
//
// cxrcaption: chest X-ray impression generation (DenseNet-121 encoder + attention LSTM decoder).
//
// Layers, from the outside in (arrows point one way):
//   cxrcaption-cli, CXRCAPI (libcxrcaption.so)  ->  CXRKit (model, decoding, intake, weights, metrics)
//   ->  kernels  ->  COpenBLAS, CVectorKernels.
// CXRImageIO (PNG through libpng) serves the CLI and the tests; the core never reads files of images.
import PackageDescription

let package = Package(
    name: "cxrcaption",
    products: [
        // The stable C ABI: libcxrcaption.so + include/cxrcaption.h.
        .library(name: "cxrcaption", type: .dynamic, targets: ["CXRCAPI"]),
        // The command-line tool. (SwiftPM cannot give an executable the library's product name.)
        .executable(name: "cxrcaption-cli", targets: ["cxrcaption-cli"]),
        .library(name: "CXRKit", targets: ["CXRKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        // The decoder's loops and the Winograd transforms in C, compiled per vector width, chosen at run time.
        .target(name: "CVectorKernels"),
        .target(name: "CXRKit", dependencies: ["COpenBLAS", "CVectorKernels"]),
        .target(name: "CXRImageIO", dependencies: ["CPNG"]),
        // include/cxrcaption.h as a Clang module, so CXRCAPI implements the header's own structs and enums.
        .systemLibrary(name: "CCXRCAPI", path: "Sources/CCXRCAPI"),
        .target(
            name: "CXRCAPI",
            dependencies: ["CXRKit", "CCXRCAPI"],
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                // Export the C API (cxr_*) only; the Swift runtime and CXRKit stay private.
                "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CCXRCAPI/exports.map",
            ])]
        ),
        .executableTarget(
            name: "cxrcaption-cli",
            dependencies: [
                "CXRKit", "CXRImageIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CXRKitTests",
            dependencies: ["CXRKit", "CXRImageIO"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
