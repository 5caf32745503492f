#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What BLEU needs from one candidate and its references (pycocoevalcap's `cook_test` result, with the
/// "closest" reference length already chosen).
struct BLEUStatistics {
    /// Candidate length in tokens.
    var candidateLength: Int
    /// The reference length closest to the candidate's; the shorter one on a tie.
    var referenceLength: Int
    /// Candidate n-grams per order, max(0, length - n + 1).
    var guesses: [Int]
    /// Candidate n-gram matches per order, each n-gram's count clipped at its largest count in one reference.
    var matches: [Int]

    init(candidate: NGramCounts, references: [NGramCounts]) {
        precondition(!references.isEmpty, "BLEU needs at least one reference")
        candidateLength = candidate.tokenCount
        var closest = references[0].tokenCount
        for reference in references.dropFirst() {
            let distance = abs(reference.tokenCount - candidateLength)
            let best = abs(closest - candidateLength)
            if distance < best || (distance == best && reference.tokenCount < closest) {
                closest = reference.tokenCount
            }
        }
        referenceLength = closest
        guesses = (1...maximumNGramOrder).map { max(0, candidate.tokenCount - $0 + 1) }
        matches = Array(repeating: 0, count: maximumNGramOrder)
        for (gram, count) in zip(candidate.grams, candidate.counts) {
            var maximum = 0
            for reference in references { maximum = max(maximum, reference.count(of: gram)) }
            matches[gram.order - 1] += min(maximum, count)
        }
    }
}

/// pycocoevalcap's BLEU-1...4 (`BleuScorer.compute_score(option="closest")`).
enum BLEU {
    static let small = 1e-9
    static let tiny = 1e-15

    /// BLEU-1...4 from the given totals: the geometric mean of the smoothed precisions up to n, times the
    /// brevity penalty exp(1 - r/c) when the candidate is shorter.
    static func scores(candidateLength: Int, referenceLength: Int, guesses: [Int], matches: [Int]) -> [Double] {
        var scores: [Double] = []
        var product = 1.0
        for k in 0..<maximumNGramOrder {
            product *= (Double(matches[k]) + tiny) / (Double(guesses[k]) + small)
            scores.append(pow(product, 1.0 / Double(k + 1)))
        }
        let ratio = (Double(candidateLength) + tiny) / (Double(referenceLength) + small)
        if ratio < 1 {
            for k in 0..<maximumNGramOrder { scores[k] *= exp(1 - 1 / ratio) }
        }
        return scores
    }

    /// One image's BLEU-1...4.
    static func scores(_ statistics: BLEUStatistics) -> [Double] {
        scores(candidateLength: statistics.candidateLength, referenceLength: statistics.referenceLength,
               guesses: statistics.guesses, matches: statistics.matches)
    }

    /// Corpus BLEU-1...4: the statistics summed over images, then scored once.
    static func corpusScores(_ statistics: [BLEUStatistics]) -> [Double] {
        var candidateLength = 0, referenceLength = 0
        var guesses = Array(repeating: 0, count: maximumNGramOrder)
        var matches = Array(repeating: 0, count: maximumNGramOrder)
        for image in statistics {
            candidateLength += image.candidateLength
            referenceLength += image.referenceLength
            for k in 0..<maximumNGramOrder {
                guesses[k] += image.guesses[k]
                matches[k] += image.matches[k]
            }
        }
        return scores(candidateLength: candidateLength, referenceLength: referenceLength,
                      guesses: guesses, matches: matches)
    }
}
