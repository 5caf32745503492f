import ArgumentParser
import CXRImageIO
import CXRIntake
import CXRKit
import CXRModel
import CXRSupport

/// `cxrcaption preprocess IMAGE -o out.png`: writes the equalized image the model sees (docs/INTAKE.md).
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Write the size x size equalized 8-bit image the model sees (intake version 1).",
        discussion: """
            IMAGE is a DICOM file (its first frame, stored values, BitsStored, rescale, first window and \
            photometric interpretation, as `caption` reads it: docs/INTAKE.md, "DICOM"), a JPEG (gray, \
            YCbCr, RGB), a PNG (8/16-bit gray, gray+alpha, RGB, RGBA, palette), or with --raw a headerless \
            buffer of --format samples in little-endian order. The options --window, --no-window, \
            --monochrome1, --rescale and --bits-stored replace what the file says (a DICOM file's \
            attributes; for the other files their defaults: no window, MONOCHROME2, rescale 1,0, 16 bits). \
            With --model the side is the model's input size (the image `caption` would give that model). \
            Negative numbers need '=': --rescale=1,-1024. 16-bit color PNGs keep the high byte of each \
            sample, as Pillow does.
            """
    )

    @Argument(help: "Input image (DICOM, JPEG, PNG), or a raw buffer with --raw.")
    var image: String

    @Option(name: .shortAndLong, help: "Output path: a gray PNG, or raw bytes when it ends in .raw.")
    var output: String

    @Option(help: "The model (.safetensors) whose input size sets the side (only its header is read).")
    var model: String?

    @Option(help: "Side of the square output (default: the --model's input size, else 256).")
    var size: Int?

    @Option(help: "VOI window as CENTER,WIDTH (width > 1). Default: the DICOM file's first window, else none.")
    var window: String?

    @Flag(help: "No VOI window, even when the DICOM file has one.")
    var noWindow = false

    @Flag(help: "The image is MONOCHROME1 (low values are bright): invert after VOI.")
    var monochrome1 = false

    @Option(help: "Modality rescale as SLOPE,INTERCEPT (default: the DICOM file's, else 1,0).")
    var rescale: String?

    @Option(help: "Significant bits of 16-bit gray samples (1...16; default: the DICOM file's BitsStored, else 16).")
    var bitsStored: Int?

    @Option(help: "Read IMAGE as a raw buffer of WIDTHxHEIGHT pixels.")
    var raw: String?

    @Option(help: "Raw pixel format: gray8, gray16, grayf32, rgb8, rgba8.")
    var format: String = "gray16"

    @Option(help: "Raw row stride in bytes (default: width x bytes per pixel).")
    var rowBytes: Int?

    @OptionGroup var reading: ImageReadingOptions

    func validate() throws {
        if window != nil && noWindow { throw ValidationError("--window and --no-window exclude each other") }
    }

    func run() throws {
        var descriptor: ImageDescriptor
        let bytes: [UInt8]
        if let raw {
            let (width, height) = try Self.parseSize(raw)
            guard let pixelFormat = Self.formats[format] else {
                throw ValidationError("unknown --format \(format); use one of \(Self.formats.keys.sorted())")
            }
            descriptor = ImageDescriptor(width: width, height: height, format: pixelFormat, rowBytes: rowBytes)
            bytes = try BinaryFile.read(image)
        } else {
            let decoded = try ImageFile.read(image, useWindow: !noWindow, maxPixels: reading.maxPixels)
            (bytes, descriptor) = (decoded.bytes, decoded.descriptor)
        }
        if let bitsStored { descriptor.bitsStored = bitsStored }
        if monochrome1 { descriptor.photometric = .monochrome1 }
        if let rescale {
            let (slope, intercept) = try Self.parsePair(rescale, name: "--rescale")
            descriptor.rescaleSlope = slope
            descriptor.rescaleIntercept = intercept
        }
        if let window {
            let (center, width) = try Self.parsePair(window, name: "--window")
            descriptor.window = Window(center: center, width: width)
        } else if noWindow {
            descriptor.window = nil
        }
        let side = try outputSize()
        // A CXRError (bad buffer or parameter) is printed as "Error: <message>" with exit status 1.
        let equalized = try bytes.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: descriptor, size: side)
        }
        if output.hasSuffix(".raw") {
            try BinaryFile.write(equalized, to: output)
        } else {
            try PNGImage(width: side, height: side, channels: 1, samples8: equalized).write(to: output)
        }
    }

    /// --size, else the --model's input size (its header validated, its weights not read), else 256.
    func outputSize() throws -> Int {
        guard let model else { return size ?? 256 }
        let inputSize = try ModelFile(path: model, support: .library).description.config.inputSize
        if let size, size != inputSize {
            throw ValidationError("--size \(size) differs from the input size \(inputSize) of --model \(model)")
        }
        return inputSize
    }

    static let formats: [String: PixelFormat] = [
        "gray8": .gray8, "gray16": .gray16, "grayf32": .grayFloat32, "rgb8": .rgb8, "rgba8": .rgba8,
    ]

    static func parseSize(_ text: String) throws -> (Int, Int) {
        let parts = text.split(separator: "x")
        guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]) else {
            throw ValidationError("--raw needs WIDTHxHEIGHT, got \(text)")
        }
        return (width, height)
    }

    static func parsePair(_ text: String, name: String) throws -> (Double, Double) {
        let parts = text.split(separator: ",")
        guard parts.count == 2, let first = Double(parts[0]), let second = Double(parts[1]) else {
            throw ValidationError("\(name) needs two numbers A,B, got \(text)")
        }
        return (first, second)
    }
}
