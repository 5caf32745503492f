import ArgumentParser
import Foundation

/// `cxrcaption reader-study analyze --key key.json --scores r1.json r2.json`: unblinds the scores with the key
/// and writes the analysis (docs/READER_STUDY.md, "Analysis"): summary.md, analysis.json, figure.png.
struct ReaderStudyAnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Unblind readers' scores with the key: distributions, shares with bootstrap CIs, tests, kappa, figure.",
        discussion: """
            --scores takes the files the scoring page exports (JSON or CSV), one per reader; each must \
            carry the key's packet id. Cases a reader left unscored are left out of that reader's numbers \
            (and counted). Per reader and for all readers together, per origin (model, human): the score \
            distribution, the share of 5s and of scores >= 4 with percentile bootstrap 95% intervals (cases \
            resampled; for all readers a case's scores stay together). Model vs human: the Mann-Whitney U \
            test (two-sided, normal approximation with tie and continuity corrections; for all readers, on \
            each case's mean score) and a permutation test on the difference in the share of 5s. Agreement: \
            weighted Cohen's kappa (quadratic and linear) for every pair of readers on the cases both \
            scored. Writes --out/summary.md, --out/analysis.json and --out/figure.png, and prints the summary.
            """
    )

    @Option(help: "The key that `reader-study make` wrote.")
    var key: String

    @Option(parsing: .upToNextOption, help: "The readers' exported score files (JSON or CSV), one per reader.")
    var scores: [String] = []

    @Option(help: "The folder for summary.md, analysis.json and figure.png (created).")
    var out: String = "reader-study-analysis"

    @Option(help: "Bootstrap resamples.")
    var bootstrap: Int = 10000

    @Option(help: "Permutations for the permutation test.")
    var permutations: Int = 10000

    @Option(help: "Seed of the bootstrap and the permutations.")
    var seed: UInt64 = 1

    func validate() throws {
        guard !scores.isEmpty else { throw ValidationError("--scores needs at least one reader's score file") }
        guard bootstrap >= 100 else { throw ValidationError("--bootstrap \(bootstrap) must be at least 100") }
        guard permutations >= 100 else { throw ValidationError("--permutations \(permutations) must be at least 100") }
    }

    func run() throws {
        let studyKey = try ReaderStudyKey.read(key)
        var readers: [ReaderScores] = []
        for path in scores {
            let reader = try ReaderScores.read(path, key: studyKey)
            if let other = readers.first(where: { $0.reader == reader.reader }) {
                throw ReaderStudyError("--scores \(path) and \(other.path) are both from reader \"\(reader.reader)\"; give one file per reader")
            }
            readers.append(reader)
        }
        let analysis = ReaderStudyAnalysis(key: studyKey, readers: readers, resamples: bootstrap,
                                           permutations: permutations, seed: seed)
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw ReaderStudyError("cannot create --out \(out): \(error.localizedDescription)")
        }
        try ReaderStudyFigure.draw(analysis).write(to: out + "/figure.png")
        let summary = analysis.markdown(figure: "figure.png")
        try Data(summary.utf8).write(to: URL(fileURLWithPath: out + "/summary.md"))
        try ReaderStudyJSON.data(analysis.json()).write(to: URL(fileURLWithPath: out + "/analysis.json"))
        print(summary)
    }
}

/// The key's cases by case id.
struct ReaderStudyKey {
    var path: String
    var packet: String
    var origins: [String: String]
    var caseNumbers: [String: Int]
    var model: String
    var modelSHA256: String
    var seed: String

    static func read(_ path: String) throws -> ReaderStudyKey {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReaderStudyError("cannot read --key \(path)") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ReaderStudyError("--key \(path) is not a JSON object")
        }
        guard object["format"] as? String == ReaderStudyFormat.key else {
            throw ReaderStudyError("--key \(path) is not a reader-study key (\"format\" is not \"\(ReaderStudyFormat.key)\"; is it the packet's cases.json or a score file?)")
        }
        guard let packet = object["packet"] as? String, let cases = object["cases"] as? [[String: Any]], !cases.isEmpty else {
            throw ReaderStudyError("--key \(path) has no \"packet\" id or no \"cases\"")
        }
        var origins: [String: String] = [:], numbers: [String: Int] = [:]
        for (i, c) in cases.enumerated() {
            guard let id = c["id"] as? String, let origin = c["origin"] as? String, origin == "model" || origin == "human",
                  let number = c["case"] as? Int else {
                throw ReaderStudyError("--key \(path) case \(i + 1) lacks \"id\", \"case\" or an \"origin\" of model/human")
            }
            origins[id] = origin
            numbers[id] = number
        }
        let model = object["model"] as? [String: Any]
        return ReaderStudyKey(path: path, packet: packet, origins: origins, caseNumbers: numbers,
                              model: model?["file"] as? String ?? "?", modelSHA256: model?["sha256"] as? String ?? "?",
                              seed: (object["seed"] as? NSNumber)?.stringValue ?? "?")
    }
}

