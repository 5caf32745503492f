import CXRDecoding
import CXRMetrics
import CXRModel
import Foundation

/// The summary `cxrcaption eval` prints: a table, or JSON with `--json`.
///
/// JSON: {"model", "manifest", "split", "beam", "best_of", "max_tokens", "length_penalty", "suppress_unknown",
/// "images" (manifest lines evaluated), "studies" (studies evaluated), "scored" (studies scored),
/// "unscored_studies" (studies none of whose images could be captioned), "failures" (images that failed),
/// "failed": [{"id", "study", "image", "line", "error"}], "views": {"frontal", "lateral", "other",
/// "unknown"} (images by view), "seconds", "seconds_per_image", "scores": the object `cxrcaption score
/// --json` prints, per study (null when no study could be scored)}.
struct EvalSummary {
    var model: String
    var manifest: String
    var split: String
    var parameters: GenerationParameters
    var bestOf: Int
    var outcomes: [EvalOutcome]
    var studies: [EvalStudyOutcome]
    var report: ScoringReport?
    var seconds: Double

    private var failures: [EvalOutcome] { outcomes.filter { $0.error != nil } }
    private var scoredCount: Int { studies.filter { $0.scoredEntry != nil }.count }
    private var secondsPerImage: Double { outcomes.isEmpty ? 0 : seconds / Double(outcomes.count) }
    private func viewCount(_ viewClass: ViewClass) -> Int {
        outcomes.filter { ViewClass(view: $0.view) == viewClass }.count
    }

    func json() -> String {
        let failed: [EvalJSON] = failures.map {
            .object([("id", .string($0.entry.id)), ("study", .string($0.entry.study)), ("image", .string($0.entry.image)),
                     ("line", .int($0.entry.line)), ("error", .string($0.error ?? ""))])
        }
        let views: EvalJSON = .object([ViewClass.frontal, .lateral, .other, .unknown].map {
            ($0.rawValue, .int(viewCount($0)))
        })
        let members: [(String, EvalJSON)] = [
            ("model", .string(model)), ("manifest", .string(manifest)), ("split", .string(split)),
            ("beam", .int(parameters.beamWidth)), ("best_of", .int(bestOf)), ("max_tokens", .int(parameters.maxTokens)),
            ("length_penalty", .double(parameters.lengthPenalty)),
            ("suppress_unknown", .bool(parameters.suppressUnknown)),
            ("no_repeat_ngram_size", .int(parameters.noRepeatNgramSize)),
            ("distinct_results", .bool(parameters.distinctResults)),
            ("distinct_extra_beam", .int(parameters.distinctExtraBeam)),
            ("images", .int(outcomes.count)), ("studies", .int(studies.count)), ("scored", .int(scoredCount)),
            ("unscored_studies", .int(studies.count - scoredCount)), ("failures", .int(failures.count)),
            ("failed", .array(failed)), ("views", views),
            ("seconds", .double(seconds)), ("seconds_per_image", .double(secondsPerImage)),
        ]
        var lines = ["{"]
        for (key, value) in members {
            lines.append("  " + ScoringReportJSON.string(key) + ": " + value.compact + ",")
        }
        let scores = report.map { ScoringReportJSON.render($0).replacingOccurrences(of: "\n", with: "\n  ") } ?? "null"
        lines.append("  \"scores\": " + scores)
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    func table() -> String {
        var lines = [
            "model: \(model)",
            "manifest: \(manifest)  split: \(split)",
            "images: \(outcomes.count)    studies: \(studies.count)    scored studies: \(scoredCount)    "
                + "failures: \(failures.count)",
            "views: " + [ViewClass.frontal, .lateral, .other, .unknown].map { "\($0.rawValue) \(viewCount($0))" }
                .joined(separator: ", "),
            "decoding: beam \(parameters.beamWidth), best-of \(bestOf), max tokens \(parameters.maxTokens)"
                + (parameters.lengthPenalty != 0 ? ", length penalty \(parameters.lengthPenalty)" : "")
                + (parameters.suppressUnknown ? ", <nou> suppressed" : "")
                + (parameters.noRepeatNgramSize > 0 ? ", no repeated \(parameters.noRepeatNgramSize)-grams" : "")
                + (parameters.distinctResults ? ", distinct (extra beam \(parameters.distinctExtraBeam))" : ""),
            String(format: "time: %@ (%.2f s/image)", ProgressReporter.clock(seconds), secondsPerImage),
        ]
        if let report {
            lines.append("df mode: \(report.documentFrequency.name)")
            lines.append("")
            lines.append(ScoringReportTable.render(report))
        } else {
            lines.append("")
            lines.append("no image could be captioned: nothing to score")
        }
        if studies.count > scoredCount {
            lines.append("")
            let unscored = studies.count - scoredCount
            lines.append("\(unscored) stud\(unscored == 1 ? "y" : "ies") not scored (none of \(unscored == 1 ? "its" : "their") "
                         + "images could be captioned)")
        }
        if !failures.isEmpty {
            lines.append("")
            lines.append("failed images:")
            for outcome in failures.prefix(20) {
                lines.append("  \(outcome.entry.image) (id \"\(outcome.entry.id)\", line \(outcome.entry.line)): "
                             + (outcome.error ?? ""))
            }
            if failures.count > 20 { lines.append("  ... and \(failures.count - 20) more") }
        }
        return lines.joined(separator: "\n")
    }
}

/// The per-image file (`--output`): one JSON object per manifest line, in manifest order.
///
///     {"id", "study", "view" (the manifest's, else the DICOM ViewPosition; null when unknown),
///      "scored" (true on the line whose candidates scored its study),
///      "image" (as in the manifest), "image_path" (resolved), "line", "split", "labels" (when given),
///      "references": [...], "seconds", "width", "height" (of the decoded image),
///      "candidates": [{"text", "tokens": [ids], "words": [token strings], "log_prob", "score", "truncated"}],
///      "top1": METRICS,
///      "best_of_k": METRICS + {"k", "rank" (0-based index of the chosen candidate), "candidates_cider_d"},
///      "attention": {"grid", "regions", "input_size", "words": [...], "maps": [[regions floats] per word]}}
///
/// METRICS is `cxrcaption score --json`'s per-image object, the study's scores: "top1" and "best_of_k" are on
/// the scored line only. "attention" (with `--attention`) belongs to the
/// top candidate: one map per emitted word (`<end>` has none), region r = y * grid + x over the model's
/// input_size x input_size view, which is the whole image resized (aspect not kept, docs/INTAKE.md), so
/// region (x, y) covers image columns [x * width / grid, (x + 1) * width / grid) and the rows likewise.
/// A failed image has "error" instead of "candidates" and the scores.
struct EvalRecords {
    var outcomes: [EvalOutcome]
    var studies: [EvalStudyOutcome]
    var report: ScoringReport?
    var vocabulary: Vocabulary
    var gridSize: Int
    var inputSize: Int
    var attention: Bool

