import ArgumentParser
import CXRMetrics
import CXRSupport
import Foundation

/// `cxrcaption score`: CIDEr-D, CIDEr, BLEU-1...4 and ROUGE-L of candidate captions (docs/METRICS.md).
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score candidate captions against references (CIDEr-D, CIDEr, BLEU-1..4, ROUGE-L).",
        discussion: """
            C.json maps id -> candidate string, or id -> list of candidates ranked best first (for best-of-k). \
            R.json maps id -> list of reference strings. Both must have the same ids. Scores equal \
            pycocoevalcap's on the tokens described in docs/METRICS.md. With --save-df and no --candidates, only \
            the document-frequency table of R.json's references is written.
            """
    )

    @Option(help: "JSON object: id -> candidate string, or id -> ranked list of candidate strings.")
    var candidates: String?

    @Option(help: "JSON object: id -> list of reference strings.")
    var references: String

    @Flag(help: "Print the scores (corpus and per image) as JSON.")
    var json = false

    @Option(help: "Use CIDEr document frequencies from this table (see --save-df) instead of the references.")
    var df: String?

    @Option(help: "Write the document-frequency table of the references to this file.")
    var saveDf: String?

    @Option(help: "k for best-of-k (default: the longest candidate list).")
    var bestOf: Int?

    @Option(help: "Han characters: 'characters' (each is a token) or 'words' (space-segmented Chinese).")
    var han: String = HanTokenization.characters.rawValue

    func run() throws {
        guard let hanMode = HanTokenization(rawValue: han) else {
            throw ValidationError("--han \(han) is not one of: characters, words")
        }
        let tokenizer = ScoringTokenizer(han: hanMode)
        let referenceMap = try ScoreInput.references(at: references, tokenizer: tokenizer)

        if let saveDf {
            let ids = referenceMap.keys.sorted(by: ScoreInput.byteOrder)
            let table = try DocumentFrequencyTable(references: ids.map { referenceMap[$0]! }, tokenizer: tokenizer)
            try ScoreInput.write(table.serialized(), to: saveDf)
            if candidates == nil {
                print("wrote \(saveDf): \(table.documentCount) documents, \(table.ngramCount) n-grams")
                return
            }
        }
        guard let candidates else {
            throw ValidationError("--candidates is required (unless --save-df is given alone)")
        }
        let candidateMap = try ScoreInput.candidates(at: candidates)
        try ScoreInput.checkSameIDs(candidates: candidateMap, references: referenceMap)

        let ids = candidateMap.keys.sorted(by: ScoreInput.byteOrder)
        let items = ids.map { ScoringItem(id: $0, candidates: candidateMap[$0]!, references: referenceMap[$0]!) }
        var source = DocumentFrequencySource.evaluatedReferences
        if let df {
            source = .table(try DocumentFrequencyTable(parsing: ScoreInput.readText(df)))
        }
        let k = bestOf ?? max(1, items.map(\.candidates.count).max() ?? 1)
        guard k >= 1 else { throw ValidationError("--best-of \(k) must be at least 1") }
        let report = try CaptionScorer(tokenizer: tokenizer, documentFrequency: source, bestOf: k).score(items)
        print(json ? ScoringReportJSON.render(report) : ScoringReportTable.render(report))
    }
}

/// A problem with the score command's input files.
struct ScoreInputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reading and checking the candidate and reference files.
enum ScoreInput {
    /// UTF-8 byte order (= code point order, Python's `sorted`).
    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScoreInputError("cannot read \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScoreInputError("\(path) is not UTF-8 text")
        }
        return text
    }

    static func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw ScoreInputError("cannot write \(path)")
        }
    }

    static func jsonObject(at path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScoreInputError("cannot read \(path)")
        }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw ScoreInputError("\(path) is not valid JSON: \(detail ?? error.localizedDescription)")
        }
        guard let object = value as? [String: Any] else {
            throw ScoreInputError("\(path) must hold a JSON object mapping ids to texts")
        }
        guard !object.isEmpty else { throw ScoreInputError("\(path) has no ids") }
        return object
    }

    /// id -> ranked candidates (a string becomes a list of one).
    static func candidates(at path: String) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for (id, value) in try jsonObject(at: path) {
            if let text = value as? String {
                result[id] = [text]
            } else if let list = value as? [Any], !list.isEmpty, let texts = list as? [String] {
                result[id] = texts
            } else if let list = value as? [Any], list.isEmpty {
                throw ScoreInputError("\(path): id \"\(id)\" has an empty candidate list")
            } else {
                throw ScoreInputError("\(path): id \"\(id)\" must map to a string or a list of strings")
            }
        }
        return result
    }

    /// id -> references; every id needs at least one reference with at least one word.
    static func references(at path: String, tokenizer: ScoringTokenizer) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for (id, value) in try jsonObject(at: path) {
            guard let list = value as? [Any], let texts = list as? [String] else {
                throw ScoreInputError("\(path): id \"\(id)\" must map to a list of reference strings")
            }
            guard !texts.isEmpty else { throw ScoreInputError("\(path): id \"\(id)\" has no references") }
            for (index, text) in texts.enumerated() where tokenizer.tokens(in: text).isEmpty {
                throw ScoreInputError(
                    "\(path): reference \(index) of id \"\(id)\" has no words (\"\(text.prefix(40))\")")
            }
            result[id] = texts
        }
        return result
    }

    static func checkSameIDs(candidates: [String: [String]], references: [String: [String]]) throws {
        func listed(_ ids: [String]) -> String {
            let shown = ids.sorted(by: byteOrder).prefix(5).map { "\"\($0)\"" }.joined(separator: ", ")
            return ids.count > 5 ? shown + ", ..." : shown
        }
        let noReferences = candidates.keys.filter { references[$0] == nil }
        if !noReferences.isEmpty {
            throw ScoreInputError("\(noReferences.count) candidate id(s) have no references: \(listed(noReferences))")
        }
        let noCandidates = references.keys.filter { candidates[$0] == nil }
        if !noCandidates.isEmpty {
            throw ScoreInputError("\(noCandidates.count) reference id(s) have no candidates: \(listed(noCandidates))")
        }
    }
}