/// One reader's scores (case id -> 1...5), as the page exported them.
struct ReaderScores {
    var path: String
    var reader: String
    var scores: [String: Int]
    var unscored: Int

    static func read(_ path: String, key: ReaderStudyKey) throws -> ReaderScores {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ReaderStudyError("cannot read --scores \(path) as UTF-8 text")
        }
        var reader = "", packet = ""
        var rows: [(id: String, score: Int?, where: String)] = []
        if text.drop(while: { $0.isWhitespace }).first == "{" {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ReaderStudyError("--scores \(path) is not valid JSON")
            }
            guard object["format"] as? String == ReaderStudyFormat.scores else {
                throw ReaderStudyError("--scores \(path) is not a score file exported by the packet's page (\"format\" is not \"\(ReaderStudyFormat.scores)\")")
            }
            reader = object["reader"] as? String ?? ""
            packet = object["packet"] as? String ?? ""
            guard let list = object["scores"] as? [[String: Any]] else { throw ReaderStudyError("--scores \(path) has no \"scores\" list") }
            for (i, item) in list.enumerated() {
                guard let id = item["id"] as? String else { throw ReaderStudyError("--scores \(path) score \(i + 1) has no \"id\"") }
                var score: Int?
                if let value = item["score"], !(value is NSNull) {
                    guard let number = value as? NSNumber, let s = Int(exactly: number.doubleValue) else {
                        throw ReaderStudyError("--scores \(path) case \(id): score \(value) is not an integer 1...5")
                    }
                    score = s
                }
                rows.append((id, score, "score \(i + 1)"))
            }
        } else {
            let records = ReaderStudyCSV.parse(text)
            guard let header = records.first, let idColumn = header.firstIndex(of: "id"),
                  let scoreColumn = header.firstIndex(of: "score"), let readerColumn = header.firstIndex(of: "reader"),
                  let packetColumn = header.firstIndex(of: "packet") else {
                throw ReaderStudyError("--scores \(path) is neither the page's JSON nor its CSV (header packet,reader,case,id,score,comment)")
            }
            for (line, record) in records.dropFirst().enumerated() where !(record.count == 1 && record[0].isEmpty) {
                guard record.count == header.count else {
                    throw ReaderStudyError("--scores \(path) line \(line + 2) has \(record.count) fields, the header \(header.count)")
                }
                if reader.isEmpty { reader = record[readerColumn]; packet = record[packetColumn] }
                guard record[readerColumn] == reader, record[packetColumn] == packet else {
                    throw ReaderStudyError("--scores \(path) line \(line + 2) names another reader or packet than line 2")
                }
                var score: Int?
                if !record[scoreColumn].isEmpty {
                    guard let s = Int(record[scoreColumn]) else {
                        throw ReaderStudyError("--scores \(path) line \(line + 2): score \"\(record[scoreColumn])\" is not an integer 1...5")
                    }
                    score = s
                }
                rows.append((record[idColumn], score, "line \(line + 2)"))
            }
        }
        guard !reader.isEmpty else { throw ReaderStudyError("--scores \(path) has no reader id") }
        guard packet == key.packet else {
            throw ReaderStudyError("--scores \(path) is for packet \"\(packet)\", but --key \(key.path) is for packet \"\(key.packet)\"")
        }
        var scores: [String: Int] = [:]
        var seen = Set<String>()
        var unscored = 0
        for row in rows {
            guard key.origins[row.id] != nil else {
                throw ReaderStudyError("--scores \(path) \(row.where): case \"\(row.id)\" is not in the key")
            }
            guard seen.insert(row.id).inserted else {
                throw ReaderStudyError("--scores \(path) \(row.where): case \"\(row.id)\" is scored twice")
            }
            if let s = row.score {
                guard (1...5).contains(s) else {
                    throw ReaderStudyError("--scores \(path) \(row.where): case \"\(row.id)\" has score \(s), outside 1...5")
                }
                scores[row.id] = s
            } else {
                unscored += 1
            }
        }
        unscored += key.origins.count - seen.count
        return ReaderScores(path: path, reader: reader, scores: scores, unscored: unscored)
    }
}

/// RFC 4180 CSV: fields split on commas, quoted fields may hold commas, quotes ("") and line breaks.
enum ReaderStudyCSV {
    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, afterQuote = false
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 }
                    else { quoted = false; afterQuote = true }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" && field.isEmpty && !afterQuote {
                quoted = true
            } else if c == "," {
                record.append(field); field = ""; afterQuote = false
            } else if c == "\r" || c == "\n" {
                if c == "\r", i + 1 < chars.count, chars[i + 1] == "\n" { i += 1 }
                record.append(field); records.append(record); record = []; field = ""; afterQuote = false
            } else {
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }
}
