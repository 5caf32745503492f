import ArgumentParser
import CXRImageIO
import CXRKit
import Foundation

/// `cxrcaption caption --model M IMAGE...`: ranked impressions with probabilities for each PNG.
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Write ranked impressions (with probabilities) for chest X-ray PNGs."
    )

    @Option(help: "The model (.safetensors).")
    var model: String

    @Option(help: "Beam width (1...64).")
    var beam: Int = 3

    @Option(help: "Impressions to print per image (1...beam).")
    var results: Int = 3

    @Option(help: "Longest impression in tokens, counting <end>.")
    var maxTokens: Int = 60

    @Option(help: "Length penalty alpha for ranking ((5+len)/6)^alpha; 0 = off.")
    var lengthPenalty: Double = 0

    @Flag(help: "Never emit the unknown-word token <nou>.")
    var suppressUnknown = false

    @Option(help: "Threads (0 = all cores).")
    var threads: Int = 0

    @Flag(help: "Print JSON (an array with one object per image) instead of text.")
    var json = false

    @Argument(help: "PNG files (8/16-bit gray, RGB, RGBA, palette).")
    var images: [String]

    func run() throws {
        let captionModel = try CaptionModel(contentsOfFile: model)
        let session = CaptionSession(model: captionModel)
        var parameters = GenerationParameters()
        parameters.beamWidth = beam
        parameters.maxResults = results
        parameters.maxTokens = maxTokens
        parameters.lengthPenalty = lengthPenalty
        parameters.suppressUnknown = suppressUnknown
        parameters.threads = threads
        parameters.returnAttention = false
        try parameters.validate()

        var reports: [ImageReport] = []
        var failures = 0
        for path in images {
            do {
                let png = try PNGImage(contentsOf: path)
                let (bytes, descriptor) = png.intakeBuffer()
                let captions = try bytes.withUnsafeBytes {
                    try session.generate(pixels: $0, image: descriptor, parameters: parameters)
                }
                var findings: [String: Float] = [:]
                if captionModel.hasFindingsHead {
                    let probabilities = try bytes.withUnsafeBytes {
                        try session.findings(pixels: $0, image: descriptor, threads: threads)
                    }
                    findings = Dictionary(uniqueKeysWithValues: zip(captionModel.labels, probabilities))
                }
                let report = ImageReport(image: path, results: captions.map(ResultReport.init), findings: findings,
                                         error: nil)
                reports.append(report)
                if !json { printText(report, labels: captionModel.labels) }
            } catch {
                failures += 1
                let report = ImageReport(image: path, results: [], findings: [:], error: "\(error)")
                reports.append(report)
                FileHandle.standardError.write(Data("\(path): error: \(error)\n".utf8))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private func printText(_ report: ImageReport, labels: [String]) {
        print(report.image)
        for (rank, result) in report.results.enumerated() {
            let flag = result.truncated ? "  (truncated)" : ""
            print(String(format: "  %d. [p=%.4f] %@%@", rank + 1, result.probability, result.text, flag))
        }
        if !labels.isEmpty {
            let listed = labels.map { String(format: "%@ %.2f", $0, report.findings[$0] ?? 0) }
            print("  findings: " + listed.joined(separator: ", "))
        }
    }
}

/// JSON shape of one image's results.
struct ImageReport: Encodable {
    var image: String
    var results: [ResultReport]
    var findings: [String: Float]
    var error: String?
}

/// JSON shape of one ranked impression.
struct ResultReport: Encodable {
    var text: String
    var tokens: [Int]
    var logProb: Double
    var probability: Double
    var truncated: Bool

    init(_ caption: Caption) {
        text = caption.text
        tokens = caption.tokens
        logProb = caption.logProbability
        probability = exp(caption.logProbability)
        truncated = caption.truncated
    }

    enum CodingKeys: String, CodingKey {
        case text, tokens, logProb = "log_prob", probability, truncated
    }
}
