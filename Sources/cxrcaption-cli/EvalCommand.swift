import ArgumentParser
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
            F.jsonl holds one JSON object per line, one image: "image" (a DICOM, JPEG or PNG path, read as \
            `caption` reads it; relative paths are resolved against the manifest's folder), "report" (the \
            reference: a string or a list of strings), "split" (train, val, test), and optionally "id" \
            (unique per line; default: the line number), "study" (lines with the same study form one \
            study; default: the line's id, its own study), "view" (PA, AP, LL, ...; default: a DICOM \
            image's ViewPosition, else unknown) and "labels" (copied to --output). Only --split is \
            evaluated; --limit N keeps its first N studies.

            Every line's image is captioned. A study is scored once, with the candidates of its first \
            frontal image in manifest order that was captioned (frontal: PA, AP and their variants, or no \
            view information, as the trainer counts them); a study of lateral (or other) views only is \
            scored with its first captioned image. Its references are that line's "report". The model runs with beam width max(--beam, --best-of) \
            and returns --best-of results per image; top-1 scores the first, best-of-K the one with the \
            highest CIDEr-D among them. Images that cannot be read or captioned are reported and counted \
            as failures (a study with another captioned image is still scored): the others are still \
            scored, and the exit status is 1. The report counts images and studies. See docs/METRICS.md.
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

    @OptionGroup var reading: ImageReadingOptions

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

    @Option(help: "Evaluate only the first N studies of the split (a line without \"study\" is a study).")
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
        var studies = EvalStudy.group(entries)
        if let limit, studies.count > limit {
            let kept = Set(studies.prefix(limit).flatMap(\.entries))
            entries = entries.indices.filter { kept.contains($0) }.map { entries[$0] }
            studies = EvalStudy.group(entries)
        }

        let requested = try decoding.parameters(beamWidth: max(beam ?? bestOf, bestOf), maxResults: bestOf,
                                                returnAttention: attention, resultsOption: "--best-of")

        // Fail now, not after the whole run, when the per-image file cannot be written.
        if let output, !FileManager.default.createFile(atPath: output, contents: nil) {
            throw EvalError("cannot write --output \(output)")
        }
        let captionModel = try CaptionModel(contentsOfFile: model)
        let parameters = try decoding.applyingModelDefaults(to: requested, of: captionModel, resultsOption: "--best-of")
        let session = try CaptionSession(model: captionModel)
        let progress = ProgressReporter(total: entries.count, label: "eval",
                                        style: .automatic(quiet: quiet))
        var outcomes: [EvalOutcome] = []
        outcomes.reserveCapacity(entries.count)
        var failed = 0
        progress.update(done: 0, failed: 0)
        for entry in entries {
            let started = Date()
            var view = entry.view
            do {
                let image = try ImageFile.read(entry.imagePath, maxPixels: reading.maxPixels)
                view = view ?? image.view
                let captions = try image.bytes.withUnsafeBytes {
                    try session.generate(pixels: $0, image: image.descriptor, parameters: parameters)
                }
                guard !captions.isEmpty else { throw EvalError("the model returned no caption") }
                outcomes.append(EvalOutcome(entry: entry, view: view, captions: captions, error: nil,
                                            seconds: Date().timeIntervalSince(started),
                                            imageSize: (image.descriptor.width, image.descriptor.height)))
            } catch {
                failed += 1
                outcomes.append(EvalOutcome(entry: entry, view: view, captions: [], error: "\(error)",
                                            seconds: Date().timeIntervalSince(started), imageSize: nil))
                progress.message("eval: \(entry.image) (id \"\(entry.id)\", line \(entry.line)): error: \(error)")
            }
            progress.update(done: outcomes.count, failed: failed)
        }
        progress.finish()
        let seconds = progress.elapsed

        // Each study by the candidates of its chosen line; in UTF-8 byte order of the study ids, as
        // `cxrcaption score` orders ids, so the two give identical numbers.
        let chosen = studies.map { EvalStudyOutcome(study: $0, scoredEntry: Self.scoredEntry(of: $0, in: outcomes)) }
        let scored = chosen.compactMap { study in study.scoredEntry.map { (study.study.id, outcomes[$0]) } }
            .sorted { ScoreInput.byteOrder($0.0, $1.0) }
        var report: ScoringReport?
        if !scored.isEmpty {
            let items = scored.map {
                ScoringItem(id: $0.0, candidates: $0.1.captions.map(\.text), references: $0.1.entry.references)
            }
            report = try CaptionScorer(tokenizer: tokenizer, documentFrequency: source, bestOf: bestOf).score(items)
        }
        let summary = EvalSummary(model: model, manifest: manifest, split: split, parameters: parameters,
                                  bestOf: bestOf, outcomes: outcomes, studies: chosen, report: report,
                                  seconds: seconds)
        if let output {
            let records = EvalRecords(outcomes: outcomes, studies: chosen, report: report,
                                      vocabulary: captionModel.vocabulary,
                                      gridSize: captionModel.config.gridSize,
                                      inputSize: captionModel.config.inputSize, attention: attention)
            try records.write(to: output)
        }
        print(json ? summary.json() : summary.table())
        if failed > 0 { throw ExitCode(1) }
    }
}

extension EvalCommand {
    /// The line whose candidates score `study` (an index into `outcomes`): its first captioned frontal image
    /// (a frontal view or an unknown one, `ViewClass.isFrontalOrUnknown`) in manifest order, else its first
    /// captioned image (a study of lateral images only); nil when none was captioned. The trainer's rule
    /// (training/cxrcaption_train/dataset.py, `candidate_per_study`), restricted to the images that were read.
    static func scoredEntry(of study: EvalStudy, in outcomes: [EvalOutcome]) -> Int? {
        let captioned = study.entries.filter { outcomes[$0].error == nil }
        return captioned.first { ViewClass(view: outcomes[$0].view).isFrontalOrUnknown } ?? captioned.first
    }
}

/// A study and the line that scores it.
struct EvalStudyOutcome {
    var study: EvalStudy
    /// Index into the run's outcomes of the line whose candidates were scored; nil when no image of the study
    /// was captioned.
    var scoredEntry: Int?
}

/// What happened to one manifest entry.
struct EvalOutcome {
    var entry: EvalManifestEntry
    /// The manifest's "view", else the DICOM image's ViewPosition; nil when unknown.
    var view: String?
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
