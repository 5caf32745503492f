import CXRMetrics
import CXRSupport
import Foundation

/// One study of an evaluation manifest (a JSON Lines file, one object per line).
struct EvalManifestEntry {
    /// `id` from the line (a string or an integer), else the 1-based line number.
    var id: String
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
/// non-empty list of strings) and `split` (a string); `id` (a string or an integer) and `labels` (anything)
/// are optional. Every line is checked, whatever its split; the references of the chosen split must each
/// have at least one word for the scoring tokenizer, and their ids must be unique.
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
            splitsSeen[entrySplit, default: 0] += 1
            guard entrySplit == split else { continue }

            for (offset, reference) in references.enumerated() where tokenizer.tokens(in: reference).isEmpty {
                throw fail("reference \(offset) of id \"\(id)\" has no words (\"\(reference.prefix(40))\")")
            }
            if let first = firstLineOfID[id] {
                throw fail("id \"\(id)\" was already used on line \(first)")
            }
            firstLineOfID[id] = lineNumber
            let imagePath = image.hasPrefix("/") ? image : folder + "/" + image
            entries.append(EvalManifestEntry(id: id, image: image, imagePath: imagePath, references: references,
                                             split: entrySplit, labels: value["labels"], line: lineNumber))
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
