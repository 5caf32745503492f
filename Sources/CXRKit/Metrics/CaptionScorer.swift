import CXRSupport

/// One image to score: its candidates, best-ranked first, and its reference texts.
public struct ScoringItem: Equatable, Sendable {
    public var id: String
    /// Ranked candidates, best first (at least one).
    public var candidates: [String]
    /// Reference texts (at least one).
    public var references: [String]

    public init(id: String, candidates: [String], references: [String]) {
        self.id = id
        self.candidates = candidates
        self.references = references
    }
}

/// One image to score, already tokenized (e.g. Chinese segmented by the model's own tokenizer).
/// Tokens must be non-empty and contain no whitespace.
struct TokenizedScoringItem: Equatable, Sendable {
    var id: String
    var candidates: [[String]]
    var references: [[String]]

    init(id: String, candidates: [[String]], references: [[String]]) {
        self.id = id
        self.candidates = candidates
        self.references = references
    }
}

/// Where CIDEr's document frequencies come from.
public enum DocumentFrequencySource: Equatable, Sendable {
    /// The references of the images being scored (pycocoevalcap's behaviour; N = number of images).
    case evaluatedReferences
    /// A table counted over a reference corpus, e.g. the training split (N = its document count).
    case table(DocumentFrequencyTable)
}

/// Scores ranked candidate captions against references with CIDEr-D, CIDEr, BLEU-1...4 and ROUGE-L, equal
/// to pycocoevalcap's scorers fed with this tokenizer's tokens joined by spaces (see docs/METRICS.md).
///
///     let report = try CaptionScorer(bestOf: 3).score(items)
///     report.topOne.corpus.ciderD      // CIDEr-D of the first candidates
///     report.bestOf.scores.corpus.ciderD   // mean over images of the best CIDEr-D among the first 3
public struct CaptionScorer: Sendable {
    public var tokenizer: ScoringTokenizer
    public var documentFrequency: DocumentFrequencySource
    /// k for best-of-k, at least 1.
    public var bestOf: Int

    public init(tokenizer: ScoringTokenizer = ScoringTokenizer(),
                documentFrequency: DocumentFrequencySource = .evaluatedReferences,
                bestOf: Int = 3) {
        self.tokenizer = tokenizer
        self.documentFrequency = documentFrequency
        self.bestOf = bestOf
    }

    /// Tokenizes with `tokenizer` and scores. Throws `CXRError` (`.invalidArgument`) for an empty corpus, a
    /// repeated id, an image without candidates or references, k < 1, or a df table made with another
    /// tokenizer.
    public func score(_ items: [ScoringItem]) throws -> ScoringReport {
        let tokenized = items.map { item in
            TokenizedScoringItem(id: item.id,
                                 candidates: item.candidates.map { tokenizer.tokens(in: $0) },
                                 references: item.references.map { tokenizer.tokens(in: $0) })
        }
        return try score(tokenized: tokenized, tokenizerName: tokenizer.name)
    }

