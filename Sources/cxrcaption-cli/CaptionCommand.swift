import ArgumentParser
import CXRImageIO
import CXRDecoding
import CXRKit
import CXRSupport
import Foundation

/// `cxrcaption caption --model M IMAGE_OR_FOLDER...`: ranked impressions with probabilities for each PNG.
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Write ranked impressions (with probabilities) for chest X-ray PNGs.",
        discussion: """
            Arguments are PNG files and folders. A folder contributes its .png files in sorted order \
            (subfolders too with --recursive; other files are skipped); a file named explicitly that is not \
            a PNG is reported as failed. One bad image never stops the run: it is reported on standard error \
            (and in --json/--jsonl with its "error"), the run goes on, and the exit status is 1 when any \
            image failed. With more than one image, progress is shown on standard error: a bar on a \
            terminal, a plain line every 5% otherwise (--quiet: none).

            --heatmaps DIR writes DIR/<image name>/NN_<token>.png for each token of the top result (the \
            image the model saw with that token's attention map, bilinearly upsampled, divided by its \
            maximum, blended in turbo colors: blue = little attention, red = the most), overview.png (the \
            sentence and all panels) and attention.json (the raw maps).
            """
    )

    @Option(help: "The model (.safetensors).")
    var model: String

    @Option(help: "Beam width (\(GenerationParameters.beamWidthRange.lowerBound)...\(GenerationParameters.beamWidthRange.upperBound)).")
    var beam: Int = 3

    @Option(help: "Impressions to print per image (1...beam).")
    var results: Int = 3

    @OptionGroup var decoding: DecodingOptions

    @Flag(help: "Print JSON (an array with one object per image) instead of text, at the end.")
    var json = false

    @Option(help: ArgumentHelp("Also write JSON Lines: one object per image, written as each image finishes.",
                               valueName: "file"))
    var jsonl: String?

    @Option(help: ArgumentHelp("Write attention heat maps of each image's top result into this folder.",
                               valueName: "dir"))
    var heatmaps: String?

    @Flag(help: "Search folders' subfolders too.")
    var recursive = false

    @Flag(help: "No progress display.")
    var quiet = false

    @Argument(help: "PNG files (8/16-bit gray, RGB, RGBA, palette) and folders of them.")
    var images: [String]

    func run() throws {
        let parameters = try decoding.parameters(beamWidth: beam, maxResults: results,
                                                 returnAttention: heatmaps != nil)

        let inputs = ImageInputs(arguments: images, recursive: recursive)
        for folder in inputs.emptyFolders {
            FileHandle.standardError.write(Data("\(folder): warning: no PNG files in this folder\n".utf8))
        }
        guard !inputs.items.isEmpty else { throw CaptionRunError("no PNG images to caption") }

        // Fail now, not after the run, when an output cannot be written.
        let lines = try jsonl.map { try JSONLinesWriter(path: $0) }
        let captionModel = try CaptionModel(contentsOfFile: model)
        var heatmapWriter = try heatmaps.map {
            do { return try HeatmapWriter(directory: $0, model: captionModel) } catch {
                throw CaptionRunError("cannot create the --heatmaps folder \($0): \(error.localizedDescription)")
            }
        }
        let session = try CaptionSession(model: captionModel)
        let progress = ProgressReporter(total: inputs.items.count, label: "caption",
                                        style: inputs.items.count > 1 ? .automatic(quiet: quiet) : .quiet)

        var reports: [ImageReport] = []
        var failures = 0
        progress.update(done: 0, failed: 0)
        for item in inputs.items {
            var report = ImageReport(image: item.path, results: [], findings: [:], error: item.problem)
            if item.problem == nil {
                do {
                    try caption(item.path, session: session, parameters: parameters,
                                heatmapWriter: &heatmapWriter, into: &report)
                } catch {
                    report.error = report.error ?? "\(error)"
                }
            }
            if let error = report.error {
                failures += 1
                progress.message("\(item.path): error: \(error)")
            }
            reports.append(report)
            if let lines {
                do { try lines.append(report) } catch {
                    throw CaptionRunError("cannot write to \(lines.path): \(error.localizedDescription)")
                }
            }
            if !json && (report.error == nil || !report.results.isEmpty) {
                progress.clearBar()
                printText(report, labels: captionModel.labels)
                fflush(nil)  // every output stream: stdout, without naming the C global
            }
            progress.update(done: reports.count, failed: failures)
        }
        progress.finish()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        }
        if failures > 0 {
            let message = "caption: \(failures) of \(reports.count) image\(reports.count == 1 ? "" : "s") failed\n"
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode(1)
        }
    }

    /// Captions one PNG into `report` (results, findings, heat maps); throws on the first failure, leaving
    /// what was done in `report` (heat-map errors keep the results).
    private func caption(_ path: String, session: CaptionSession, parameters: GenerationParameters,
                         heatmapWriter: inout HeatmapWriter?, into report: inout ImageReport) throws {
        let png = try PNGImage(contentsOf: path)
        let (bytes, descriptor) = png.intakeBuffer()
        let (captions, findings) = try bytes.withUnsafeBytes {
            try session.generateWithFindings(pixels: $0, image: descriptor, parameters: parameters)
        }
        report.results = captions.map(ResultReport.init)
        if let findings {
            report.findings = Dictionary(uniqueKeysWithValues: zip(session.model.labels, findings))
        }
        if heatmapWriter != nil, let top = captions.first {
            do {
                let equalized = try bytes.withUnsafeBytes { try session.preprocess(pixels: $0, image: descriptor) }
                report.heatmaps = try heatmapWriter!.write(imagePath: path, equalized: equalized, caption: top)
            } catch {
                throw CaptionRunError("heat maps: \(error)")
            }
        }
    }

    private func printText(_ report: ImageReport, labels: [String]) {
        print(report.image)
        for (rank, result) in report.results.enumerated() {
            let flag = result.truncated ? "  (truncated)" : ""
            print(String(format: "  %d. [p=%.3g] %@%@", rank + 1, result.probability, result.text, flag))
        }
        if !labels.isEmpty && !report.findings.isEmpty {
            // The likely findings, most probable first (--json / --jsonl carry every label).
            let likely = labels.compactMap { label in report.findings[label].map { (label, $0) } }
                .filter { $0.1 >= 0.5 }.sorted { $0.1 > $1.1 }
            let listed = likely.map { String(format: "%@ %.2f", $0.0, $0.1) }
            print("  findings (p >= 0.5): " + (listed.isEmpty ? "none" : listed.joined(separator: ", ")))
        }
        if let heatmaps = report.heatmaps { print("  heat maps: \(heatmaps)/") }
    }
}

