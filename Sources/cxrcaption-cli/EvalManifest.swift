import CXRMetrics
import CXRSupport
import Foundation

/// One line of an evaluation manifest (a JSON Lines file, one object per line): one image.
struct EvalManifestEntry {
    /// `id` from the line (a string or an integer), else the 1-based line number; unique per line.
    var id: String
    /// `study` from the line (a string or an integer), else `id`: lines with the same study form one study.
    var study: String
    /// `view` from the line ("PA", "AP", "LL", ...); nil when absent or null (a DICOM image's ViewPosition
    /// is used then).
    var view: String?
    /// `image` exactly as written in the manifest.
    var image: String
    /// `image` resolved against the manifest's folder when relative.
    var imagePath: String
    /// `report`: one reference text, or several.
    var references: [String]
    var split: String
    /// `labels`, passed through untouched (any JSON value) when present.
    var labels: EvalJSON?
    /// 1-based line number in the manifest.
    var line: Int
}

/// A manifest line that cannot be used; the message names the file and line.
struct EvalManifestError: Error, CustomStringConvertible {
    let description: String
}

/// Reads and checks an evaluation manifest.
///
/// Every non-blank line must be a JSON object with `image` (a non-empty string), `report` (a string or a
/// non-empty list of strings) and `split` (a string); `id` and `study` (strings or integers), `view` (a string
/// or null) and `labels` (anything) are optional. Every line is checked, whatever its split; the references
/// of the chosen split must each have at least one word for the scoring tokenizer, their ids must be unique,
/// and the id of a line without `study` (its own study) must not be another line's study.
enum EvalManifest {
    static func read(path: String, split: String, tokenizer: ScoringTokenizer) throws -> [EvalManifestEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvalManifestError(description: "cannot read manifest \(path)")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw EvalManifestError(description: "manifest \(path) is not UTF-8 text")
        }
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }  // a byte-order mark
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var entries: [EvalManifestEntry] = []
        var firstLineOfID: [String: Int] = [:]
        var firstLineOfStudy: [String: Int] = [:]
        var lineOfImplicitStudy: [String: Int] = [:]
        var splitsSeen: [String: Int] = [:]
        let decoder = JSONDecoder()
        // Split on unicode scalars: "\r\n" is a single Character, so a Character split would not see CRLF lines.
        for (index, scalars) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated() {
            let lineNumber = index + 1
            let line = Substring(scalars.last == "\r" ? scalars.dropLast() : scalars)
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            func fail(_ message: String) -> EvalManifestError {
                EvalManifestError(description: "\(path) line \(lineNumber): \(message)")
            }
            let value: EvalJSON
            do {
                value = try decoder.decode(EvalJSON.self, from: Data(line.utf8))
            } catch {
                let shown = line.count > 60 ? line.prefix(60) + "..." : line
                throw fail("not valid JSON (\(detail(of: error, line: line))): \(shown)")
            }
            guard case .object = value else { throw fail("must be a JSON object, found \(value.kindName)") }

            guard let imageValue = value["image"] else { throw fail("missing \"image\"") }
            guard case .string(let image) = imageValue, !image.isEmpty else {
                throw fail("\"image\" must be a non-empty string (a path), found \(imageValue.kindName)")
            }
            guard let reportValue = value["report"] else { throw fail("missing \"report\"") }
            let references: [String]
            switch reportValue {
            case .string(let text): references = [text]
            case .array(let list) where !list.isEmpty:
                references = try list.enumerated().map { offset, item in
                    guard case .string(let text) = item else {
                        throw fail("\"report\" item \(offset) must be a string, found \(item.kindName)")
                    }
                    return text
                }
            case .array: throw fail("\"report\" is an empty list")
            default: throw fail("\"report\" must be a string or a list of strings, found \(reportValue.kindName)")
            }
            guard let splitValue = value["split"] else { throw fail("missing \"split\"") }
            guard case .string(let entrySplit) = splitValue else {
                throw fail("\"split\" must be a string (train, val, test), found \(splitValue.kindName)")
            }
            let id: String
            switch value["id"] {
            case nil, .null?: id = String(lineNumber)
            case .string(let text)?: id = text
            case .int(let number)?: id = String(number)
            case let other?: throw fail("\"id\" must be a string or an integer, found \(other.kindName)")
            }
            var study: String?
            switch value["study"] {
            case nil, .null?: study = nil
            case .string(let text)? where !text.isEmpty: study = text
            case .int(let number)?: study = String(number)
            case let other?: throw fail("\"study\" must be a non-empty string or an integer, found \(other.kindName)")
            }
            var view: String?
            switch value["view"] {
            case nil, .null?: view = nil
            case .string(let text)?: view = text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : text
            case let other?: throw fail("\"view\" must be a string (PA, AP, LL, ...) or null, found \(other.kindName)")
            }
            splitsSeen[entrySplit, default: 0] += 1
            guard entrySplit == split else { continue }

            for (offset, reference) in references.enumerated() where tokenizer.tokens(in: reference).isEmpty {
                throw fail("reference \(offset) of id \"\(id)\" has no words (\"\(reference.prefix(40))\")")
            }
            if let first = firstLineOfID[id] {
                throw fail("id \"\(id)\" was already used on line \(first) (ids are per image: give two views of "
                           + "one study their own ids and the same \"study\")")
            }
            firstLineOfID[id] = lineNumber
            let studyKey = study ?? id
            if study == nil, let named = firstLineOfStudy[studyKey] {
                throw fail("id \"\(id)\" has no \"study\" (it is its own study) but is the study of line \(named); "
                           + "give this line a \"study\" too")
            }
            if study != nil, let implicit = lineOfImplicitStudy[studyKey] {
                throw fail("study \"\(studyKey)\" is the id of line \(implicit), which has no \"study\" (it is its own "
                           + "study); give that line a \"study\" too")
            }
            if study == nil { lineOfImplicitStudy[studyKey] = lineNumber } else if firstLineOfStudy[studyKey] == nil {
                firstLineOfStudy[studyKey] = lineNumber
            }
            let imagePath = image.hasPrefix("/") ? image : folder + "/" + image
            entries.append(EvalManifestEntry(id: id, study: studyKey, view: view, image: image, imagePath: imagePath,
                                             references: references, split: entrySplit, labels: value["labels"],
                                             line: lineNumber))
        }
        guard !entries.isEmpty else {
            let seen = splitsSeen.keys.sorted().map { "\($0) (\(splitsSeen[$0]!))" }.joined(separator: ", ")
            throw EvalManifestError(description: "\(path) has no entries with split \"\(split)\""
                                    + (seen.isEmpty ? " (it has no entries)" : "; splits present: \(seen)"))
        }
        return entries
    }

    /// The useful part of a JSON error: JSONSerialization's description of the syntax error when it has
    /// one (JSONDecoder's own message is generic), else the decoder's.
    private static func detail(of error: Error, line: Substring) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        } catch {
            if let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String { return text }
        }
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError {
                let nsError = underlying as NSError
                if let text = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return text }
                return "\(underlying)"
            }
            return context.debugDescription
        }
        return "\(error)"
    }
}

/// The lines of one study, in manifest order.
struct EvalStudy {
    var id: String
    /// Indices into the manifest's entries (of the evaluated split), in manifest order.
    var entries: [Int]

    /// The studies of `entries`, in the order of their first line.
    static func group(_ entries: [EvalManifestEntry]) -> [EvalStudy] {
        var studies: [EvalStudy] = []
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() {
            if let at = index[entry.study] {
                studies[at].entries.append(i)
            } else {
                index[entry.study] = studies.count
                studies.append(EvalStudy(id: entry.study, entries: [i]))
            }
        }
        return studies
    }
}