    /// Scores pre-tokenized items. `tokenizerName` is recorded in the report and must equal a df table's.
    func score(tokenized items: [TokenizedScoringItem], tokenizerName: String) throws -> ScoringReport {
        try validate(items, tokenizerName: tokenizerName)

        // Intern every token that will be scored.
        var interner = TokenInterner()
        let candidateIDs: [[[Int32]]] = items.map { item in
            item.candidates.prefix(bestOf).map { interner.ids(of: $0) }
        }
        let referenceIDs: [[[Int32]]] = items.map { item in item.references.map { interner.ids(of: $0) } }
        let referenceCounts = referenceIDs.map { $0.map { NGramCounts($0) } }

        let mode: DocumentFrequencyMode
        let cider: CIDErScorer
        switch documentFrequency {
        case .evaluatedReferences:
            mode = .evaluatedReferences(documents: items.count)
            cider = CIDErScorer(documentCount: items.count,
                                documentFrequency: CIDErScorer.documentFrequency(ofReferences: referenceCounts))
        case .table(let table):
            mode = .table(documents: table.documentCount)
            cider = CIDErScorer(documentCount: table.documentCount,
                                documentFrequency: table.interned(with: interner))
        }
        let referenceVectors = referenceCounts.map { $0.map { cider.vector($0) } }

        var topOne: [ImageResult] = []
        var chosen: [ImageResult] = []
        var chosenRank: [Int] = []
        var candidateCIDErD: [[Double]] = []
        topOne.reserveCapacity(items.count)
        for image in items.indices {
            var results: [ImageResult] = []
            for ids in candidateIDs[image] {
                let counts = NGramCounts(ids)
                let vector = cider.vector(counts)
                let ciderD = cider.score(vector, references: referenceVectors[image], .d)
                results.append(ImageResult(ids: ids, counts: counts, vector: vector, ciderD: ciderD))
            }
            var best = 0
            for rank in results.indices.dropFirst() where results[rank].ciderD > results[best].ciderD {
                best = rank
            }
            topOne.append(results[0])
            chosen.append(results[best])
            chosenRank.append(best)
            candidateCIDErD.append(results.map(\.ciderD))
        }

        func scoreSet(_ results: [ImageResult]) -> ScoreSet {
            var perImage: [MetricScores] = []
            var statistics: [BLEUStatistics] = []
            for (image, result) in results.enumerated() {
                let bleu = BLEUStatistics(candidate: result.counts, references: referenceCounts[image])
                statistics.append(bleu)
                perImage.append(MetricScores(
                    ciderD: result.ciderD,
                    cider: cider.score(result.vector, references: referenceVectors[image], .plain),
                    bleu: BLEU.scores(bleu),
                    rougeL: ROUGEL.score(candidate: result.ids, references: referenceIDs[image])))
            }
            let corpus = MetricScores(ciderD: numpyMean(perImage.map(\.ciderD)),
                                      cider: numpyMean(perImage.map(\.cider)),
                                      bleu: BLEU.corpusScores(statistics),
                                      rougeL: numpyMean(perImage.map(\.rougeL)))
            return ScoreSet(corpus: corpus, perImage: perImage)
        }

        let topOneScores = scoreSet(topOne)
        let chosenScores = chosenRank.allSatisfy { $0 == 0 } ? topOneScores : scoreSet(chosen)
        return ScoringReport(
            ids: items.map(\.id), tokenizerName: tokenizerName, documentFrequency: mode,
            topOne: topOneScores,
            bestOf: BestOfScores(k: bestOf, chosenRank: chosenRank, candidateCIDErD: candidateCIDErD,
                                 scores: chosenScores),
            maximumCandidateCount: items.map(\.candidates.count).max() ?? 0)
    }

    /// One candidate's prepared forms.
    private struct ImageResult {
        var ids: [Int32]
        var counts: NGramCounts
        var vector: CIDErScorer.Vector
        var ciderD: Double
    }

    private func validate(_ items: [TokenizedScoringItem], tokenizerName: String) throws {
        guard bestOf >= 1 else { throw CXRError.invalidArgument("best-of k \(bestOf) must be at least 1") }
        guard !items.isEmpty else { throw CXRError.invalidArgument("nothing to score: no images given") }
        if case .table(let table) = documentFrequency, table.tokenizerName != tokenizerName {
            throw CXRError.invalidArgument(
                "df table was made with tokenizer \"\(table.tokenizerName)\" but scoring uses \"\(tokenizerName)\"")
        }
        var seen = Set<ExactText>()
        for item in items {
            guard seen.insert(ExactText(item.id)).inserted else {
                throw CXRError.invalidArgument("image id \"\(item.id)\" appears more than once")
            }
            guard !item.candidates.isEmpty else {
                throw CXRError.invalidArgument("image \"\(item.id)\" has no candidates")
            }
            guard !item.references.isEmpty else {
                throw CXRError.invalidArgument("image \"\(item.id)\" has no references")
            }
            for token in (item.candidates + item.references).joined() {
                guard !token.isEmpty, !token.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else {
                    throw CXRError.invalidArgument(
                        "image \"\(item.id)\" has token \"\(token)\": tokens must be non-empty, without whitespace")
                }
            }
        }
    }
}