    func write(to path: String) throws {
        var index: [String: Int] = [:]
        if let report { for (i, id) in report.ids.enumerated() { index[id] = i } }
        let scoredLines = Set(studies.compactMap(\.scoredEntry))
        var text = ""
        for (i, outcome) in outcomes.enumerated() {
            let scored = scoredLines.contains(i)
            record(outcome, scored: scored, at: scored ? index[outcome.entry.study] : nil).write(to: &text)
            text += "\n"
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw EvalError("cannot write \(path)")
        }
    }

    private func words(_ tokens: [Int]) -> [EvalJSON] {
        tokens.map { .string($0 >= 0 && $0 < vocabulary.count ? vocabulary.tokens[$0] : "<\($0)>") }
    }

    private func record(_ outcome: EvalOutcome, scored: Bool, at reportIndex: Int?) -> EvalJSON {
        let entry = outcome.entry
        var members: [(String, EvalJSON)] = [
            ("id", .string(entry.id)), ("study", .string(entry.study)),
            ("view", outcome.view.map { .string($0) } ?? .null), ("scored", .bool(scored)),
            ("image", .string(entry.image)), ("image_path", .string(entry.imagePath)),
            ("line", .int(entry.line)), ("split", .string(entry.split)),
        ]
        if let labels = entry.labels { members.append(("labels", labels)) }
        members.append(("references", .array(entry.references.map { .string($0) })))
        members.append(("seconds", .double(outcome.seconds)))
        if let error = outcome.error {
            members.append(("error", .string(error)))
            return .object(members)
        }
        if let size = outcome.imageSize {
            members.append(("width", .int(size.width)))
            members.append(("height", .int(size.height)))
        }
        members.append(("candidates", .array(outcome.captions.map { caption in
            .object([("text", .string(caption.text)), ("tokens", .array(caption.tokens.map { .int($0) })),
                     ("words", .array(words(caption.tokens))), ("log_prob", .double(caption.logProbability)),
                     ("score", .double(caption.score)), ("truncated", .bool(caption.truncated))])
        })))
        if let report, let i = reportIndex {
            let best = report.bestOf
            members.append(("top1", .metrics(report.topOne.perImage[i])))
            members.append(("best_of_k", .metrics(best.scores.perImage[i], extra: [
                ("k", .int(best.k)), ("rank", .int(best.chosenRank[i])),
                ("candidates_cider_d", .array(best.candidateCIDErD[i].map { .double($0) })),
            ])))
        }
        if attention, let top = outcome.captions.first {
            let regions = gridSize * gridSize
            let rows = regions > 0 ? top.attention.count / regions : 0
            let maps: [EvalJSON] = (0..<rows).map { row in
                .floats(top.attention[(row * regions)..<((row + 1) * regions)])
            }
            members.append(("attention", .object([
                ("grid", .int(gridSize)), ("regions", .int(regions)), ("input_size", .int(inputSize)),
                ("words", .array(words(top.tokens))), ("maps", .array(maps)),
            ])))
        }
        return .object(members)
    }
}