/// JSON shape of one image's results (`--json` array element, `--jsonl` line). `error` is always present
/// (null when the image succeeded); `heatmaps` (the image's heat-map folder) only with --heatmaps.
struct ImageReport: Encodable {
    var image: String
    var results: [ResultReport]
    var findings: [String: Float]
    var error: String?
    var heatmaps: String?

    enum CodingKeys: String, CodingKey {
        case image, results, findings, error, heatmaps
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(image, forKey: .image)
        try container.encode(results, forKey: .results)
        try container.encode(findings.mapValues(jsonNumber), forKey: .findings)
        try container.encode(error, forKey: .error)
        try container.encodeIfPresent(heatmaps, forKey: .heatmaps)
    }
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

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(text, forKey: .text)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(jsonNumber(logProb), forKey: .logProb)
        try container.encode(jsonNumber(probability), forKey: .probability)
        try container.encode(truncated, forKey: .truncated)
    }
}

/// `value` for JSON output, or nil (written as null) when it is NaN or infinite: JSON has no such numbers and
/// `JSONEncoder` would fail the whole run over one of them.
func jsonNumber<Value: BinaryFloatingPoint>(_ value: Value) -> Value? {
    value.isFinite ? value : nil
}

/// A `caption` run that cannot start (e.g. an output file cannot be created); printed as "Error: <message>".
struct CaptionRunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
