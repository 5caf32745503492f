import CXRSupport

/// The document-frequency file format, version 1 (UTF-8 text, lines end with "\n"):
///
///     cxrcaption-document-frequency 1
///     tokenizer <ScoringTokenizer.name>
///     documents <N>
///     ngrams <M>
///     <df>\t<token> <token> ...        (M lines, sorted by n-gram in UTF-8 byte order)
///
/// Each n-gram has 1...4 tokens separated by single spaces; 1 <= df <= N; no n-gram appears twice.
extension DocumentFrequencyTable {
    static let formatHeader = "cxrcaption-document-frequency 1"

    /// The table in the file format above.
    public func serialized() -> String {
        var text = Self.formatHeader + "\n"
        text += "tokenizer \(tokenizerName)\n"
        text += "documents \(documentCount)\n"
        text += "ngrams \(frequencies.count)\n"
        for key in frequencies.keys.sorted() {
            text += "\(frequencies[key]!)\t\(key.text)\n"
        }
        return text
    }

    /// Parses a table written by `serialized()`; throws `CXRError` (`.invalidArgument`) naming the line
    /// that is wrong.
    public init(parsing text: String) throws {
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map {
            String(String.UnicodeScalarView($0))
        }
        if lines.last == "" { lines.removeLast() }
        func fail(_ line: Int, _ message: String) -> CXRError {
            CXRError.invalidArgument("document-frequency table line \(line): \(message)")
        }
        guard lines.count >= 4 else {
            throw CXRError.invalidArgument(
                "document-frequency table has \(lines.count) lines; expected at least the 4 header lines")
        }
        guard lines[0] == Self.formatHeader else {
            throw fail(1, "expected \"\(Self.formatHeader)\", found \"\(lines[0].prefix(60))\"")
        }
        guard lines[1].hasPrefix("tokenizer "), lines[1].count > 10 else {
            throw fail(2, "expected \"tokenizer <name>\", found \"\(lines[1].prefix(60))\"")
        }
        let tokenizerName = String(lines[1].dropFirst(10))
        func headerNumber(_ line: Int, _ key: String) throws -> Int {
            let prefix = key + " "
            guard lines[line - 1].hasPrefix(prefix),
                  let value = Int(lines[line - 1].dropFirst(prefix.count)), value >= 0 else {
                throw fail(line, "expected \"\(key) <count>\", found \"\(lines[line - 1].prefix(60))\"")
            }
            return value
        }
        let documents = try headerNumber(3, "documents")
        guard documents >= 1 else { throw fail(3, "documents must be at least 1, found 0") }
        let ngrams = try headerNumber(4, "ngrams")
        guard lines.count - 4 == ngrams else {
            throw CXRError.invalidArgument(
                "document-frequency table declares \(ngrams) n-grams but has \(lines.count - 4) n-gram lines")
        }
        var frequencies: [ExactText: Int] = [:]
        frequencies.reserveCapacity(ngrams)
        for (offset, line) in lines.dropFirst(4).enumerated() {
            let number = offset + 5
            let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.count == 2, let frequency = Int(fields[0]) else {
                throw fail(number, "expected \"<df>\\t<n-gram>\", found \"\(line.prefix(60))\"")
            }
            guard frequency >= 1 && frequency <= documents else {
                throw fail(number, "document frequency \(frequency) is outside 1...\(documents)")
            }
            let gram = String(fields[1])
            let tokens = gram.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
            guard tokens.count >= 1 && tokens.count <= maximumNGramOrder,
                  tokens.allSatisfy({ !$0.isEmpty && !$0.contains(where: { $0.properties.isWhitespace }) })
            else {
                throw fail(number, "n-gram \"\(gram.prefix(60))\" is not 1...4 tokens separated by single spaces")
            }
            guard frequencies.updateValue(frequency, forKey: ExactText(gram)) == nil else {
                throw fail(number, "n-gram \"\(gram.prefix(60))\" appears twice")
            }
        }
        self.init(documentCount: documents, tokenizerName: tokenizerName, frequencies: frequencies)
    }
}