/// The human-readable summary.
enum ScoringReportTable {
    static func render(_ report: ScoringReport) -> String {
        let k = report.bestOf.k
        let showBest = k > 1 && report.maximumCandidateCount > 1
        var lines = [
            "images: \(report.ids.count)    candidates per image: up to \(report.maximumCandidateCount)",
            "CIDEr idf: \(report.documentFrequency)",
            "tokenizer: \(report.tokenizerName)",
            "",
            pad("metric", 10) + pad("top-1", 12) + (showBest ? pad("best-of-\(k)", 12) : ""),
        ]
        for (name, value) in ScoringReportJSON.metrics(report.topOne.corpus) {
            var line = pad(name, 10) + pad(format(value), 12)
            if showBest {
                let best = ScoringReportJSON.metrics(report.bestOf.scores.corpus).first { $0.0 == name }!.1
                line += pad(format(best), 12)
            }
            lines.append(line)
        }
        if showBest {
            lines.append("")
            lines.append("best-of-\(k) picks, per image, the candidate with the highest CIDEr-D among its first \(k).")
        }
        return lines.joined(separator: "\n")
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func format(_ value: Double) -> String { String(format: "%.4f", value) }
}

/// The JSON form of a report (also meant for `cxrcaption eval`).
///
///     {"tokenizer": ..., "df_mode": "evaluated-references"|"table", "df_documents": N, "images": n,
///      "top1": {"corpus": METRICS, "per_image": {id: METRICS}},
///      "best_of_k": {"k": k, "corpus": METRICS,
///                    "per_image": {id: METRICS + "rank": r, "candidates_cider_d": [...]}}}
///     METRICS = {"CIDEr-D", "CIDEr", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L"}
enum ScoringReportJSON {
    static func metrics(_ scores: MetricScores) -> [(String, Double)] {
        [("CIDEr-D", scores.ciderD), ("CIDEr", scores.cider),
         ("BLEU-1", scores.bleu[0]), ("BLEU-2", scores.bleu[1]), ("BLEU-3", scores.bleu[2]),
         ("BLEU-4", scores.bleu[3]), ("ROUGE-L", scores.rougeL)]
    }

    static func render(_ report: ScoringReport) -> String {
        func object(_ members: [(String, String)], indent: String) -> String {
            if members.isEmpty { return "{}" }
            let inner = indent + "  "
            return "{\n" + members.map { inner + string($0.0) + ": " + $0.1 }.joined(separator: ",\n")
                + "\n" + indent + "}"
        }
        func metricsObject(_ scores: MetricScores, extra: [(String, String)] = []) -> String {
            "{" + (metrics(scores).map { (string($0.0), number($0.1)) } + extra.map { (string($0.0), $0.1) })
                .map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
        }
        let top = report.topOne
        let best = report.bestOf
        let topPerImage = report.ids.indices.map { (report.ids[$0], metricsObject(top.perImage[$0])) }
        let bestPerImage = report.ids.indices.map { i in
            (report.ids[i], metricsObject(best.scores.perImage[i], extra: [
                ("rank", String(best.chosenRank[i])),
                ("candidates_cider_d", "[" + best.candidateCIDErD[i].map(number).joined(separator: ", ") + "]"),
            ]))
        }
        return object([
            ("tokenizer", string(report.tokenizerName)),
            ("df_mode", string(report.documentFrequency.name)),
            ("df_documents", String(report.documentFrequency.documents)),
            ("images", String(report.ids.count)),
            ("top1", object([("corpus", metricsObject(top.corpus)),
                             ("per_image", object(topPerImage, indent: "    "))], indent: "  ")),
            ("best_of_k", object([("k", String(best.k)), ("corpus", metricsObject(best.scores.corpus)),
                                  ("per_image", object(bestPerImage, indent: "    "))], indent: "  ")),
        ], indent: "")
    }

    /// Shortest round-trip decimal form; non-finite values (never produced) become null.
    static func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }

    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
