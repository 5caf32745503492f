/// The metrics of one candidate (per image) or of a whole corpus.
public struct MetricScores: Equatable, Sendable {
    /// CIDEr-D (pycocoevalcap's `Cider`), x10 scale.
    public var ciderD: Double
    /// Plain CIDEr: as CIDEr-D without clipping and length penalty, x10 scale.
    public var cider: Double
    /// BLEU-1, BLEU-2, BLEU-3, BLEU-4.
    public var bleu: [Double]
    /// ROUGE-L (beta = 1.2).
    public var rougeL: Double

    init(ciderD: Double, cider: Double, bleu: [Double], rougeL: Double) {
        self.ciderD = ciderD
        self.cider = cider
        self.bleu = bleu
        self.rougeL = rougeL
    }
}

/// Scores of one candidate per image: per image and for the corpus.
///
/// Corpus CIDEr-D, CIDEr and ROUGE-L are the means of the per-image scores; corpus BLEU is pycocoevalcap's
/// corpus BLEU (n-gram and length statistics summed over images first), not the mean of per-image BLEU.
public struct ScoreSet: Equatable, Sendable {
    public var corpus: MetricScores
    /// In the order of the scored items.
    public var perImage: [MetricScores]
}

/// Best-of-k: for each image, among its first k ranked candidates, the one with the highest per-image CIDEr-D
/// (the best-ranked one on a tie), and the scores of those chosen candidates.
///
/// `scores.corpus.ciderD` is therefore the mean over images of the largest per-image CIDEr-D among the first
/// k candidates. The idf never depends on the candidates, so each candidate's CIDEr-D is the one it would get
/// in a top-1 run; the other metrics are those of the chosen candidates.
public struct BestOfScores: Equatable, Sendable {
    /// k as requested; an image with fewer candidates competes with the ones it has.
    public var k: Int
    /// Per image, the 0-based rank of the chosen candidate.
    public var chosenRank: [Int]
    /// Per image, the CIDEr-D of each of its first min(k, count) candidates, in rank order.
    public var candidateCIDErD: [[Double]]
    /// The chosen candidates' scores.
    public var scores: ScoreSet
}

/// Where CIDEr's document frequencies came from, and over how many documents (images).
public enum DocumentFrequencyMode: Equatable, Sendable, CustomStringConvertible {
    /// Counted over the references of the evaluated images, as pycocoevalcap does.
    case evaluatedReferences(documents: Int)
    /// Read from a precomputed table (e.g. of the training split).
    case table(documents: Int)

    /// "evaluated-references" or "table".
    public var name: String {
        switch self {
        case .evaluatedReferences: return "evaluated-references"
        case .table: return "table"
        }
    }

    public var documents: Int {
        switch self {
        case .evaluatedReferences(let documents), .table(let documents): return documents
        }
    }

    public var description: String {
        switch self {
        case .evaluatedReferences(let n): return "df from the evaluated references (\(n) images)"
        case .table(let n): return "df from a precomputed table (\(n) documents)"
        }
    }
}

/// Everything `CaptionScorer.score` computes.
public struct ScoringReport: Equatable, Sendable {
    /// Image ids, in the order of the scored items; every per-image array follows it.
    public var ids: [String]
    /// `ScoringTokenizer.name` of the tokenization used (or the name given with pre-tokenized input).
    public var tokenizerName: String
    public var documentFrequency: DocumentFrequencyMode
    /// The first (best-ranked) candidate of each image.
    public var topOne: ScoreSet
    public var bestOf: BestOfScores
    /// The largest number of candidates any image had.
    public var maximumCandidateCount: Int
}
