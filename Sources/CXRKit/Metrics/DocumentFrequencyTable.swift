import CXRSupport

/// Document frequencies of n-grams (n = 1...4) over a reference corpus, for CIDEr's idf.
///
/// A document is one image: an n-gram's document frequency is the number of images whose references
/// (any of them) contain it, as pycocoevalcap's `compute_doc_freq` counts. A table built from one corpus
/// (e.g. the training split) can be saved and used to score another (`DocumentFrequencySource.table`).
public struct DocumentFrequencyTable: Equatable, Sendable {
    /// The number of documents (images) counted; CIDEr's idf is ln(documentCount) - ln(max(1, df)).
    public let documentCount: Int
    /// The tokenizer the n-grams were made with (`ScoringTokenizer.name`).
    public let tokenizerName: String
    /// n-gram (tokens joined by single spaces) -> document frequency, 1...documentCount.
    let frequencies: [ExactText: Int]

    init(documentCount: Int, tokenizerName: String, frequencies: [ExactText: Int]) {
        self.documentCount = documentCount
        self.tokenizerName = tokenizerName
        self.frequencies = frequencies
    }

    /// Counts the n-grams of a reference corpus: `references[i]` are the reference texts of document i.
    public init(references: [[String]], tokenizer: ScoringTokenizer = ScoringTokenizer()) throws {
        try self.init(tokenizedReferences: references.map { $0.map { tokenizer.tokens(in: $0) } },
                      tokenizerName: tokenizer.name)
    }

    /// Counts the n-grams of an already tokenized reference corpus: `tokenizedReferences[i][j]` is the token
    /// list of reference j of document i.
    init(tokenizedReferences: [[[String]]], tokenizerName: String) throws {
        guard !tokenizedReferences.isEmpty else {
            throw CXRError.invalidArgument("document-frequency corpus has no documents")
        }
        var frequencies: [ExactText: Int] = [:]
        for references in tokenizedReferences {
            var seen = Set<ExactText>()
            for tokens in references {
                for order in 1...maximumNGramOrder where tokens.count >= order {
                    for start in 0...(tokens.count - order) {
                        seen.insert(ExactText(tokens[start ..< start + order].joined(separator: " ")))
                    }
                }
            }
            for gram in seen { frequencies[gram, default: 0] += 1 }
        }
        self.init(documentCount: tokenizedReferences.count, tokenizerName: tokenizerName,
                  frequencies: frequencies)
    }

    /// The number of distinct n-grams in the table.
    public var ngramCount: Int { frequencies.count }

    /// The document frequency of `ngram` (its tokens), 0 when the corpus never contains it.
    public func documentFrequency(of ngram: [String]) -> Int {
        frequencies[ExactText(ngram.joined(separator: " "))] ?? 0
    }

    /// The frequencies of the n-grams made of tokens `interner` knows, keyed by interned n-gram; n-grams with
    /// any other token cannot occur in the texts being scored and are left out.
    func interned(with interner: TokenInterner) -> [NGram: Int] {
        var result: [NGram: Int] = [:]
        result.reserveCapacity(frequencies.count)
        entries: for (key, frequency) in frequencies {
            var ids: [Int32] = []
            for token in key.text.split(separator: " ", omittingEmptySubsequences: false) {
                guard let id = interner.existingID(of: String(token)) else { continue entries }
                ids.append(id)
            }
            result[NGram(ids, start: 0, order: ids.count)] = frequency
        }
        return result
    }
}
