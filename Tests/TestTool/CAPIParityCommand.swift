import ArgumentParser
import CXRDecoding
import CXRImageIO
import CXRIntake
import CXRKit
import Foundation

/// `cxrcaption-test-tool capi-parity --model M IMAGE...`: the results of the Swift API, in the canonical dump that the C
/// API test (`Tests/c/test_capi.c --dump`) writes, so that scripts/test_capi.sh can require the two to be
/// identical byte for byte.
struct CAPIParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capi-parity",
        abstract: "Dump Swift API results for comparison with the C API test."
    )

    @Option(help: "The model (.safetensors).")
    var model: String

    @Option(name: .shortAndLong, help: "Output file (default: standard output).")
    var output: String?

    @Argument(help: "8-bit gray, RGB or RGBA PNG files.")
    var images: [String]

    func run() throws {
        let captionModel = try CaptionModel(contentsOfFile: model)
        let session = try CaptionSession(model: captionModel)
        var dump = ""
        for path in images {
            let png = try PNGImage(contentsOf: path)
            let format: PixelFormat
            switch (png.bitDepth, png.channels) {
            case (8, 1): format = .gray8
            case (8, 3): format = .rgb8
            case (8, 4): format = .rgba8
            default: throw ValidationError("\(path): \(png.bitDepth)-bit \(png.channels)-channel PNG not supported here")
            }
            let descriptor = ImageDescriptor(width: png.width, height: png.height, format: format)
            let name = (path as NSString).lastPathComponent
            for variant in ["default", "beam5"] {
                var parameters = GenerationParameters()
                if variant == "beam5" {
                    parameters.beamWidth = 5
                    parameters.maxResults = 5
                    parameters.lengthPenalty = 0.7
                    parameters.suppressUnknown = true
                }
                let captions = try png.samples8.withUnsafeBytes {
                    try session.generate(pixels: $0, image: descriptor, parameters: parameters)
                }
                dump += Self.dump(name: "\(name)/\(variant)", captions)
            }
        }
        if let output {
            try dump.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(dump, terminator: "")
        }
    }

    /// Numbers as IEEE-754 bit patterns in hex, as test_capi.c writes them.
    static func dump(name: String, _ captions: [Caption]) -> String {
        func hex<T: BinaryInteger>(_ value: T, digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        var out = "image \(name) results \(captions.count)\n"
        for (index, caption) in captions.enumerated() {
            out += "result \(index) log_prob \(hex(caption.logProbability.bitPattern, digits: 16)) "
                + "score \(hex(caption.score.bitPattern, digits: 16)) truncated \(caption.truncated ? 1 : 0)\n"
            out += "text \(caption.text)\n"
            out += "tokens" + caption.tokens.map { " \($0)" }.joined() + "\n"
            out += "attention" + caption.attention.map { " " + hex($0.bitPattern, digits: 8) }.joined() + "\n"
        }
        return out
    }
}
