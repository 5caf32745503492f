import ArgumentParser
import CXRImageIO
import CXRDecoding
import CXRKit
import CXRMetrics
import Foundation

/// `cxrcaption eval --model M --manifest F.jsonl`: captions a manifest's split with the model and scores the
/// results (CIDEr-D top-1 and best-of-K, CIDEr, BLEU-1..4, ROUGE-L) with the metrics of docs/METRICS.md.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Caption a manifest's images and score them (CIDEr-D top-1 and best-of-K, BLEU, ROUGE-L).",
        discussion: """
            F.jsonl holds one JSON object per line: "image" (a PNG path; relative paths are resolved against \
            the manifest's folder), "report" (the reference: a string or a list of strings), "split" (train, \
            val, test), and optionally "id" (default: the line number) and "labels" (copied to --output). \
            Only --split is evaluated. The model runs with beam width max(--beam, --best-of) and returns \
            --best-of results per image; top-1 scores the first, best-of-K the one with the highest CIDEr-D \
            among them. Images that cannot be read or captioned are reported and counted as failures: the \
            others are still scored, and the exit status is 1. See docs/METRICS.md.
            """
    )

    @Option(help: "The model (.safetensors).")
    var model: String

    @Option(help: "The manifest (JSON Lines).")
    var manifest: String

    @Option(help: "The split to evaluate.")
    var split: String = "test"

    @Option(help: "K for best-of-K: results kept per image.")
    var bestOf: Int = 3

    @Option(help: "Beam width (\(GenerationParameters.beamWidthRange.lowerBound)...\(GenerationParameters.beamWidthRange.upperBound); raised to --best-of when smaller; default: --best-of).")
    var beam: Int?

    @OptionGroup var decoding: DecodingOptions

    @Option(help: "CIDEr document frequencies from this table (cxrcaption score --save-df) instead of the evaluated references.")
    var df: String?

    @Option(help: "Han characters: 'characters' (each is a token) or 'words' (space-segmented Chinese).")
    var han: String = HanTokenization.characters.rawValue

    @Flag(help: "Print the scores as JSON instead of a table.")
    var json = false

    @Option(help: "Write one JSON object per image (candidates, references, scores) to this file.")
    var output: String?

    @Flag(help: "With --output: add the top result's per-token attention maps.")
    var attention = false

    @Option(help: "Evaluate only the first N images of the split.")
    var limit: Int?

    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        let widths = GenerationParameters.beamWidthRange
        guard widths.contains(bestOf) else {
            throw ValidationError("--best-of \(bestOf) is outside \(widths.lowerBound)...\(widths.upperBound) "
                                  + "(the beam width limit)")
        }
        if let limit, limit < 1 { throw ValidationError("--limit \(limit) must be at least 1") }
        if attention && output == nil { throw ValidationError("--attention needs --output") }
    }

    func run() throws {
        guard let hanMode = HanTokenization(rawValue: han) else {
            throw ValidationError("--han \(han) is not one of: characters, words")
        }
        let tokenizer = ScoringTokenizer(han: hanMode)
        var source = DocumentFrequencySource.evaluatedReferences
        if let df {
            let table = try DocumentFrequencyTable(parsing: ScoreInput.readText(df))
            // Checked before the model runs, not after (the scorer would refuse it at the end).
            guard table.tokenizerName == tokenizer.name else {
                throw EvalError("--df \(df) was counted with tokenizer \"\(table.tokenizerName)\"; "
                                      + "this run scores with \"\(tokenizer.name)\" (see --han)")
            }
            source = .table(table)
        }
        var entries = try EvalManifest.read(path: manifest, split: split, tokenizer: tokenizer)
        if let limit, entries.count > limit { entries = Array(entries.prefix(limit)) }

        let parameters = try decoding.parameters(beamWidth: max(beam ?? bestOf, bestOf), maxResults: bestOf,
                                                 returnAttention: attention, resultsOption: "--best-of")

        // Fail now, not after the whole run, when the per-image file cannot be written.
        if let output, !FileManager.default.createFile(atPath: output, contents: nil) {
            throw EvalError("cannot write --output \(output)")
        }
        let captionModel = try CaptionModel(contentsOfFile: model)
        let session = try CaptionSession(model: captionModel)
        let progress = ProgressReporter(total: entries.count, label: "eval",
                                        style: .automatic(quiet: quiet))
        var outcomes: [EvalOutcome] = []
        outcomes.reserveCapacity(entries.count)
        var failed = 0
        progress.update(done: 0, failed: 0)
        for entry in entries {
            let started = Date()
            do {
                let png = try PNGImage(contentsOf: entry.imagePath)
                let (bytes, descriptor) = png.intakeBuffer()
                let captions = try bytes.withUnsafeBytes {
                    try session.generate(pixels: $0, image: descriptor, parameters: parameters)
                }
                guard !captions.isEmpty else { throw EvalError("the model returned no caption") }
                outcomes.append(EvalOutcome(entry: entry, captions: captions, error: nil,
                                            seconds: Date().timeIntervalSince(started),
                                            imageSize: (descriptor.width, descriptor.height)))
            } catch {
                failed += 1
                outcomes.append(EvalOutcome(entry: entry, captions: [], error: "\(error)",
                                            seconds: Date().timeIntervalSince(started), imageSize: nil))
                progress.message("eval: \(entry.image) (id \"\(entry.id)\", line \(entry.line)): error: \(error)")
            }
            progress.update(done: outcomes.count, failed: failed)
        }
        progress.finish()
        let seconds = progress.elapsed

        // Score in UTF-8 byte order of the ids, as `cxrcaption score` does, so the two give identical numbers.
        let scored = outcomes.filter { $0.error == nil }.sorted { ScoreInput.byteOrder($0.entry.id, $1.entry.id) }
        var report: ScoringReport?
        if !scored.isEmpty {
            let items = scored.map {
                ScoringItem(id: $0.entry.id, candidates: $0.captions.map(\.text), references: $0.entry.references)
            }
            report = try CaptionScorer(tokenizer: tokenizer, documentFrequency: source, bestOf: bestOf).score(items)
        }
        let summary = EvalSummary(model: model, manifest: manifest, split: split, parameters: parameters,
                                  bestOf: bestOf, outcomes: outcomes, report: report, seconds: seconds)
        if let output {
            let records = EvalRecords(outcomes: outcomes, report: report, vocabulary: captionModel.vocabulary,
                                      gridSize: captionModel.config.gridSize,
                                      inputSize: captionModel.config.inputSize, attention: attention)
            try records.write(to: output)
        }
        print(json ? summary.json() : summary.table())
        if failed > 0 { throw ExitCode(1) }
    }
}

/// What happened to one manifest entry.
struct EvalOutcome {
    var entry: EvalManifestEntry
    /// Ranked, best first; empty when the image failed.
    var captions: [Caption]
    /// Why the image failed; nil when it was captioned.
    var error: String?
    /// Seconds spent reading and captioning the image.
    var seconds: Double
    /// Width and height of the decoded image; nil when it failed.
    var imageSize: (width: Int, height: Int)?
}

/// A problem found while running `cxrcaption eval` (printed as "Error: ...", exit status 1).
struct EvalError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
